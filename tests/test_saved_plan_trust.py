"""A saved plan is untrusted input: edited plans are refused before the first write.

Two projects share one account on the local platform (over a real socket): ``support-sweep``
applies plans, ``other-sweep`` is the bystander an edited plan tries to reach."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import edit
from tests.test_plan_apply import ENV, apply, apply_saved, owned, plan

REFUSED = ("cannot be applied; nothing was changed. The plan does not match the platform or "
           "this project (was it edited?):\n")


@pytest.fixture
def two_projects(workdir, platform, run, tmp_path):
    ours = workdir("sweep")
    theirs = tmp_path / "other"
    from tests.conftest import copy_example

    copy_example("sweep", theirs)
    edit(theirs / "evalspec.yaml", "project: support-sweep", "project: other-sweep")
    for root in (ours, theirs):
        assert apply(run, root, platform.url).code == 0
    return ours, theirs


def _items(platform, dataset_id: str) -> list[dict]:
    response = httpx.get(f"{platform.url}/v5/dataset-items", headers={"x-api-key": "k"},
                         params={"dataset_id": dataset_id, "limit": 1000})
    return response.json()["items"]


def _dataset(platform, project: str) -> dict:
    response = httpx.get(f"{platform.url}/v5/datasets", headers={"x-api-key": "k"},
                         params={"tags": f"evalspec:{project}"})
    [dataset] = response.json()["items"]
    return dataset


def _refusal(saved, *lines: str) -> str:
    return (f"Error: {saved} {REFUSED}" + "".join(f"  {line}\n" for line in lines)
            + "Run 'evalspec plan' again.\n")


def _save(run, root, platform, saved, edit_plan) -> dict:
    made = plan(run, root, platform.url, "-o", str(saved))
    assert made.code == 0, made.err
    document = json.loads(saved.read_text())
    edit_plan(document)
    saved.write_text(json.dumps(document))
    return document


def test_item_ids_of_another_projects_dataset_are_refused(two_projects, platform, run,
                                                          tmp_path) -> None:
    ours, _ = two_projects
    theirs = _dataset(platform, "other-sweep")
    before = _items(platform, theirs["id"])
    edit(ours / "data" / "support-faq.jsonl", "On the Billing page", "In Billing")
    saved = tmp_path / "plan.json"

    def add_their_items(document: dict) -> None:
        [sync] = [a for a in document["actions"] if a["kind"] == "Dataset"]
        assert len(sync["items"]["update"]) == 1
        sync["items"]["update"].append([before[0]["id"], {"id": "x", "question": "pwned"}])
        sync["items"]["remove"].append(before[1]["id"])

    _save(run, ours, platform, saved, add_their_items)
    result = apply_saved(run, saved, ours, platform.url)
    assert (result.code, result.err) == (1, _refusal(
        saved, f"update Dataset/support-faq: item {before[0]['id']}, {before[1]['id']} is not "
        "an item of this dataset"))
    assert _items(platform, theirs["id"]) == before
    mine = _dataset(platform, "support-sweep")
    assert "In Billing" not in json.dumps(_items(platform, mine["id"]))


def test_an_archive_shown_under_another_address_is_refused(two_projects, platform, run,
                                                           tmp_path) -> None:
    ours, _ = two_projects
    edit(ours / "evalspec.yaml", "anthropic/claude-3-5-sonnet]", "]")
    saved = tmp_path / "plan.json"
    victim: dict = {}

    def disguise(document: dict) -> None:
        archives = [a for a in document["actions"] if a["action"] == "archive"]
        assert len(archives) == 2
        victim.update(archives[0])
        archives[0]["address"] = "Evaluation/zzz-unused"

    _save(run, ours, platform, saved, disguise)
    shown = run("show", str(saved))
    assert "Evaluation/zzz-unused will be archived" in shown.out
    result = apply_saved(run, saved, ours, platform.url)
    assert (result.code, result.err) == (1, _refusal(
        saved, f"archive Evaluation/zzz-unused: {victim['remote_id']} is stamped "
        f"{victim['address']}"))
    assert len([e for e in owned(platform, "support-sweep") if not e.get("archived_at")]) == 6


def test_ids_of_another_kind_or_project_are_refused(two_projects, platform, run,
                                                    tmp_path) -> None:
    ours, theirs = two_projects
    edit(ours / "specs" / "support.yaml", "row by row.", "row by row, again.")
    saved = tmp_path / "plan.json"
    dataset = _dataset(platform, "support-sweep")
    [their_group] = httpx.get(f"{platform.url}/v5/evaluation-groups",
                              headers={"x-api-key": "k"},
                              params={"tags": "evalspec:other-sweep"}).json()["items"]
    groups_before = json.dumps(their_group, sort_keys=True)

    def swap(document: dict) -> None:
        [update] = document["actions"]
        assert update["address"] == "EvaluationGroup/faq-sweep"
        document["known_ids"]["Dataset/support-faq"] = update["remote_id"]
        update["remote_id"] = dataset["id"]

    _save(run, ours, platform, saved, swap)
    result = apply_saved(run, saved, ours, platform.url)
    assert result.code == 1
    # The stale check sees the swapped id first: its digest is not the dataset's.
    assert result.err == ("Error: plan is stale: EvaluationGroup/faq-sweep changed since the "
                          "plan was made. Run 'evalspec plan' again.\n")

    def other_project(document: dict) -> None:
        [update] = document["actions"]
        update["remote_id"] = their_group["id"]

    _save(run, ours, platform, saved, other_project)
    result = apply_saved(run, saved, ours, platform.url)
    assert (result.code, result.err) == (1, "Error: plan is stale: EvaluationGroup/faq-sweep "
                                            "no longer exists. Run 'evalspec plan' again.\n")
    # The plan's own project field, edited to the other project, is refused before any read.
    _save(run, ours, platform, saved, lambda d: d.update(project="other-sweep"))
    result = apply_saved(run, saved, ours, platform.url)
    assert (result.code, result.err) == (1, (
        "Error: the plan was made for project 'other-sweep', this is project 'support-sweep' "
        f"(in {ours})\n"))
    group = httpx.get(f"{platform.url}/v5/evaluation-groups/{their_group['id']}",
                      headers={"x-api-key": "k"}).json()
    assert json.dumps({k: group[k] for k in their_group}, sort_keys=True) == groups_before


def test_a_known_id_is_verified(two_projects, platform, run, tmp_path) -> None:
    ours, _ = two_projects
    edit(ours / "specs" / "support.yaml", "row by row.", "row by row, again.")
    saved = tmp_path / "plan.json"
    dataset = _dataset(platform, "support-sweep")

    def point_member_at_dataset(document: dict) -> None:
        known = document["known_ids"]
        address = sorted(a for a in known if a.startswith("Evaluation/"))[0]
        known[address] = dataset["id"]

    _save(run, ours, platform, saved, point_member_at_dataset)
    result = apply_saved(run, saved, ours, platform.url)
    assert (result.code, result.err) == (1, _refusal(
        saved, "known id for Evaluation/faq-anthropic-claude-3-5-sonnet-t0.0: "
        f"{dataset['id']} is a Dataset"))


@pytest.mark.parametrize(("tamper", "problem"), [
    (lambda a: a["desired"]["body"].update(dataset_id="(known after apply: Dataset/nope)"),
     "it refers to Dataset/nope, which the plan neither keeps nor makes"),
    (lambda a: a["desired"]["body"]["metadata"].update({"evalspec.project": "other-sweep"}),
     "its body's metadata is stamped for 'other-sweep' at 'Evaluation/faq-openai-gpt-4o-t0.0'"),
    (lambda a: a["desired"]["body"].update(tags=["sweep"]),
     "its body lacks the tag evalspec:support-sweep"),
    (lambda a: a["desired"]["body"].update(name="faq-other"),
     "its body names 'faq-other', not 'faq-openai-gpt-4o-t0.0'"),
    (lambda a: a["desired"].update(address="Evaluation/x"), "its body is for Evaluation/x"),
    (lambda a: a.update(remote_id="evaluation_1"), "a create names an existing id"),
    (lambda a: a.update(kind="EvaluationGroup"), "its kind is EvaluationGroup"),
])
def test_a_plan_that_does_not_hold_together_is_refused_before_any_request(
        workdir, run, tmp_path, tamper, problem) -> None:
    """Nothing is read or written: the endpoint is a closed port."""
    root = workdir("sweep")
    saved = tmp_path / "plan.json"
    assert run("plan", str(root), "--endpoint", "local", "-o", str(saved)).code == 0
    document = json.loads(saved.read_text())
    [action] = [a for a in document["actions"]
                if a["address"] == "Evaluation/faq-openai-gpt-4o-t0.0"]
    tamper(action)
    saved.write_text(json.dumps({**document, "endpoint": "http://127.0.0.1:9"}))
    result = run("apply", str(saved), "--project-dir", str(root), "--endpoint",
                 "http://127.0.0.1:9", env=ENV)
    address = action["address"]
    assert (result.code, result.err) == (1, _refusal(saved, f"create {address}: {problem}"))


def test_a_group_that_names_member_ids_directly_is_refused(workdir, run, tmp_path) -> None:
    root = workdir("sweep")
    saved = tmp_path / "plan.json"
    assert run("plan", str(root), "--endpoint", "local", "-o", str(saved)).code == 0
    document = json.loads(saved.read_text())
    [group] = [a for a in document["actions"] if a["kind"] == "EvaluationGroup"]
    group["desired"]["body"]["evaluation_ids"].append("evaluation_of_someone_else")
    saved.write_text(json.dumps({**document, "endpoint": "http://127.0.0.1:9"}))
    result = run("apply", str(saved), "--project-dir", str(root), "--endpoint",
                 "http://127.0.0.1:9", env=ENV)
    assert (result.code, result.err) == (1, _refusal(
        saved, "create EvaluationGroup/faq-sweep: its members name ids directly "
        "(evaluation_of_someone_else); a plan names members by address"))


def test_a_plan_nested_too_deep_is_refused_with_a_message(workdir, run, tmp_path) -> None:
    root = workdir("quickstart")
    saved = tmp_path / "plan.json"
    saved.write_text('{"actions": ' + "[" * 5000 + "]" * 5000 + "}")
    result = run("apply", str(saved), "--project-dir", str(root), env=ENV)
    assert (result.code, result.err) == (1, f"Error: {saved}: not an evalspec plan: nested "
                                            "deeper than 100 levels\n")
    assert run("show", str(saved)).err == result.err


def test_project_dir_goes_with_a_saved_plan_only(workdir, run) -> None:
    root = workdir("quickstart")
    result = run("apply", str(root), "--project-dir", str(root), env=ENV)
    assert (result.code, result.err) == (1, (
        "Error: --project-dir goes with a saved plan (apply PLANFILE --project-dir PATH); for "
        "a project, pass its PATH\n"))


def test_a_plan_made_from_other_specs_is_refused(workdir, platform, run, tmp_path) -> None:
    """The plan of an older commit must not be applied to a newer one: a model added since
    would be left unapplied while apply said it was complete."""
    root = workdir("sweep")
    saved = tmp_path / "plan.json"
    assert plan(run, root, platform.url, "-o", str(saved)).code == 0
    stale = (f"Error: {saved} was made from other specs than the project in {root} has now "
             "(a spec, a data file or a variable differs); nothing was changed. Make the plan "
             f"again from these specs: evalspec plan -o {saved}\n")
    config = root / "evalspec.yaml"
    original = config.read_text()
    edit(config, "anthropic/claude-3-5-sonnet]", "anthropic/claude-3-5-sonnet, openai/o3]")
    assert (apply_saved(run, saved, root, platform.url).code,
            apply_saved(run, saved, root, platform.url).err) == (1, stale)
    config.write_text(original)
    # A variable given now and not then, a changed data file, a lifecycle setting: refused.
    assert apply_saved(run, saved, root, platform.url, "--var",
                       'temperatures=[0.0]').err == stale
    data = root / "data" / "support-faq.jsonl"
    rows = data.read_text()
    data.write_text(rows.replace("?", "??", 1))
    assert apply_saved(run, saved, root, platform.url).err == stale
    data.write_text(rows)
    spec = root / "specs" / "support.yaml"
    text = spec.read_text()
    edit(spec, "tags: [sweep]", "tags: [sweep]\nlifecycle: {protect: true}")
    assert apply_saved(run, saved, root, platform.url).err == stale
    spec.write_text(text)
    assert httpx.get(f"{platform.url}/v5/evaluations", headers={"x-api-key": "k"}
                     ).json()["items"] == []
    # Comments and layout are not what the specs ask for: the same specs apply.
    spec.write_text("# reviewed\n" + text.replace("tags: [sweep]", "tags:  [sweep]  # the run"))
    applied = apply_saved(run, saved, root, platform.url)
    assert applied.code == 0, applied.err
    assert len(owned(platform, "support-sweep")) == 6
