"""The official scale-gp-beta SDK against the local platform, unchanged, over a real socket."""

from __future__ import annotations

import time

import pytest

CHAT = {
    "task_type": "chat_completion",
    "alias": "answer",
    "configuration": {"model": "openai/gpt-4o",
                      "messages": [{"role": "user", "content": "item.q"}]},
}


def test_datasets_and_items(sdk) -> None:
    dataset = sdk.datasets.create(name="faq", data=[{"q": "a"}, {"q": "b"}], tags=["t1"])
    assert (dataset.name, dataset.current_version_num, dataset.tags) == ("faq", 1, ["t1"])
    added = sdk.dataset_items.batch_create(dataset_id=dataset.id, data=[{"q": "c"}])
    assert [i.data for i in added.items] == [{"q": "c"}]
    items = list(sdk.dataset_items.list(dataset_id=dataset.id))
    assert [i.data["q"] for i in items] == ["a", "b", "c"]
    assert sdk.datasets.retrieve(dataset.id).current_version_num == 2
    old = list(sdk.dataset_items.list(dataset_id=dataset.id, version=1))
    assert [i.data["q"] for i in old] == ["a", "b"]
    updated = sdk.datasets.update(dataset.id, dataset={"description": "FAQ rows"})
    assert updated.description == "FAQ rows"


def test_evaluation_from_rows_runs_then_completes(sdk) -> None:
    evaluation = sdk.evaluations.create(evaluation={
        "name": "rows", "data": [{"q": "a"}, {"q": "b"}], "tasks": [CHAT],
        "tags": ["evalspec:demo"], "metadata": {"owner": "me", "tier": 1},
    })
    assert evaluation.status == "running"
    assert evaluation.progress.items.total == 2
    deadline = time.monotonic() + 10  # completes after 0.3 s: poll, never a fixed sleep
    while (done := sdk.evaluations.retrieve(evaluation.id, views=["tasks"])).status == "running":
        assert time.monotonic() < deadline, "never completed"
        time.sleep(0.02)
    assert done.status == "completed" and done.progress.items.successful == 2
    assert done.tasks[0].alias == "answer"
    items = list(sdk.evaluation_items.list(evaluation_id=evaluation.id))
    assert [i.data["q"] for i in items] == ["a", "b"]
    assert all(i.data["answer"].startswith("[openai/gpt-4o] synthetic output ") for i in items)


def test_evaluation_from_a_dataset_and_with_a_new_dataset(sdk) -> None:
    dataset = sdk.datasets.create(name="faq", data=[{"q": "a"}])
    from_dataset = sdk.evaluations.create(evaluation={"name": "ds", "dataset_id": dataset.id,
                                                      "tasks": [CHAT]})
    assert [d.id for d in from_dataset.datasets] == [dataset.id]
    with_new = sdk.evaluations.create(evaluation={
        "name": "new", "data": [{"q": "x", "secret": "s"}],
        "dataset": {"name": "made-inline", "keys": ["q"]},
    })
    assert with_new.status == "completed"  # no tasks to run
    [made] = with_new.datasets
    assert made.name == "made-inline"
    assert [i.data for i in sdk.dataset_items.list(dataset_id=made.id)] == [{"q": "x"}]


def test_paging_with_the_auto_pager(sdk) -> None:
    for i in range(7):
        sdk.evaluations.create(evaluation={"name": f"e{i}", "data": [{"q": i}],
                                           "tags": ["page"]})
    names = [e.name for e in sdk.evaluations.list(limit=3, tags=["page"])]
    assert names == [f"e{i}" for i in range(7)]
    first = sdk.evaluations.list(limit=3)
    assert first.has_more is True and len(first.items) == 3


def test_update_archive_restore_and_metadata_merge(sdk) -> None:
    evaluation = sdk.evaluations.create(evaluation={"name": "e", "data": [{"q": 1}],
                                                    "metadata": {"a": 1, "b": 2}})
    patched = sdk.evaluations.update(evaluation.id, evaluation={"metadata": {"a": None, "c": 3},
                                                                "tags": ["x"]})
    assert patched.metadata == {"b": 2, "c": 3} and patched.tags == ["x"]
    archived = sdk.evaluations.archive(evaluation.id)
    assert archived.archived_at is not None
    assert [e.id for e in sdk.evaluations.list()] == []
    assert [e.id for e in sdk.evaluations.list(include_archived=True)] == [evaluation.id]
    restored = sdk.evaluations.update(evaluation.id, evaluation={"restore": True})
    assert restored.archived_at is None


def test_filter_on_metadata(sdk) -> None:
    for model in ("gpt", "claude", "gpt"):
        sdk.evaluations.create(evaluation={"name": model, "data": [{"q": 1}],
                                           "metadata": {"model": model}})
    found = sdk.evaluations.filter(filters=[{"key": "model", "operator": "==", "value": "gpt"}])
    assert [e.metadata["model"] for e in found] == ["gpt", "gpt"]


def test_groups_create_patch_replace_archive(sdk) -> None:
    one = sdk.evaluations.create(evaluation={"name": "one", "data": [{"id": 1}]})
    two = sdk.evaluations.create(evaluation={"name": "two", "data": [{"id": 1}]})
    group = sdk.evaluation_groups.create(name="g", evaluation_ids=[one.id], tags=["t"],
                                         metadata={"a": 1}, row_identifiers={one.id: "id"})
    assert [m.evaluation_id for m in group.members] == [one.id]
    patched = sdk.evaluation_groups.update(group.id, metadata={"b": 2})
    assert patched.metadata == {"a": 1, "b": 2}
    replaced = sdk.evaluation_groups.replace(group.id, name="g2", evaluation_ids=[one.id, two.id])
    assert replaced.name == "g2" and replaced.tags == [] and replaced.metadata == {}
    assert sorted(m.evaluation_id for m in replaced.members) == sorted([one.id, two.id])
    listed = list(sdk.evaluation_groups.list(evaluation_id=two.id, views=["members"]))
    assert [g.id for g in listed] == [group.id]
    sdk.evaluations.archive(two.id)
    after = sdk.evaluation_groups.retrieve(group.id)
    assert [m.evaluation_id for m in after.members] == [one.id]
    sdk.evaluation_groups.archive(group.id)
    assert list(sdk.evaluation_groups.list()) == []


def test_items_filter_on_completion_status_and_limit_follows_the_newest_sdk(tmp_path) -> None:
    from scale_gp_beta import SGPClient

    from evalspec.platform.api import Settings
    from evalspec.platform.server import start_background

    server = start_background(Settings(db=tmp_path / "c.db", complete_after=0.0,
                                       fail_models=("bad/*",)))
    client = SGPClient(base_url=server.url, api_key="k", account_id="default", max_retries=0)
    try:
        made = {}
        for model in ("bad/model", "good/model"):
            made[model] = client.evaluations.create(evaluation={
                "name": model.split("/")[0], "data": [{"q": str(i)} for i in range(3)],
                "tasks": [{"task_type": "chat_completion", "alias": "answer", "configuration": {
                    "model": model, "messages": [{"role": "user", "content": "item.q"}]}}]}).id

        def count(model: str, status: str) -> int:
            return len(list(client.evaluation_items.list(
                evaluation_id=made[model], completion_status=status)))

        assert [count("bad/model", s) for s in ("failed", "passed", "all")] == [3, 0, 3]
        assert [count("good/model", s) for s in ("failed", "passed", "all")] == [0, 3, 3]
        page = client.evaluations.list(limit=10_000)
        assert len(page.items) == 2
        import httpx

        assert httpx.get(f"{server.url}/v5/evaluations", params={"limit": 10_001},
                         headers={"x-api-key": "k"}).status_code == 422
    finally:
        client.close()
        server.stop()


def test_items_of_every_evaluation_without_an_evaluation_id(sdk) -> None:
    """evaluation_id is optional in the SDK: without it, every evaluation's items, in
    creation order, paged like any list."""
    made = [sdk.evaluations.create(evaluation={
        "name": f"e{n}", "data": [{"q": f"{n}.{i}"} for i in range(3)]}).id for n in range(2)]
    items = list(sdk.evaluation_items.list(limit=2))
    assert [(i.evaluation_id, i.data["q"]) for i in items] == [
        (made[0], "0.0"), (made[0], "0.1"), (made[0], "0.2"),
        (made[1], "1.0"), (made[1], "1.1"), (made[1], "1.2")]


def test_items_export_in_every_format_and_the_schemas(sdk, platform) -> None:
    """POST /v5/evaluation-items/export (direct; signed_url is a 501 without object storage)
    and the evaluation and group schema endpoints, read through the SDK's own types."""
    import csv
    import io
    import json
    import time

    import scale_gp_beta

    evaluation = sdk.evaluations.create(evaluation={
        "name": "e", "data": [{"q": "a", "meta": {"tag": "x"}}, {"q": "b", "meta": {"tag": "y"}}],
        "tasks": [{"task_type": "chat_completion", "alias": "answer", "configuration": {
            "model": "openai/gpt-4o", "messages": [{"role": "user", "content": "item.q"}]}}]})
    while sdk.evaluations.retrieve(evaluation.id).status != "completed":
        time.sleep(0.1)
    items = [i.model_dump(mode="json") for i in sdk.evaluation_items.list(
        evaluation_id=evaluation.id)]
    exported = sdk.evaluation_items.export(evaluation_id=evaluation.id, export_format="json",
                                           export_method="direct")
    assert exported.filename == f"{evaluation.id}.json"
    assert [i["id"] for i in json.loads(exported.content)] == [i["id"] for i in items]
    lines = sdk.evaluation_items.export(evaluation_id=evaluation.id, export_format="jsonl",
                                        export_method="direct").content.splitlines()
    assert [json.loads(line)["data"]["q"] for line in lines] == ["a", "b"]
    table = list(csv.DictReader(io.StringIO(sdk.evaluation_items.export(
        evaluation_id=evaluation.id, export_format="csv", export_method="direct").content)))
    assert [(r["data.q"], json.loads(r["data.meta"])) for r in table] == [
        ("a", {"tag": "x"}), ("b", {"tag": "y"})]
    assert table[0]["data.answer"] == items[0]["data"]["answer"]
    with pytest.raises(scale_gp_beta.APIStatusError) as refused:
        sdk.evaluation_items.export(evaluation_id=evaluation.id, export_method="signed_url")
    assert refused.value.status_code == 501

    schema = sdk.evaluations.retrieve_schema(evaluation.id)
    assert schema.total_items == 2
    assert [(f.field_name, f.data_type, f.source, f.item_count) for f in schema.fields] == [
        ("answer", "string", "task_result_cache", 2), ("meta.tag", "string", "data", 2),
        ("q", "string", "data", 2)]
    group = sdk.evaluation_groups.create(name="g", evaluation_ids=[evaluation.id])
    grouped = sdk.evaluation_groups.retrieve_schema(group.id)
    assert grouped.evaluation_group_id == group.id
    assert [s.evaluation_id for s in grouped.evaluation_schemas] == [evaluation.id]
