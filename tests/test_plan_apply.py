"""plan and apply end to end against the local platform over a real loopback socket."""

from __future__ import annotations

import json
import shutil

import httpx
import pytest

from tests.conftest import EXAMPLES

ENV = {"SGP_API_KEY": "k", "SGP_ACCOUNT_ID": "default"}


@pytest.fixture
def workdir(tmp_path):
    def copy(example: str):
        target = tmp_path / example
        shutil.copytree(EXAMPLES / example, target)
        return target

    return copy


def plan(run, root, url, *args):
    return run("plan", str(root), "--endpoint", url, *args, env=ENV)


def apply(run, root, url, *args):
    return run("apply", str(root), "--endpoint", url, "--auto-approve", *args, env=ENV)


def plan_json(run, root, url):
    result = plan(run, root, url, "--format", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def headlines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.startswith("  # ")]


def owned(platform, project: str) -> list[dict]:
    for _ in range(50):  # the faulty platform answers some reads with 429/500/503
        response = httpx.get(f"{platform.url}/v5/evaluations", headers={"x-api-key": "k"},
                             params={"tags": f"evalspec:{project}", "limit": 1000,
                                     "views": "tasks"})
        if response.status_code == 200:
            return response.json()["items"]
    raise AssertionError(f"no answer: {response.status_code}")


@pytest.mark.parametrize("example", ["quickstart", "sweep", "support-csv"])
def test_each_example_applies_then_plans_empty(example, workdir, platform, run) -> None:
    root = workdir(example)
    first = apply(run, root, platform.url)
    assert first.code == 0, first.err
    assert first.out.splitlines()[-1].startswith("Apply complete:")
    again = plan(run, root, platform.url, "--detailed-exitcode")
    assert (again.code, again.out) == (0, "No changes. The platform matches the specs.\n")


def test_first_plan_of_the_sweep(workdir, platform, run) -> None:
    root = workdir("sweep")
    result = plan(run, root, platform.url, "--detailed-exitcode")
    assert result.code == 2
    assert result.out.splitlines()[-1] == (
        "Plan: 8 to create, 0 to update, 0 to replace, 0 to restore, 0 to archive. "
        "Starts 48 task executions.")
    assert headlines(result.out)[:2] == [
        "# Dataset/support-faq will be created",
        "# Evaluation/faq-openai-gpt-4o-t0.0 will be created: starts 8 task executions "
        "over 1 model",
    ]


def test_changing_the_sweep(workdir, platform, run) -> None:
    root = workdir("sweep")
    apply(run, root, platform.url)
    config = root / "evalspec.yaml"
    config.write_text(config.read_text().replace(
        "models: [openai/gpt-4o, openai/gpt-4o-mini, anthropic/claude-3-5-sonnet]",
        "models: [openai/gpt-4o, anthropic/claude-3-5-sonnet, openai/o3-mini]"))
    result = plan(run, root, platform.url)
    assert headlines(result.out) == [
        "# Evaluation/faq-openai-o3-mini-t0.0 will be created: starts 8 task executions over "
        "1 model",
        "# Evaluation/faq-openai-o3-mini-t0.7 will be created: starts 8 task executions over "
        "1 model",
        "# Evaluation/faq-openai-gpt-4o-mini-t0.0 will be archived (no longer in the specs)",
        "# Evaluation/faq-openai-gpt-4o-mini-t0.7 will be archived (no longer in the specs)",
        "# EvaluationGroup/faq-sweep will be updated in place (members or row identifiers "
        "changed: full PUT)",
    ]
    assert apply(run, root, platform.url).code == 0
    names = sorted(e["name"] for e in owned(platform, "support-sweep"))
    assert names == sorted(f"faq-{m}-t{t}" for m in ("openai-gpt-4o", "anthropic-claude-3-5"
                                                     "-sonnet", "openai-o3-mini")
                           for t in ("0.0", "0.7"))
    group = httpx.get(f"{platform.url}/v5/evaluation-groups", headers={"x-api-key": "k"},
                      params={"views": "members"}).json()["items"][0]
    live = {e["id"] for e in owned(platform, "support-sweep")}
    assert {m["evaluation_id"] for m in group["members"]} == live
    assert plan(run, root, platform.url).out == "No changes. The platform matches the specs.\n"


def test_editing_a_prompt_replaces_and_repoints_the_group(workdir, platform, run) -> None:
    root = workdir("sweep")
    apply(run, root, platform.url)
    before = {e["name"]: e["id"] for e in owned(platform, "support-sweep")}
    prompt = root / "prompts" / "system.txt"
    prompt.write_text(prompt.read_text() + "Always be kind.\n")
    result = plan(run, root, platform.url)
    assert "          +Always be kind." in result.out
    assert result.out.count("must be replaced (tasks changed)") == 6
    assert apply(run, root, platform.url).code == 0
    after = {e["name"]: e["id"] for e in owned(platform, "support-sweep")}
    assert set(after) == set(before) and not set(after.values()) & set(before.values())
    assert plan(run, root, platform.url).out.startswith("No changes.")


def test_tags_only_is_an_update_in_place(workdir, platform, run) -> None:
    root = workdir("quickstart")
    apply(run, root, platform.url)
    [original] = owned(platform, "quickstart")
    spec = root / "specs" / "capitals.yaml"
    spec.write_text(spec.read_text().replace("tags: [team:evals, quickstart]",
                                             "tags: [team:evals, geography]"))
    result = plan(run, root, platform.url)
    assert result.out.splitlines()[2:5] == [
        "  # Evaluation/capitals will be updated in place",
        "  ~ Evaluation/capitals",
        '      ~ tags: ["team:evals", "quickstart"] -> ["team:evals", "geography"]',
    ]
    apply(run, root, platform.url)
    [updated] = owned(platform, "quickstart")
    assert updated["id"] == original["id"]
    assert updated["tags"] == ["team:evals", "geography", "evalspec:quickstart"]


def test_drift_made_with_the_sdk_is_corrected(workdir, platform, sdk, run) -> None:
    root = workdir("quickstart")
    apply(run, root, platform.url)
    [evaluation] = owned(platform, "quickstart")
    sdk.evaluations.update(evaluation["id"], evaluation={"description": "edited by hand",
                                                         "metadata": {"owner": "someone"}})
    result = plan(run, root, platform.url)
    assert result.out.splitlines()[4:6] == [
        '      ~ description: "edited by hand" -> "Does the model know capital cities?"',
        '      ~ metadata: {"owner": "someone"} -> {}',
    ]
    apply(run, root, platform.url)
    fixed = sdk.evaluations.retrieve(evaluation["id"])
    assert fixed.description == "Does the model know capital cities?"
    assert "owner" not in fixed.metadata


def test_rename_with_moved_from_updates_in_place(workdir, platform, run) -> None:
    root = workdir("quickstart")
    apply(run, root, platform.url)
    [original] = owned(platform, "quickstart")
    spec = root / "specs" / "capitals.yaml"
    spec.write_text(spec.read_text().replace(
        "name: capitals\n", "name: world-capitals\nlifecycle: {moved_from: [capitals]}\n"))
    result = plan(run, root, platform.url)
    assert headlines(result.out) == ["# Evaluation/world-capitals will be updated in place"]
    assert '      ~ name: "capitals" -> "world-capitals"' in result.out
    apply(run, root, platform.url)
    [renamed] = owned(platform, "quickstart")
    assert (renamed["id"], renamed["name"]) == (original["id"], "world-capitals")
    assert renamed["metadata"]["evalspec.address"] == "Evaluation/world-capitals"
    assert plan(run, root, platform.url).out.startswith("No changes.")


def test_a_protected_evaluation_is_not_replaced(workdir, platform, run) -> None:
    root = workdir("quickstart")
    spec = root / "specs" / "capitals.yaml"
    spec.write_text(spec.read_text().replace("name: capitals\n",
                                             "name: capitals\nlifecycle: {protect: true}\n"))
    apply(run, root, platform.url)
    spec.write_text(spec.read_text().replace("temperature: 0.0", "temperature: 0.5"))
    result = plan(run, root, platform.url)
    assert (result.code, result.err) == (1, (
        "Error: Evaluation/capitals is protected (lifecycle.protect) but would be replaced: "
        "tasks changed\n"))


def test_dataset_rows_with_a_key_sync_item_by_item(workdir, platform, run) -> None:
    root = workdir("sweep")
    apply(run, root, platform.url)
    data = root / "data" / "support-faq.jsonl"
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    rows[0]["reference"] = "Use the reset link on the sign-in page."
    rows.append({"id": "faq-009", "question": "New?", "reference": "Yes."})
    del rows[3]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = plan(run, root, platform.url)
    assert "  # Dataset/support-faq will be updated in place (items changed)" in result.out
    assert "      items: +1 added, ~1 updated, -1 removed" in result.out
    assert result.out.count("must be replaced (Dataset/support-faq changed)") == 6
    assert apply(run, root, platform.url).code == 0
    dataset = httpx.get(f"{platform.url}/v5/datasets", headers={"x-api-key": "k"}).json()
    [live] = dataset["items"]
    items = httpx.get(f"{platform.url}/v5/dataset-items", headers={"x-api-key": "k"},
                      params={"dataset_id": live["id"]}).json()["items"]
    assert sorted(i["data"]["id"] for i in items) == sorted(r["id"] for r in rows)
    assert plan(run, root, platform.url).out.startswith("No changes.")


def test_dataset_rows_without_a_key_replace_the_dataset(workdir, platform, run) -> None:
    root = workdir("sweep")
    spec = root / "specs" / "support.yaml"
    spec.write_text(spec.read_text().replace("key: id\n", ""))
    apply(run, root, platform.url)
    data = root / "data" / "support-faq.jsonl"
    data.write_text(data.read_text().replace("Invoices", "Billing > Invoices"))
    result = plan(run, root, platform.url)
    assert "  # Dataset/support-faq must be replaced (items changed)" in result.out
    assert apply(run, root, platform.url).code == 0
    datasets = httpx.get(f"{platform.url}/v5/datasets", headers={"x-api-key": "k"},
                         params={"include_archived": "true"}).json()["items"]
    assert sorted(bool(d["archived_at"]) for d in datasets) == [False, True]
    assert plan(run, root, platform.url).out.startswith("No changes.")


def test_duplicates_at_one_address_keep_the_oldest(workdir, platform, sdk, run) -> None:
    root = workdir("quickstart")
    apply(run, root, platform.url)
    [original] = owned(platform, "quickstart")
    copy = {k: original[k] for k in ("name", "description", "tags", "metadata", "tasks")}
    sdk.evaluations.create(evaluation={**copy, "data": [{"country": "Peru"}]})
    result = plan(run, root, platform.url)
    assert headlines(result.out) == [
        f"# Evaluation/capitals will be archived (duplicate of {original['id']} at the same "
        "address (the oldest is kept))"]
    apply(run, root, platform.url)
    assert [e["id"] for e in owned(platform, "quickstart")] == [original["id"]]


def test_unowned_objects_are_never_touched(workdir, platform, sdk, run) -> None:
    sdk.evaluations.create(evaluation={"name": "capitals", "data": [{"q": 1}]})
    root = workdir("quickstart")
    result = plan(run, root, platform.url)
    assert headlines(result.out) == ["# Evaluation/capitals will be created: starts 3 task "
                                     "executions over 1 model"]


def test_apply_without_a_terminal_needs_auto_approve(workdir, platform, run) -> None:
    root = workdir("quickstart")
    result = run("apply", str(root), "--endpoint", platform.url, env=ENV)
    assert result.code == 1
    assert "apply needs confirmation: run it in a terminal, or pass --auto-approve" in result.err


def test_apply_converges_under_faults_without_duplicates(workdir, tmp_path, run) -> None:
    from evalspec.platform.app import Settings
    from evalspec.platform.faults import Faults
    from evalspec.platform.server import start_background

    server = start_background(Settings(db=tmp_path / "faulty.db", faults=Faults(
        fail_rate=0.2, drop_rate=0.05, rate_limit=50, seed=11)))
    try:
        root = workdir("sweep")
        codes = []
        for _ in range(4):
            codes.append(apply(run, root, server.url).code)
            if codes[-1] == 0 and plan(run, root, server.url).out.startswith("No changes."):
                break
        assert codes[-1] == 0, codes
        evaluations = owned(server, "support-sweep")
        addresses = [e["metadata"]["evalspec.address"] for e in evaluations]
        assert len(addresses) == len(set(addresses)) == 6
    finally:
        server.stop()


def test_saved_plan_applies_exactly_and_refuses_when_stale(workdir, platform, sdk, run,
                                                           tmp_path) -> None:
    root = workdir("quickstart")
    saved = tmp_path / "plan.json"
    result = plan(run, root, platform.url, "-o", str(saved))
    assert result.out.splitlines()[-1] == (f"Saved the plan to {saved}; run 'evalspec apply "
                                           f"{saved}' to apply exactly this plan.")
    assert "sk-" not in saved.read_text() and ENV["SGP_API_KEY"] not in json.loads(
        saved.read_text())["endpoint"]
    applied = run("apply", str(saved), env=ENV)
    assert applied.code == 0, applied.err
    assert plan(run, root, platform.url).out.startswith("No changes.")
    # Re-applying the same plan: the address it creates now exists.
    again = run("apply", str(saved), env=ENV)
    assert (again.code, again.err) == (1, "Error: plan is stale: Evaluation/capitals now "
                                          "exists. Run 'evalspec plan' again.\n")
    # A plan that updates an object is stale once someone else changed that object.
    spec = root / "specs" / "capitals.yaml"
    spec.write_text(spec.read_text().replace("tags: [team:evals, quickstart]",
                                             "tags: [team:evals]"))
    plan(run, root, platform.url, "-o", str(saved))
    [evaluation] = owned(platform, "quickstart")
    sdk.evaluations.update(evaluation["id"], evaluation={"description": "changed meanwhile"})
    stale = run("apply", str(saved), env=ENV)
    assert (stale.code, stale.err) == (1, "Error: plan is stale: Evaluation/capitals changed "
                                          "since the plan was made. Run 'evalspec plan' "
                                          "again.\n")


def test_destroy_archives_only_what_the_project_owns(workdir, platform, sdk, run) -> None:
    root = workdir("sweep")
    apply(run, root, platform.url)
    mine = sdk.evaluations.create(evaluation={"name": "not-managed", "data": [{"q": 1}]})
    result = run("destroy", str(root), "--endpoint", platform.url, "--auto-approve", env=ENV)
    assert result.code == 0, result.err
    assert "Plan: 0 to create, 0 to update, 0 to replace, 0 to restore, 8 to archive." in (
        result.out)
    assert owned(platform, "support-sweep") == []
    assert sdk.evaluations.retrieve(mine.id).archived_at is None


def test_apply_json_events(workdir, platform, run) -> None:
    root = workdir("quickstart")
    result = apply(run, root, platform.url, "--format", "json")
    events = [json.loads(line) for line in result.out.splitlines()]
    assert [(e["event"], e.get("address"), e.get("status")) for e in events] == [
        ("action", "Evaluation/capitals", "done"), ("summary", None, None)]
    assert events[-1] == {"event": "summary", "done": 1, "failed": 0, "skipped": 0,
                          "interrupted": False}
