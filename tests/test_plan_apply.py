"""plan and apply end to end against the local platform over a real loopback socket."""

from __future__ import annotations

import json
import os
import re
import shutil

import httpx
import pytest

from tests.conftest import EVALUATION, EXAMPLES, edit

ENV = {"SGP_API_KEY": "k", "SGP_ACCOUNT_ID": "default"}


def plan(run, root, url, *args):
    return run("plan", str(root), "--endpoint", url, *args, env=ENV)


def apply(run, root, url, *args):
    return run("apply", str(root), "--endpoint", url, "--auto-approve", *args, env=ENV)


def apply_saved(run, saved, root, url, *args):
    """Apply a saved plan as a user does: in the project, with the project's endpoint."""
    return run("apply", str(saved), "--project-dir", str(root), "--endpoint", url, *args,
               env=ENV)


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


@pytest.mark.parametrize("example", ["quickstart", "sweep", "support-csv", "judge-sweep"])
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
    assert apply(run, root, platform.url).code == 0
    config = root / "evalspec.yaml"
    edit(config,
        "models: [openai/gpt-4o, openai/gpt-4o-mini, anthropic/claude-3-5-sonnet]",
        "models: [openai/gpt-4o, anthropic/claude-3-5-sonnet, openai/o3-mini]")
    result = plan(run, root, platform.url)
    assert headlines(result.out) == [
        "# Evaluation/faq-openai-o3-mini-t0.0 will be created: starts 8 task executions over "
        "1 model",
        "# Evaluation/faq-openai-o3-mini-t0.7 will be created: starts 8 task executions over "
        "1 model",
        "# Evaluation/faq-openai-gpt-4o-mini-t0.0 will be archived (no longer in the specs)",
        "# Evaluation/faq-openai-gpt-4o-mini-t0.7 will be archived (no longer in the specs)",
        "# EvaluationGroup/faq-sweep will be updated in place (members changed; row "
        "identifiers changed)",
    ]
    group = result.out.split("  ~ EvaluationGroup/faq-sweep\n")[1].split("\n\n")[0]
    assert group.splitlines() == [  # what changes, not the whole map twice
        "      ~ members:",
        "          + Evaluation/faq-openai-o3-mini-t0.0",
        "          + Evaluation/faq-openai-o3-mini-t0.7",
        "          - Evaluation/faq-openai-gpt-4o-mini-t0.0",
        "          - Evaluation/faq-openai-gpt-4o-mini-t0.7",
        '      - row_identifiers[Evaluation/faq-openai-gpt-4o-mini-t0.0]: "id"',
        '      - row_identifiers[Evaluation/faq-openai-gpt-4o-mini-t0.7]: "id"',
        '      + row_identifiers[Evaluation/faq-openai-o3-mini-t0.0]: "id"',
        '      + row_identifiers[Evaluation/faq-openai-o3-mini-t0.7]: "id"']
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
    assert apply(run, root, platform.url).code == 0
    before = {e["name"]: e["id"] for e in owned(platform, "support-sweep")}
    prompt = root / "prompts" / "system.txt"
    prompt.write_text(prompt.read_text() + "Always be kind.\n")
    result = plan(run, root, platform.url)
    assert "          +Always be kind." in result.out
    assert result.out.count("must be replaced (tasks changed)") == 6
    assert "  # EvaluationGroup/faq-sweep will be updated in place (6 members replaced)" in (
        result.out)
    assert ("          ~ Evaluation/faq-openai-gpt-4o-t0.0 (replaced: new id known after apply)"
            in result.out.splitlines())
    assert "-> [" not in result.out  # no member list shown twice
    assert apply(run, root, platform.url).code == 0
    after = {e["name"]: e["id"] for e in owned(platform, "support-sweep")}
    assert set(after) == set(before) and not set(after.values()) & set(before.values())
    assert plan(run, root, platform.url).out.startswith("No changes.")


def test_tags_only_is_an_update_in_place(workdir, platform, run) -> None:
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    [original] = owned(platform, "quickstart")
    spec = root / "specs" / "capitals.yaml"
    edit(spec, "tags: [team:evals, quickstart]",
                                             "tags: [team:evals, geography]")
    result = plan(run, root, platform.url)
    assert result.out.splitlines()[2:5] == [
        "  # Evaluation/capitals will be updated in place",
        "  ~ Evaluation/capitals",
        '      ~ tags: ["team:evals", "quickstart"] -> ["team:evals", "geography"]',
    ]
    assert apply(run, root, platform.url).code == 0
    [updated] = owned(platform, "quickstart")
    assert updated["id"] == original["id"]
    assert updated["tags"] == ["team:evals", "geography", "evalspec:quickstart"]


def test_drift_made_with_the_sdk_is_corrected(workdir, platform, sdk, run) -> None:
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    [evaluation] = owned(platform, "quickstart")
    sdk.evaluations.update(evaluation["id"], evaluation={"description": "edited by hand",
                                                         "metadata": {"owner": "someone"}})
    result = plan(run, root, platform.url)
    assert result.out.splitlines()[4:6] == [
        '      ~ description: "edited by hand" -> "Does the model know capital cities?"',
        '      ~ metadata: {"owner": "someone"} -> {}',
    ]
    assert apply(run, root, platform.url).code == 0
    fixed = sdk.evaluations.retrieve(evaluation["id"])
    assert fixed.description == "Does the model know capital cities?"
    assert "owner" not in fixed.metadata


def test_a_task_changed_on_the_platform_is_drift_that_apply_puts_back(workdir, platform, http,
                                                                      run) -> None:
    """The fingerprint is a stamp: a task swapped in place behind it is still seen."""
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    [evaluation] = owned(platform, "quickstart")
    configuration = {**evaluation["tasks"][0]["configuration"], "model": "evil/model"}
    assert http.patch(f"/v5/evaluations/{evaluation['id']}/tasks/answer",
                      json={"configuration": configuration}).status_code == 200
    result = plan(run, root, platform.url, "--detailed-exitcode")
    assert result.code == 2
    assert headlines(result.out) == [
        "# Evaluation/capitals must be replaced (tasks changed on the platform): starts 3 "
        "task executions over 1 model"]
    assert ('      ~ tasks[0].configuration.model: "evil/model" -> "openai/gpt-4o-mini"  '
            "# forces replacement") in result.out
    assert apply(run, root, platform.url).code == 0
    [replaced] = owned(platform, "quickstart")
    assert replaced["tasks"][0]["configuration"]["model"] == "openai/gpt-4o-mini"
    assert plan(run, root, platform.url).out.startswith("No changes.")
    # Keys the platform adds to a task it was sent are not drift; a value sent that changed is.
    added = {**replaced["tasks"][0]["configuration"], "platform_default": 1}
    assert http.patch(f"/v5/evaluations/{replaced['id']}/tasks/answer",
                      json={"configuration": added}).status_code == 200
    assert plan(run, root, platform.url).out.startswith("No changes.")
    cooler = {**added, "temperature": 0.9}
    assert http.patch(f"/v5/evaluations/{replaced['id']}/tasks/answer",
                      json={"configuration": cooler}).status_code == 200
    assert '~ tasks[0].configuration.temperature: 0.9 -> 0.0' in plan(run, root,
                                                                      platform.url).out


def test_rename_with_moved_from_updates_in_place(workdir, platform, run) -> None:
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    [original] = owned(platform, "quickstart")
    spec = root / "specs" / "capitals.yaml"
    edit(spec,
        "name: capitals\n", "name: world-capitals\nlifecycle: {moved_from: [capitals]}\n")
    result = plan(run, root, platform.url)
    assert headlines(result.out) == ["# Evaluation/world-capitals will be updated in place"]
    assert '      ~ name: "capitals" -> "world-capitals"' in result.out
    assert apply(run, root, platform.url).code == 0
    [renamed] = owned(platform, "quickstart")
    assert (renamed["id"], renamed["name"]) == (original["id"], "world-capitals")
    assert renamed["metadata"]["evalspec.address"] == "Evaluation/world-capitals"
    assert plan(run, root, platform.url).out.startswith("No changes.")
    # moved_from is tried in order; a name nothing was ever at is passed over.
    edit(spec, "name: world-capitals\nlifecycle: {moved_from: [capitals]}\n",
         "name: capitals-of-the-world\n"
         "lifecycle: {moved_from: [never-existed, world-capitals]}\n")
    assert headlines(plan(run, root, platform.url).out) == [
        "# Evaluation/capitals-of-the-world will be updated in place"]


def test_a_protected_evaluation_is_not_replaced(workdir, platform, run) -> None:
    root = workdir("quickstart")
    spec = root / "specs" / "capitals.yaml"
    edit(spec, "name: capitals\n",
                                             "name: capitals\nlifecycle: {protect: true}\n")
    assert apply(run, root, platform.url).code == 0
    edit(spec, "temperature: 0.0", "temperature: 0.5")
    result = plan(run, root, platform.url)
    assert (result.code, result.err) == (1, (
        "Error: Evaluation/capitals is protected (lifecycle.protect) but would be replaced: "
        "tasks changed\n"))


def test_dataset_rows_with_a_key_sync_item_by_item(workdir, platform, run) -> None:
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
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
    edit(spec, "key: id\n", "")
    assert apply(run, root, platform.url).code == 0
    data = root / "data" / "support-faq.jsonl"
    edit(data, "Invoices", "Billing > Invoices")
    result = plan(run, root, platform.url)
    assert "  # Dataset/support-faq must be replaced (items changed)" in result.out
    assert apply(run, root, platform.url).code == 0
    datasets = httpx.get(f"{platform.url}/v5/datasets", headers={"x-api-key": "k"},
                         params={"include_archived": "true"}).json()["items"]
    assert sorted(bool(d["archived_at"]) for d in datasets) == [False, True]
    assert plan(run, root, platform.url).out.startswith("No changes.")


def test_duplicates_at_one_address_keep_the_oldest(workdir, platform, sdk, run,
                                                   tmp_path) -> None:
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    [original] = owned(platform, "quickstart")
    copy = {k: original[k] for k in ("name", "description", "tags", "metadata", "tasks")}
    sdk.evaluations.create(evaluation={**copy, "data": [{"country": "Peru"}]})
    edit(root / "specs" / "capitals.yaml", "description: Does the model know capital cities?",
         "description: Capitals.")
    saved = tmp_path / "plan.json"
    result = plan(run, root, platform.url, "-o", str(saved))
    assert headlines(result.out) == [  # archives last
        "# Evaluation/capitals will be updated in place",
        f"# Evaluation/capitals will be archived (duplicate of {original['id']} at the same "
        "address (the oldest is kept))"]
    # The saved archive of the duplicate is stale once someone changed the duplicate.
    [duplicate] = [e for e in owned(platform, "quickstart") if e["id"] != original["id"]]
    sdk.evaluations.update(duplicate["id"], evaluation={"description": "keep me"})
    stale = apply_saved(run, saved, root, platform.url)
    assert (stale.code, stale.err) == (1, "Error: plan is stale: Evaluation/capitals changed "
                                          "since the plan was made. Run 'evalspec plan' "
                                          "again.\n")
    assert apply(run, root, platform.url).code == 0
    assert [e["id"] for e in owned(platform, "quickstart")] == [original["id"]]


def test_moved_from_takes_over_one_live_object_once(workdir, platform, sdk, run) -> None:
    """A spec moved from an old name takes the oldest live object there; another object at
    that address (a duplicate) goes to the next spec moved from the same name, or is archived
    as no longer in the specs when there is none."""
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    [original] = owned(platform, "quickstart")
    copy = {k: original[k] for k in ("name", "description", "tags", "metadata", "tasks")}
    duplicate = sdk.evaluations.create(evaluation={**copy, "data": [{"country": "Peru"}]})
    spec = root / "specs" / "capitals.yaml"
    text = spec.read_text()
    moved = text.replace("name: capitals\n",
                         "name: world-capitals\nlifecycle: {moved_from: [capitals]}\n")
    spec.write_text(moved)
    assert headlines(plan(run, root, platform.url).out) == [
        "# Evaluation/world-capitals will be updated in place",
        "# Evaluation/capitals will be archived (no longer in the specs)"]
    spec.write_text(moved + "---\n" + text.replace(
        "name: capitals\n", "name: more-capitals\nlifecycle: {moved_from: [capitals]}\n"))
    assert headlines(plan(run, root, platform.url).out) == [
        "# Evaluation/world-capitals will be updated in place",
        "# Evaluation/more-capitals will be updated in place"]
    assert apply(run, root, platform.url).code == 0
    assert {e["name"]: e["id"] for e in owned(platform, "quickstart")} == {
        "world-capitals": original["id"], "more-capitals": duplicate.id}


def test_members_updated_in_place_leave_their_group_alone(workdir, platform, run) -> None:
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    edit(root / "specs" / "support.yaml", "description: Support FAQ answered by",
         "description: The support FAQ answered by")
    lines = headlines(plan(run, root, platform.url).out)
    assert len(lines) == 6
    assert all(line.startswith("# Evaluation/faq-") and line.endswith(" updated in place")
               for line in lines), lines


def test_a_member_archived_by_hand_and_created_anew_is_replaced_in_its_group(
        workdir, platform, http, sdk, run) -> None:
    """Archiving an evaluation takes it out of its groups (the local platform marks its member
    record deleted): the new one at its address joins the group as a new member."""
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    [archived] = [e for e in owned(platform, "support-sweep")
                  if e["name"] == "faq-openai-gpt-4o-t0.0"]
    sdk.evaluations.archive(archived["id"])
    prompt = root / "prompts" / "system.txt"
    prompt.write_text(prompt.read_text() + "Be brief.\n")
    lines = headlines(plan(run, root, platform.url).out)
    assert lines[0] == ("# Evaluation/faq-openai-gpt-4o-t0.0 will be created: starts 8 task "
                        "executions over 1 model")
    assert lines[-1] == ("# EvaluationGroup/faq-sweep will be updated in place "
                         "(members changed; 5 members replaced; row identifiers changed)")
    assert apply(run, root, platform.url).code == 0
    [group] = http.get("/v5/evaluation-groups", params={
        "tags": "evalspec:support-sweep", "views": "members"}).json()["items"]
    live = {e["id"] for e in owned(platform, "support-sweep")}
    assert {m["evaluation_id"] for m in group["members"] if not m.get("deleted_at")} == live


def test_a_saved_plan_is_stale_once_an_object_it_changes_is_gone(workdir, platform, http, run,
                                                                 tmp_path) -> None:
    """A group deleted by hand after the plan (groups are not listed once deleted); a create
    earlier in the same plan does not hide it."""
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    [group] = http.get("/v5/evaluation-groups",
                       params={"tags": "evalspec:support-sweep"}).json()["items"]
    assert http.patch(f"/v5/evaluation-groups/{group['id']}",
                      json={"name": "renamed"}).status_code == 200
    shutil.copy(EXAMPLES / "quickstart" / "specs" / "capitals.yaml", root / "specs")
    saved = tmp_path / "plan.json"
    assert headlines(plan(run, root, platform.url, "-o", str(saved)).out) == [
        "# Evaluation/capitals will be created: starts 3 task executions over 1 model",
        "# EvaluationGroup/faq-sweep will be updated in place"]
    assert http.delete(f"/v5/evaluation-groups/{group['id']}").status_code == 200
    stale = apply_saved(run, saved, root, platform.url)
    assert (stale.code, stale.err) == (1, "Error: plan is stale: EvaluationGroup/faq-sweep no "
                                          "longer exists. Run 'evalspec plan' again.\n")


def test_archived_objects_are_never_moved_nor_restored_with_other_content(workdir, platform,
                                                                          sdk, run) -> None:
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    [original] = owned(platform, "quickstart")
    sdk.evaluations.archive(original["id"])
    spec = root / "specs" / "capitals.yaml"
    edit(spec, "name: capitals\n", "name: world-capitals\nlifecycle: {moved_from: [capitals]}\n")
    created = "will be created: starts 3 task executions over 1 model"
    assert headlines(plan(run, root, platform.url).out) == [
        f"# Evaluation/world-capitals {created}"]
    edit(spec, "name: world-capitals\nlifecycle: {moved_from: [capitals]}\n", "name: capitals\n")
    edit(spec, "temperature: 0.0", "temperature: 0.5")
    assert headlines(plan(run, root, platform.url).out) == [f"# Evaluation/capitals {created}"]


def test_unowned_objects_are_never_touched(workdir, platform, sdk, run) -> None:
    sdk.evaluations.create(evaluation={"name": "capitals", "data": [{"q": 1}]})
    tagged = sdk.evaluations.create(evaluation={"name": "tagged-by-hand", "data": [{"q": 1}],
                                                "tags": ["evalspec:quickstart"]})
    other = sdk.evaluations.create(evaluation={
        "name": "another-project", "data": [{"q": 1}], "tags": ["evalspec:quickstart"],
        "metadata": {"evalspec.project": "sweep"}})
    dataset = sdk.datasets.create(name="rows-by-hand", data=[{"q": 1}],
                                  tags=["evalspec:quickstart"])
    nameless = sdk.evaluations.create(evaluation={
        "name": "no-address", "data": [{"q": 1}], "tags": ["evalspec:quickstart"],
        "metadata": {"evalspec.project": "quickstart"}})
    root = workdir("quickstart")
    result = plan(run, root, platform.url)
    assert headlines(result.out) == ["# Evaluation/capitals will be created: starts 3 task "
                                     "executions over 1 model"]
    leave = ("so evalspec leaves it alone; remove the tag, or bring it under the project with "
             "'evalspec import'")
    assert sorted(result.err.splitlines()) == sorted([
        f"warning: Evaluation 'tagged-by-hand' ({tagged.id}) has the tag evalspec:quickstart "
        f"but no evalspec.project metadata, {leave}",
        f"warning: Evaluation 'another-project' ({other.id}) has the tag evalspec:quickstart "
        f"but its metadata evalspec.project is 'sweep', {leave}",
        f"warning: Dataset 'rows-by-hand' ({dataset.id}) has the tag evalspec:quickstart but "
        f"no evalspec.fingerprint:<hex> tag, {leave}",
        f"warning: Evaluation 'no-address' ({nameless.id}) has the tag evalspec:quickstart but "
        f"no evalspec.address metadata of the form Evaluation/NAME, {leave}"])
    for archived in (tagged, other, nameless):  # archived, they need no warning
        sdk.evaluations.archive(archived.id)
    assert plan(run, root, platform.url).err == (
        f"warning: Dataset 'rows-by-hand' ({dataset.id}) has the tag evalspec:quickstart but "
        f"no evalspec.fingerprint:<hex> tag, {leave}\n")


def test_apply_without_a_terminal_needs_auto_approve(workdir, platform, run) -> None:
    root = workdir("quickstart")
    result = run("apply", str(root), "--endpoint", platform.url, env=ENV)
    assert result.code == 1
    assert "apply needs confirmation: run it in a terminal, or pass --auto-approve" in result.err


def test_apply_converges_under_faults_without_duplicates(workdir, tmp_path, run) -> None:
    from evalspec.platform.api import Settings
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
    secret = "sk-live-DO-NOT-LEAK-4242"  # the platform fixture accepts any key
    result = run("plan", str(root), "--endpoint", platform.url, "-o", str(saved),
                 env={**ENV, "SGP_API_KEY": secret})
    assert result.out.splitlines()[-1] == (f"Saved the plan to {saved}; run 'evalspec apply "
                                           f"{saved}' to apply exactly this plan.")
    assert secret not in saved.read_text() and secret not in result.out + result.err
    applied = apply_saved(run, saved, root, platform.url)
    assert applied.code == 0, applied.err
    assert plan(run, root, platform.url).out.startswith("No changes.")
    # Re-applying the same plan: the address it creates now exists.
    again = apply_saved(run, saved, root, platform.url)
    assert (again.code, again.err) == (1, "Error: plan is stale: Evaluation/capitals now "
                                          "exists. Run 'evalspec plan' again.\n")
    # A plan that updates an object is stale once someone else changed that object.
    spec = root / "specs" / "capitals.yaml"
    edit(spec, "tags: [team:evals, quickstart]",
                                             "tags: [team:evals]")
    plan(run, root, platform.url, "-o", str(saved))
    [evaluation] = owned(platform, "quickstart")
    sdk.evaluations.update(evaluation["id"], evaluation={"description": "changed meanwhile"})
    stale = apply_saved(run, saved, root, platform.url)
    assert (stale.code, stale.err) == (1, "Error: plan is stale: Evaluation/capitals changed "
                                          "since the plan was made. Run 'evalspec plan' "
                                          "again.\n")
    # So is a plan that archives an object no longer in the specs.
    spec.unlink()
    assert headlines(plan(run, root, platform.url, "-o", str(saved)).out) == [
        "# Evaluation/capitals will be archived (no longer in the specs)"]
    sdk.evaluations.update(evaluation["id"], evaluation={"description": "still wanted"})
    stale = apply_saved(run, saved, root, platform.url)
    assert (stale.code, stale.err) == (1, "Error: plan is stale: Evaluation/capitals changed "
                                          "since the plan was made. Run 'evalspec plan' "
                                          "again.\n")
    assert [e["id"] for e in owned(platform, "quickstart")] == [evaluation["id"]]


def test_destroy_archives_only_what_the_project_owns(workdir, platform, sdk, run) -> None:
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    mine = sdk.evaluations.create(evaluation={"name": "not-managed", "data": [{"q": 1}]})
    result = run("destroy", str(root), "--endpoint", platform.url, "--auto-approve", env=ENV)
    assert result.code == 0, result.err
    assert "Plan: 0 to create, 0 to update, 0 to replace, 0 to restore, 8 to archive." in (
        result.out)
    assert headlines(result.out)[0] == ("# Dataset/support-faq will be archived (destroy "
                                        "archives everything the project owns)")
    assert result.out.splitlines()[-1] == "Destroy complete: 8 done, 0 failed, 0 skipped."
    assert owned(platform, "support-sweep") == []
    assert sdk.evaluations.retrieve(mine.id).archived_at is None
    assert apply(run, root, platform.url).code == 0
    unconfirmed = run("destroy", str(root), "--endpoint", platform.url, env=ENV)
    assert (unconfirmed.code, unconfirmed.err) == (1, "Error: destroy needs confirmation: run "
                                                      "it in a terminal, or pass --auto-approve "
                                                      "(for CI)\n")


def test_apply_json_events(workdir, platform, run) -> None:
    root = workdir("quickstart")
    result = apply(run, root, platform.url, "--format", "json")
    events = [json.loads(line) for line in result.out.splitlines()]
    assert [(e["event"], e.get("address"), e.get("status")) for e in events] == [
        ("action", "Evaluation/capitals", "done"), ("summary", None, None)]
    assert events[-1] == {"event": "summary", "done": 1, "failed": 0, "skipped": 0,
                          "interrupted": False, "replaced_archived": 0}


def test_colour_only_on_a_terminal_and_never_when_refused(workdir, platform, terminal,
                                                           run) -> None:
    root = workdir("quickstart")
    coloured = terminal("plan", "--endpoint", platform.url, cwd=root, env=ENV)
    assert coloured.code == 0, coloured.screen
    assert "\x1b[32m  + Evaluation/capitals\x1b[0m" in coloured.screen
    for refused, env in (("--no-color", ENV), ("--detailed-exitcode", {**ENV, "NO_COLOR": "1"})):
        plain = terminal("plan", "--endpoint", platform.url, refused, cwd=root, env=env)
        assert "\x1b[" not in plain.screen and "  + Evaluation/capitals\n" in plain.screen
    assert "\x1b[" not in plan(run, root, platform.url).out  # not a terminal


def test_one_ctrl_c_at_the_prompt_cancels_the_apply(workdir, platform, terminal, run) -> None:
    root = workdir("quickstart")
    stopped = terminal("apply", "--endpoint", platform.url, cwd=root, env=ENV, timeout=20,
                       interrupt_after="Only 'yes' will be accepted:")
    assert stopped.code == 130, stopped.screen
    assert stopped.screen.endswith("Apply cancelled: nothing was changed.\n")
    assert owned(platform, "quickstart") == []
    # The lock was released: the next apply does not wait for it.
    assert apply(run, root, platform.url).code == 0


def test_apply_on_a_terminal_asks_and_shows_progress(workdir, platform, terminal) -> None:
    root = workdir("sweep")
    declined = terminal("apply", "--endpoint", platform.url, cwd=root, env=ENV, typed="no\n")
    assert declined.code == 1
    assert ("Apply these changes to project 'support-sweep'? Only 'yes' will be accepted:"
            in declined.screen)
    assert declined.screen.endswith("Apply cancelled: nothing was changed.\n")
    accepted = terminal("apply", "--endpoint", platform.url, "--no-color", cwd=root, env=ENV,
                        typed="yes\n")
    assert accepted.code == 0, accepted.screen
    screen = accepted.screen
    bars = re.findall(r"Applying \[[#-]+\] \d+/\d+  \d+:\d\d", screen)
    assert bars[0] == "Applying [------------------------] 0/8  0:00"
    assert len(bars) == 9 and bars[-1].startswith("Applying [########################] 8/8  0:0")
    assert screen.count(": created (") == 8 and "\x1b[3" not in screen
    assert screen.endswith("\r\x1b[KApply complete: 8 done, 0 failed, 0 skipped.\n")


def test_markdown_plan_for_a_pull_request_comment(workdir, platform, run) -> None:
    root = workdir("quickstart")
    empty = plan(run, root, platform.url, "--format", "markdown")
    assert apply(run, root, platform.url).code == 0
    assert plan(run, root, platform.url, "--format", "markdown").out == (
        f"<!-- evalspec-plan -->\n### evalspec plan for `quickstart` on `{platform.url}`\n\n"
        "**No changes.** The platform matches the specs.\n")
    spec = root / "specs" / "capitals.yaml"
    edit(spec, "[team:evals, quickstart]", "[team:evals, geo]")
    edit(spec, "temperature: 0.0", "temperature: 0.2")
    result = plan(run, root, platform.url, "--format", "markdown")
    assert result.out == f"""\
<!-- evalspec-plan -->
### evalspec plan for `quickstart` on `{platform.url}`

| action | count |
|---|---:|
| create | 0 |
| update | 0 |
| replace | 1 |
| restore | 0 |
| archive | 0 |
| task executions started | 3 |

`Plan: 0 to create, 0 to update, 1 to replace, 0 to restore, 0 to archive. Starts 3 task \
executions.`

<details><summary>1 replaced</summary>

```diff
# Evaluation/capitals must be replaced (tasks changed): starts 3 task executions over 1 model
! Evaluation/capitals
~ tasks[0].configuration.temperature: 0.0 -> 0.2  # forces replacement
~ tags: ["team:evals", "quickstart"] -> ["team:evals", "geo"]
```

</details>
"""
    assert "+ Evaluation/capitals\n+ description:" in empty.out


def test_a_long_markdown_plan_is_cut_to_fit_one_comment(project, platform, run) -> None:
    root = project({"specs/many.yaml": """\
kind: Evaluation
name: e-${{ matrix.n }}
matrix: {n: NUMBERS}
data: [{q: 1}]
tasks:
  - task_type: chat_completion
    alias: a
    configuration: {model: openai/gpt-4o, messages: [{role: user, content: "{{ item.q }}"}]}
""".replace("NUMBERS", str(list(range(900))))})
    result = plan(run, root, platform.url, "--format", "markdown")
    assert result.code == 0, result.err
    assert len(result.out) < 65_536
    assert "| create | 900 |" in result.out
    assert re.search(r"\n\.\.\. cut to fit a comment: \d+ more lines; the full plan is in the "
                     r"job's log\n```\n", result.out)


def test_the_api_key_appears_in_no_output_file_or_error(workdir, tmp_path, run) -> None:
    from evalspec.platform.api import Settings
    from evalspec.platform.server import start_background

    secret = "sk-live-7f3a9c0d4e5b"
    server = start_background(Settings(db=tmp_path / "keyed.db", api_keys={secret: "default"}))
    env = {"SGP_API_KEY": secret, "SGP_ACCOUNT_ID": "default"}
    try:
        root = workdir("sweep")
        saved = tmp_path / "plan.json"
        seen = [run("plan", str(root), "--endpoint", server.url, "--format", fmt, "-o",
                    str(saved), env=env) for fmt in ("text", "json", "markdown")]
        seen.append(run("apply", str(saved), "--format", "json", "--project-dir", str(root),
                        "--endpoint", server.url, env=env))
        seen.append(run("destroy", str(root), "--endpoint", server.url, "--auto-approve",
                        env=env))
        assert [r.code for r in seen] == [0, 0, 0, 0, 0]
        wrong = {**env, "SGP_API_KEY": "sk-live-WRONG-1234"}
        refused = run("plan", str(root), "--endpoint", server.url, env=wrong)
        debug = run("--debug", "plan", str(root), "--endpoint", server.url, env=wrong)
        assert refused.code == debug.code == 1
        assert re.fullmatch(r"Error: GET /v5/[a-z-]+ failed with 401: invalid API key \(check "
                            r"SGP_API_KEY\)\n", refused.err)
        for text in [saved.read_text(), *(r.out + r.err for r in seen + [refused, debug])]:
            assert secret not in text and "sk-live-WRONG" not in text and "7f3a9c" not in text
    finally:
        server.stop()


def test_ctrl_c_mid_apply_then_apply_again_converges(workdir, tmp_path, run) -> None:
    import signal
    import subprocess
    import sys

    from evalspec.platform.api import Settings
    from evalspec.platform.faults import Faults
    from evalspec.platform.server import start_background

    server = start_background(Settings(db=tmp_path / "slow.db",
                                       faults=Faults(latency_ms=150)))
    try:
        root = workdir("sweep")
        child = subprocess.Popen(
            [sys.executable, "-m", "evalspec", "apply", "--endpoint", server.url,
             "--auto-approve", "--parallelism", "1"], cwd=root, env={**os.environ, **ENV},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout is not None
        lines = []
        for line in child.stdout:
            lines.append(line)
            if line.startswith("Dataset/support-faq: created"):
                child.send_signal(signal.SIGINT)
                break
        rest, err = child.communicate(timeout=60)
        lines += rest.splitlines(keepends=True)
        assert child.returncode == 130, err
        summary = re.fullmatch(r"Apply interrupted: (\d) done, 0 failed, (\d) skipped\.\n",
                               lines[-1])
        assert summary and int(summary[1]) + int(summary[2]) == 8 and int(summary[2]) >= 5
        assert "interrupted" in "".join(lines[:-1])
        again = apply(run, root, server.url)
        assert again.code == 0, again.err
        assert plan(run, root, server.url).out.startswith("No changes.")
        addresses = [e["metadata"]["evalspec.address"] for e in owned(server, "support-sweep")]
        assert len(addresses) == len(set(addresses)) == 6
    finally:
        server.stop()


def test_a_plan_for_another_project_or_endpoint_is_refused(workdir, platform, run, tmp_path,
                                                          monkeypatch) -> None:
    import socket

    quickstart, sweep = workdir("quickstart"), workdir("sweep")
    saved = tmp_path / "plan.json"
    plan(run, quickstart, platform.url, "-o", str(saved))
    elsewhere = apply_saved(run, saved, quickstart, "http://127.0.0.1:9")
    assert (elsewhere.code, elsewhere.err) == (1, (
        f"Error: the plan was made for endpoint {platform.url}, not http://127.0.0.1:9 "
        "(from --endpoint)\n"))
    other = apply_saved(run, saved, sweep, platform.url)
    assert (other.code, other.err) == (1, (
        "Error: the plan was made for project 'quickstart', this is project 'support-sweep' "
        f"(in {sweep})\n"))
    # A plan edited to name another host: the key never goes there, whatever the plan says.
    with socket.create_server(("127.0.0.1", 0)) as trap:
        trap.setblocking(False)
        host = f"http://127.0.0.1:{trap.getsockname()[1]}"
        document = json.loads(saved.read_text())
        saved.write_text(json.dumps({**document, "endpoint": host}))
        from_env = run("apply", str(saved), "--project-dir", str(quickstart),
                       env={**ENV, "EVALSPEC_ENDPOINT": platform.url})
        assert (from_env.code, from_env.err) == (1, (
            f"Error: the plan was made for endpoint {host}, not {platform.url} "
            "(from EVALSPEC_ENDPOINT)\n"))
        # evalspec.yaml's endpoint counts too (with no flag and no environment).
        monkeypatch.delenv("EVALSPEC_ENDPOINT")
        edit(quickstart / "evalspec.yaml", "endpoint: local", f"endpoint: {platform.url}")
        from_config = run("apply", str(saved), cwd=quickstart / "specs", env=ENV)
        assert (from_config.code, from_config.err) == (1, (
            f"Error: the plan was made for endpoint {host}, not {platform.url} "
            "(from evalspec.yaml)\n"))
        with pytest.raises(BlockingIOError):
            trap.accept()  # nobody connected
    # Outside any project (the repository's root, say) there is nothing to check against.
    outside = run("apply", str(saved), "--endpoint", host, cwd=tmp_path, env=ENV)
    assert (outside.code, outside.err) == (1, (
        f"Error: no evalspec.yaml in {tmp_path} or any parent directory; run 'evalspec init' "
        "to create one, or pass the project directory. A saved plan is applied to the "
        "project it was made for: run apply inside it, or pass --project-dir PATH\n"))
    assert owned(platform, "quickstart") == []


def test_a_failed_action_skips_its_dependents_and_the_rest_carries_on(workdir, platform, run,
                                                                      tmp_path) -> None:
    root = workdir("sweep")
    shutil.copy(EXAMPLES / "quickstart" / "specs" / "capitals.yaml", root / "specs")
    saved = tmp_path / "plan.json"
    plan(run, root, platform.url, "-o", str(saved))
    document = json.loads(saved.read_text())
    document["actions"][0]["desired"]["body"]["data"] = []  # the platform refuses this
    saved.write_text(json.dumps(document))
    result = apply_saved(run, saved, root, platform.url)
    assert result.code == 1
    lines = result.out.split("Starts 51 task executions.\n", 1)[1].splitlines()
    assert lines[0].startswith("Dataset/support-faq: create failed: POST /v5/datasets failed "
                               "with 422")
    assert sorted(line for line in lines if ": create skipped" in line) == sorted(
        [f"Evaluation/faq-{m}-t{t}: create skipped: depends on Dataset/support-faq"
         for m in ("openai-gpt-4o", "openai-gpt-4o-mini", "anthropic-claude-3-5-sonnet")
         for t in ("0.0", "0.7")] + [
            "EvaluationGroup/faq-sweep: create skipped: depends on "
            + ", ".join(f"Evaluation/faq-{m}-t{t}" for m in (
                "openai-gpt-4o", "openai-gpt-4o-mini", "anthropic-claude-3-5-sonnet")
                for t in ("0.0", "0.7"))])
    assert any(line.startswith("Evaluation/capitals: created (") for line in lines)
    assert lines[-1] == "Apply incomplete: 1 done, 1 failed, 7 skipped."
    assert [e["name"] for e in owned(platform, "support-sweep")] == ["capitals"]
    assert apply(run, root, platform.url).code == 0
    assert plan(run, root, platform.url).out.startswith("No changes.")


def test_changing_a_temperature_replaces_that_evaluation(workdir, platform, run) -> None:
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    [old] = owned(platform, "quickstart")
    spec = root / "specs" / "capitals.yaml"
    edit(spec, "temperature: 0.0", "temperature: 0.5")
    result = plan(run, root, platform.url)
    assert result.out.splitlines()[2:5] == [
        "  # Evaluation/capitals must be replaced (tasks changed): starts 3 task executions "
        "over 1 model",
        "-/+ Evaluation/capitals",
        "      ~ tasks[0].configuration.temperature: 0.0 -> 0.5  # forces replacement",
    ]
    applied = apply(run, root, platform.url)
    [new] = owned(platform, "quickstart")
    assert applied.out.splitlines()[-3:] == [
        f"Evaluation/capitals: replaced ({new['id']})",
        f"Evaluation/capitals: archived the old one ({old['id']})",
        "Apply complete: 1 done, 0 failed, 0 skipped; 1 replaced object archived."]
    assert new["id"] != old["id"]
    assert new["tasks"][0]["configuration"]["temperature"] == 0.5
    archived = httpx.get(f"{platform.url}/v5/evaluations/{old['id']}",
                         headers={"x-api-key": "k"}, params={"include_archived": "true"}).json()
    assert archived["archived_at"] is not None


def test_ignore_fields_leave_that_drift_alone(workdir, platform, sdk, run) -> None:
    root = workdir("quickstart")
    spec = root / "specs" / "capitals.yaml"
    edit(spec,
        "name: capitals\n", "name: capitals\nlifecycle: {ignore_fields: [description]}\n")
    assert apply(run, root, platform.url).code == 0
    [evaluation] = owned(platform, "quickstart")
    sdk.evaluations.update(evaluation["id"], evaluation={
        "description": "curated in the UI", "tags": ["team:evals", "evalspec:quickstart"]})
    assert headlines(plan(run, root, platform.url).out) == [
        "# Evaluation/capitals will be updated in place"]
    assert apply(run, root, platform.url).code == 0
    [after] = owned(platform, "quickstart")
    assert (after["description"], after["tags"]) == (
        "curated in the UI", ["team:evals", "quickstart", "evalspec:quickstart"])


def test_an_evaluation_on_a_dataset_outside_the_specs_is_created_on_it(project, platform, sdk,
                                                                       run) -> None:
    """dataset: {id: ...} names a dataset the specs do not hold: the plan cannot count its
    rows, so it promises no number of task executions; apply links the evaluation to it."""
    dataset = sdk.datasets.create(name="shared-rows", data=[{"q": "a"}, {"q": "b"}])
    root = project({"specs/a.yaml": EVALUATION.replace("data: [{q: a}]",
                                                       f"dataset: {{id: {dataset.id}}}")})
    result = plan(run, root, platform.url)
    assert result.out.splitlines()[2:6] == [
        "  # Evaluation/ev will be created", "  + Evaluation/ev",
        f"      + dataset_id: {dataset.id}",
        "      + task chat_completion: chat_completion openai/gpt-4o"]
    assert result.out.splitlines()[-1] == (
        "Plan: 1 to create, 0 to update, 0 to replace, 0 to restore, 0 to archive.")
    assert apply(run, root, platform.url).code == 0
    [evaluation] = owned(platform, "demo")
    assert [d["id"] for d in evaluation["datasets"]] == [dataset.id]


def test_ignored_metadata_keeps_the_platforms_keys_and_otherwise_follows_the_spec(
        workdir, platform, sdk, run) -> None:
    """ignore_fields: [metadata] keeps the keys the platform has (set by hand or by an older
    spec) through an update, while evalspec's own stamps are still written. With another field
    ignored instead, metadata follows the spec again: a key set by hand is removed."""
    root = workdir("quickstart")
    spec = root / "specs" / "capitals.yaml"
    edit(spec, "name: capitals\n",
         "name: capitals\nmetadata: {owner: evals}\nlifecycle: {ignore_fields: [metadata]}\n")
    assert apply(run, root, platform.url).code == 0
    [evaluation] = owned(platform, "quickstart")
    stamps = {k: v for k, v in evaluation["metadata"].items() if k.startswith("evalspec.")}
    assert sorted(stamps) == ["evalspec.address", "evalspec.fingerprint", "evalspec.project"]
    sdk.evaluations.update(evaluation["id"], evaluation={"metadata": {"reviewer": "ann"}})
    edit(spec, "metadata: {owner: evals}", "metadata: {owner: platform-team}")
    edit(spec, "description: Does the model know capital cities?", "description: Capitals.")
    assert plan(run, root, platform.url).out.splitlines()[2:6] == [
        "  # Evaluation/capitals will be updated in place",
        "  ~ Evaluation/capitals",
        '      ~ description: "Does the model know capital cities?" -> "Capitals."',
        ""]
    assert apply(run, root, platform.url).code == 0
    [after] = owned(platform, "quickstart")
    assert (after["id"], after["description"], after["metadata"]) == (
        evaluation["id"], "Capitals.", {"owner": "evals", "reviewer": "ann", **stamps})
    edit(spec, "ignore_fields: [metadata]", "ignore_fields: [description]")
    assert apply(run, root, platform.url).code == 0
    [last] = owned(platform, "quickstart")
    assert (last["id"], last["metadata"]) == (
        evaluation["id"], {"owner": "platform-team", **stamps})


def test_target_limits_the_plan_to_addresses_and_what_they_need(workdir, platform,
                                                                 run) -> None:
    root = workdir("sweep")
    # Targets that share what they need: the group's members all come, the dataset once.
    both = plan(run, root, platform.url, "--target", "Dataset/support-faq",
                "--target", "EvaluationGroup/faq-sweep")
    assert both.out == plan(run, root, platform.url).out
    result = plan(run, root, platform.url, "--target", "Evaluation/faq-openai-gpt-4o-t*")
    assert headlines(result.out) == [
        "# Dataset/support-faq will be created",
        "# Evaluation/faq-openai-gpt-4o-t0.0 will be created: starts 8 task executions over "
        "1 model",
        "# Evaluation/faq-openai-gpt-4o-t0.7 will be created: starts 8 task executions over "
        "1 model",
    ]
    assert apply(run, root, platform.url, "--target", "Evaluation/faq-openai-gpt-4o-t*").code == 0
    assert sorted(e["name"] for e in owned(platform, "support-sweep")) == [
        "faq-openai-gpt-4o-t0.0", "faq-openai-gpt-4o-t0.7"]
    rest = plan(run, root, platform.url)
    assert rest.out.splitlines()[-1] == (
        "Plan: 5 to create, 0 to update, 0 to replace, 0 to restore, 0 to archive. "
        "Starts 32 task executions.")


def test_policy_at_plan_time(workdir, platform, run) -> None:
    root = workdir("quickstart")
    config = root / "evalspec.yaml"
    base = config.read_text()
    config.write_text(base + "policy:\n  required_tags: ['owner:*']\n"
                             "  enforcement: {required_tags: advisory}\n")
    warning = ("specs/capitals.yaml:5:7: $.tags: warning: Evaluation/capitals has no tag "
               "matching 'owner:*' (policy.required_tags)")
    text = run("plan", "--endpoint", platform.url, cwd=root, env=ENV)
    assert (text.code, text.err) == (0, warning + "\n")
    document = json.loads(run("plan", "--endpoint", platform.url, "--format", "json",
                              cwd=root, env=ENV).out)
    assert document["warnings"] == [warning]
    markdown = run("plan", "--endpoint", platform.url, "--format", "markdown", cwd=root,
                   env=ENV).out
    assert f"> [!WARNING]\n> - {warning}\n" in markdown
    saved = root / "plan.json"
    assert plan(run, root, platform.url, "-o", str(saved)).code == 0
    assert run("show", str(saved), "--format", "markdown").out == markdown
    config.write_text(base + "policy:\n  required_tags: ['owner:*']\n")
    refused = run("plan", "--endpoint", platform.url, cwd=root, env=ENV)
    assert (refused.code, refused.out) == (1, "")
    assert refused.err == ("specs/capitals.yaml:5:7: $.tags: Evaluation/capitals has no tag "
                           "matching 'owner:*' (policy.required_tags)\n"
                           "Found 1 error in 1 file.\n")


def test_destroy_refuses_while_an_object_is_protected(workdir, platform, run) -> None:
    root = workdir("quickstart")
    spec = root / "specs" / "capitals.yaml"
    edit(spec, "name: capitals\n", "name: capitals\nlifecycle: {protect: true}\n")
    assert apply(run, root, platform.url).code == 0
    result = run("destroy", str(root), "--endpoint", platform.url, "--auto-approve", env=ENV)
    assert (result.code, result.out, result.err) == (1, "", (
        "Error: Evaluation/capitals is protected (lifecycle.protect) but would be archived\n"))
    assert [e["name"] for e in owned(platform, "quickstart")] == ["capitals"]
    edit(spec, "lifecycle: {protect: true}\n", "")
    assert run("destroy", str(root), "--endpoint", platform.url, "--auto-approve",
               env=ENV).code == 0
    assert owned(platform, "quickstart") == []


def test_a_row_identifier_change_alone_reaches_the_platform(workdir, platform, run) -> None:
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    edit(root / "specs" / "support.yaml", "row_identifier: id", "row_identifier: question")
    result = plan(run, root, platform.url)
    assert headlines(result.out) == [
        "# EvaluationGroup/faq-sweep will be updated in place (row identifiers changed)"]
    assert ('      ~ row_identifiers[Evaluation/faq-openai-gpt-4o-t0.0]: "id" -> "question"'
            in result.out.splitlines())
    assert apply(run, root, platform.url).code == 0
    group = httpx.get(f"{platform.url}/v5/evaluation-groups", headers={"x-api-key": "k"},
                      params={"views": "row_identifiers"}).json()["items"][0]
    assert {r["column_name"] for r in group["row_identifiers"]} == {"question"}
    assert plan(run, root, platform.url).out == "No changes. The platform matches the specs.\n"


def test_every_lost_create_is_adopted_not_repeated(workdir, tmp_path, run) -> None:
    # Every write is committed and its answer dropped: each create's outcome is unknown, so
    # apply must find what it made instead of creating again. Archived objects count too: a
    # duplicate archived on the way would hide a second create from later plans.
    from evalspec.platform.api import Settings
    from evalspec.platform.faults import Faults
    from evalspec.platform.server import start_background

    server = start_background(Settings(db=tmp_path / "lossy.db",
                                       faults=Faults(drop_rate=1.0, seed=3)))
    try:
        root = workdir("sweep")
        assert apply(run, root, server.url).code == 0
        headers = {"x-api-key": "k"}
        evaluations = httpx.get(f"{server.url}/v5/evaluations", headers=headers, params={
            "tags": "evalspec:support-sweep", "include_archived": "true", "limit": 1000}).json()
        addresses = sorted(e["metadata"]["evalspec.address"] for e in evaluations["items"])
        assert addresses == sorted(set(addresses)) and len(addresses) == 6
        datasets = httpx.get(f"{server.url}/v5/datasets", headers=headers, params={
            "tags": "evalspec:support-sweep", "include_archived": "true"}).json()["items"]
        groups = httpx.get(f"{server.url}/v5/evaluation-groups", headers=headers, params={
            "tags": "evalspec:support-sweep", "include_deleted": "true"}).json()["items"]
        assert (len(datasets), len(groups)) == (1, 1)
    finally:
        server.stop()


def test_archived_objects_with_the_same_content_are_restored_not_recreated(workdir, platform,
                                                                           sdk, run,
                                                                           tmp_path) -> None:
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    [dataset] = sdk.datasets.list(tags=["evalspec:support-sweep"]).items
    evaluation = owned(platform, "support-sweep")[0]
    sdk.datasets.archive(dataset.id)
    sdk.evaluations.archive(evaluation["id"])
    result = plan(run, root, platform.url)
    assert headlines(result.out)[:2] == [
        "# Dataset/support-faq will be restored (archived)",
        f"# {evaluation['metadata']['evalspec.address']} will be restored (archived)"]
    assert result.out.splitlines()[-1].startswith(
        "Plan: 0 to create, 1 to update, 0 to replace, 2 to restore, 0 to archive.")
    # An evaluation is restored only once its dataset is: a dataset update the platform
    # refuses leaves the evaluation archived, to be restored by the next apply.
    saved = tmp_path / "plan.json"
    plan(run, root, platform.url, "-o", str(saved))
    document = json.loads(saved.read_text())
    assert document["actions"][0]["address"] == "Dataset/support-faq"
    document["actions"][0]["desired"]["body"]["description"] = ["not text"]  # refused
    saved.write_text(json.dumps(document))
    result = apply_saved(run, saved, root, platform.url)
    assert result.code == 1
    address = evaluation["metadata"]["evalspec.address"]
    assert result.out.splitlines()[-4:] == [
        f"Dataset/support-faq: restore failed: PATCH /v5/datasets/{dataset.id} failed with "
        "422: description: Input should be a valid string",
        f"{address}: restore skipped: depends on Dataset/support-faq",
        f"EvaluationGroup/faq-sweep: update skipped: depends on {address}",
        "Apply incomplete: 0 done, 1 failed, 2 skipped."]
    assert headlines(plan(run, root, platform.url).out) == [
        f"# {address} will be restored (archived)",
        "# EvaluationGroup/faq-sweep will be updated in place (members changed; row "
        "identifiers changed)"]
    assert apply(run, root, platform.url).code == 0
    assert sdk.datasets.retrieve(dataset.id).archived_at is None
    assert sdk.evaluations.retrieve(evaluation["id"]).archived_at is None
    assert len(sdk.datasets.list(tags=["evalspec:support-sweep"], include_archived=True).items) == 1
    assert plan(run, root, platform.url).out == "No changes. The platform matches the specs.\n"


def test_plan_reads_while_the_specs_load_yet_bad_specs_are_what_it_reports(workdir, platform,
                                                                          run) -> None:
    """On a remote platform plan starts its reads while the specs load. A bad spec is still
    what it reports, whether the platform answers or not, and it is the same error as
    validate's; a good spec against a platform that is down still reports the platform."""
    from evalspec.platform.server import free_port

    root = workdir("quickstart")
    down = f"http://127.0.0.1:{free_port()}"
    edit(root / "specs" / "capitals.yaml", "temperature: 0.0", "temperature: hot")
    expected = run("validate", str(root)).err
    assert "temperature" in expected
    for url in (platform.url, down):
        result = plan(run, root, url)
        assert (result.code, result.out, result.err) == (1, "", expected)
    edit(root / "specs" / "capitals.yaml", "temperature: hot", "temperature: 0.0")
    result = plan(run, root, down)
    assert result.code == 1
    assert result.err.startswith("Error: GET /v5/") and f"(endpoint {down})" in result.err
    assert apply(run, root, platform.url).code == 0
    assert plan(run, root, platform.url, "--detailed-exitcode").code == 0


def test_reads_start_early_only_for_a_remote_platform_with_credentials(workdir, platform,
                                                                       monkeypatch) -> None:
    from evalspec.cli.plan_commands import _early_reader
    from evalspec.spec.project import VariableInputs

    root = workdir("quickstart")
    monkeypatch.delenv("SGP_API_KEY", raising=False)
    # No key: the usual order reports it. Local: reading would create .evalspec/local.db.
    assert _early_reader(root, platform.url, VariableInputs()) is None
    assert _early_reader(root, "local", VariableInputs()) is None
    monkeypatch.setenv("SGP_API_KEY", "k")
    client, url, project = _early_reader(root, platform.url, VariableInputs())
    assert (url, project) == (platform.url, "quickstart")
    import asyncio

    asyncio.run(client.aclose())
    assert not (root / ".evalspec").exists()


def test_in_place_updates_send_every_changed_field_of_each_kind(workdir, platform, http,
                                                                run) -> None:
    """Descriptions, tags and metadata change in place on datasets, evaluations and groups;
    a metadata key removed from a group or an evaluation is gone from the platform too."""
    root = workdir("sweep")
    spec = root / "specs" / "support.yaml"
    assert apply(run, root, platform.url).code == 0
    edit(spec, "description: Customer support questions with reference answers.\ntags: [support]",
         "description: FAQ, reviewed.\ntags: [support, reviewed]")
    edit(spec, "tags: [sweep]\nmetadata:\n  model: ${{ matrix.model }}\n"
         "  temperature: ${{ matrix.temperature }}",
         "tags: [sweep, v2]\nmetadata:\n  model: ${{ matrix.model }}")
    edit(spec, "description: Every model and temperature on the support FAQ, row by row.\n"
         "tags: [sweep]",
         "description: The sweep, row by row.\ntags: [sweep, v2]\nmetadata: {a: 1, b: 2}")
    result = apply(run, root, platform.url)
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == "Apply complete: 8 done, 0 failed, 0 skipped."
    [dataset] = http.get("/v5/datasets", params={"tags": "evalspec:support-sweep"}).json()["items"]
    assert (dataset["description"], sorted(t for t in dataset["tags"] if ":" not in t)) == (
        "FAQ, reviewed.", ["reviewed", "support"])
    evaluations = owned(platform, "support-sweep")
    assert len(evaluations) == 6
    for evaluation in evaluations:
        assert "v2" in evaluation["tags"]
        assert {k: v for k, v in evaluation["metadata"].items()
                if not k.startswith("evalspec.")} == {
            "model": evaluation["tasks"][0]["configuration"]["model"], "owner": "support-evals"}
    [group] = http.get("/v5/evaluation-groups", params={"tags": "evalspec:support-sweep",
                                                        "views": "members"}).json()["items"]
    assert (group["name"], group["description"], len(group["members"])) == (
        "faq-sweep", "The sweep, row by row.", 6)
    assert "v2" in group["tags"]
    assert {k: v for k, v in group["metadata"].items() if not k.startswith("evalspec.")} == {
        "a": 1, "b": 2}
    edit(spec, "metadata: {a: 1, b: 2}", "metadata: {a: 1}")
    # Someone renamed them on the platform meanwhile: apply puts the names back. (A dataset
    # renamed by hand is another address: datasets carry no evalspec.address metadata.)
    for path in (f"/v5/evaluations/{evaluations[0]['id']}",
                 f"/v5/evaluation-groups/{group['id']}"):
        assert http.patch(path, json={"name": "renamed by hand"}).status_code == 200
    assert apply(run, root, platform.url).code == 0
    [group] = http.get("/v5/evaluation-groups", params={"tags": "evalspec:support-sweep",
                                                        "views": "members"}).json()["items"]
    assert {k: v for k, v in group["metadata"].items() if not k.startswith("evalspec.")} == {
        "a": 1}
    assert (group["name"], len(group["members"])) == ("faq-sweep", 6)
    assert http.get(f"/v5/evaluations/{evaluations[0]['id']}").json()["name"] == (
        evaluations[0]["name"])
    assert plan(run, root, platform.url, "--detailed-exitcode").code == 0


def test_a_group_rewritten_for_new_members_keeps_the_metadata_it_ignores(workdir, platform, http,
                                                                          run) -> None:
    """A group whose members change is written whole (PUT): with ignore_fields: [metadata],
    the metadata the platform has goes into it, keys set by hand included."""
    root = workdir("sweep")
    edit(root / "specs" / "support.yaml", "row_identifier: id",
         "row_identifier: id\nlifecycle: {ignore_fields: [metadata]}")
    assert apply(run, root, platform.url).code == 0
    params = {"tags": "evalspec:support-sweep", "views": "members"}
    [group] = http.get("/v5/evaluation-groups", params=params).json()["items"]
    assert http.patch(f"/v5/evaluation-groups/{group['id']}",
                      json={"metadata": {"reviewer": "ann"}}).status_code == 200
    edit(root / "evalspec.yaml", "temperatures: [0.0, 0.7]", "temperatures: [0.0, 0.7, 1.0]")
    assert apply(run, root, platform.url).code == 0
    [after] = http.get("/v5/evaluation-groups", params=params).json()["items"]
    assert (after["id"], len(after["members"])) == (group["id"], 9)
    def users(metadata: dict) -> dict:
        return {k: v for k, v in metadata.items() if not k.startswith("evalspec.")}

    assert users(after["metadata"]) == {**users(group["metadata"]), "reviewer": "ann"}
    assert after["metadata"]["evalspec.fingerprint"] != group["metadata"]["evalspec.fingerprint"]


@pytest.mark.parametrize("pattern, reason", [
    ("faq-openai-gpt-4o-t0.0", "member Evaluation/faq-openai-gpt-4o-t0.0 replaced"),
    ("faq-openai-gpt-4o-t0.*", "members Evaluation/faq-openai-gpt-4o-t0.0 and "
                               "Evaluation/faq-openai-gpt-4o-t0.7 replaced"),
    ("faq-anthropic-*", "members Evaluation/faq-anthropic-claude-3-5-sonnet-t0.0 and "
                        "Evaluation/faq-anthropic-claude-3-5-sonnet-t0.7 replaced"),
    ("faq-*-t0.0", "3 members replaced"),
    ("faq-openai-*", "4 members replaced"),
])
def test_the_group_says_which_members_are_replaced(pattern, reason, workdir, platform,
                                                   run) -> None:
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    result = plan(run, root, platform.url, "--replace", pattern)
    assert f"  # EvaluationGroup/faq-sweep will be updated in place ({reason})" in (
        result.out.splitlines())


def test_a_plan_keeps_what_it_compares_and_one_copy_of_a_repeated_prompt(workdir, platform,
                                                                         run) -> None:
    """A plan's refresh keeps only the fields the diff reads, and the sweep's system prompt,
    repeated in every evaluation on the platform, once (a 10,000-evaluation plan's memory)."""
    import asyncio

    from evalspec.client.config import Credentials, Endpoint, sgp_client
    from evalspec.plan.refresh import PLAN_FIELDS, refresh

    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0

    async def read():
        client = sgp_client(Endpoint(platform.url, "test"), Credentials("k", "default"), root)
        try:  # one client: each refresh counts its own round trips
            return (await refresh(client, "support-sweep", None),
                    await refresh(client, "support-sweep", PLAN_FIELDS))
        finally:
            await client.aclose()

    whole, kept = asyncio.run(read())
    assert (whole.round_trips, kept.round_trips) == (5, 5)  # one page of each kind's list
    evaluations = [o.body for o in kept.objects if o.kind == "Evaluation"]
    assert len(evaluations) == 6
    assert {"created_by", "status", "datasets"} <= set(whole.objects[0].body)
    for remote, full in zip(kept.objects, whole.objects, strict=True):
        assert remote.body == {k: v for k, v in full.body.items() if k in PLAN_FIELDS}
    prompts = {id(e["tasks"][0]["configuration"]["messages"][0]["content"]) for e in evaluations}
    assert len(prompts) == 1
    assert [o.body for o in whole.objects if o.kind == "Evaluation"][0]["tasks"][0][
        "configuration"]["messages"][0]["content"] == evaluations[0]["tasks"][0][
        "configuration"]["messages"][0]["content"]


def test_a_lost_replacement_is_not_mistaken_for_the_object_it_replaces(workdir, tmp_path,
                                                                      run) -> None:
    """--replace makes an evaluation with the same address and fingerprint as the old one.
    When the create's answer is lost, the lookup must find the new object, never adopt the
    old one (which apply then archives): the address keeps one live evaluation, a new one."""
    from evalspec.platform.api import Settings
    from evalspec.platform.faults import Faults
    from evalspec.platform.server import start_background

    server = start_background(Settings(db=tmp_path / "lossy.db",
                                       faults=Faults(drop_rate=1.0, seed=5)))
    try:
        root = workdir("quickstart")
        assert apply(run, root, server.url).code == 0
        [before] = owned(server, "quickstart")
        address = before["metadata"]["evalspec.address"]
        result = apply(run, root, server.url, "--replace", address)
        assert result.code == 0, result.out
        listed = httpx.get(f"{server.url}/v5/evaluations", headers={"x-api-key": "k"}, params={
            "tags": "evalspec:quickstart", "include_archived": "true"}).json()["items"]
        live = [e["id"] for e in listed if not e["archived_at"]]
        archived = [e["id"] for e in listed if e["archived_at"]]
        assert archived == [before["id"]]
        assert len(live) == 1 and live[0] != before["id"]
    finally:
        server.stop()


def test_lost_creates_of_two_datasets_with_the_same_rows_adopt_their_own(project, tmp_path,
                                                                        run) -> None:
    """Two datasets with the same rows share a fingerprint. When both creates are in flight
    and their answers are lost, each address still adopts the dataset made for it (looked up
    by name as well), so an evaluation of the second reads the second."""
    from evalspec.platform.api import Settings
    from evalspec.platform.faults import Faults
    from evalspec.platform.server import start_background

    rows = "items: [{q: a, ref: b}, {q: c, ref: d}]\n"
    root = project({"specs/data.yaml": (
        f"kind: Dataset\nname: first\n{rows}---\nkind: Dataset\nname: second\n{rows}---\n"
        "kind: Evaluation\nname: ev\ndataset: second\ntasks:\n  - task_type: chat_completion\n"
        "    configuration:\n      model: openai/gpt-4o\n"
        "      messages: [{role: user, content: item.q}]\n")})
    server = start_background(Settings(db=tmp_path / "lossy.db",
                                       faults=Faults(drop_rate=1.0, seed=9)))
    try:
        assert apply(run, root, server.url, "--parallelism", "4").code == 0
        headers = {"x-api-key": "k"}
        datasets = httpx.get(f"{server.url}/v5/datasets", headers=headers, params={
            "include_archived": "true"}).json()["items"]
        assert sorted(d["name"] for d in datasets) == ["first", "second"]
        [evaluation] = httpx.get(f"{server.url}/v5/evaluations", headers=headers).json()["items"]
        second = next(d["id"] for d in datasets if d["name"] == "second")
        assert [d["id"] for d in evaluation["datasets"]] == [second]
    finally:
        server.stop()


def test_a_group_update_waits_for_its_new_members_and_is_stale_once_changed_by_hand(
        workdir, platform, sdk, run, tmp_path) -> None:
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    edit(root / "evalspec.yaml", "temperatures: [0.0, 0.7]", "temperatures: [0.0, 0.7, 1.0]")
    saved = tmp_path / "plan.json"
    plan(run, root, platform.url, "-o", str(saved))
    document = json.loads(saved.read_text())
    new = [a for a in document["actions"] if a["action"] == "create"]
    assert len(new) == 3
    for action in new:
        action["desired"]["body"]["tasks"] = "refused"  # the platform answers 422
    saved.write_text(json.dumps(document))
    result = apply_saved(run, saved, root, platform.url)
    assert result.code == 1
    waiting = ", ".join(a["address"] for a in new)  # in the order of the members
    assert (f"EvaluationGroup/faq-sweep: update skipped: depends on {waiting}"
            in result.out.splitlines())
    # A saved group update is stale once someone renamed the group by hand.
    edit(root / "evalspec.yaml", "temperatures: [0.0, 0.7, 1.0]", "temperatures: [0.0, 0.7]")
    edit(root / "specs" / "support.yaml", "row by row.", "row by row, reviewed.")
    plan(run, root, platform.url, "-o", str(saved))
    [group] = sdk.evaluation_groups.list(tags=["evalspec:support-sweep"]).items
    sdk.evaluation_groups.update(group.id, name="renamed-by-hand")
    stale = apply_saved(run, saved, root, platform.url)
    assert (stale.code, stale.err) == (1, "Error: plan is stale: EvaluationGroup/faq-sweep "
                                          "changed since the plan was made. Run 'evalspec "
                                          "plan' again.\n")


def test_a_saved_dataset_update_is_stale_once_the_dataset_changed_by_hand(
        workdir, platform, sdk, run, tmp_path) -> None:
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    edit(root / "specs" / "support.yaml", "Customer support questions", "Support questions")
    saved = tmp_path / "plan.json"
    plan(run, root, platform.url, "-o", str(saved))
    [dataset] = sdk.datasets.list(tags=["evalspec:support-sweep"]).items
    sdk.datasets.update(dataset.id, dataset={"tags": [*dataset.tags, "added-by-hand"]})
    stale = apply_saved(run, saved, root, platform.url)
    assert (stale.code, stale.err) == (1, "Error: plan is stale: Dataset/support-faq changed "
                                          "since the plan was made. Run 'evalspec plan' "
                                          "again.\n")


def _change_by_hand(sdk, platform, what: str, evaluation: dict) -> None:
    headers = {"x-api-key": "k"}
    if what == "metadata":
        sdk.evaluations.update(evaluation["id"], evaluation={"metadata": {
            **evaluation["metadata"], "reviewed": True}})
    elif what == "fingerprint":
        sdk.evaluations.update(evaluation["id"], evaluation={"metadata": {
            **evaluation["metadata"], "evalspec.fingerprint": "0" * 64}})
    elif what == "archived":
        sdk.evaluations.archive(evaluation["id"])
    elif what == "members":
        [group] = sdk.evaluation_groups.list(tags=["evalspec:support-sweep"]).items
        keep = [e["id"] for e in owned(platform, "support-sweep") if e["id"] != evaluation["id"]]
        httpx.put(f"{platform.url}/v5/evaluation-groups/{group.id}", headers=headers, json={
            "name": group.name, "description": group.description, "tags": group.tags,
            "metadata": group.metadata, "evaluation_ids": keep}).raise_for_status()
    else:  # a row added: a new version of the dataset
        [dataset] = sdk.datasets.list(tags=["evalspec:support-sweep"]).items
        sdk.dataset_items.batch_create(dataset_id=dataset.id, data=[{"id": "by-hand"}])


@pytest.mark.parametrize("what, address", [
    ("metadata", "Evaluation/faq-openai-gpt-4o-t0.0"),
    ("fingerprint", "Evaluation/faq-openai-gpt-4o-t0.0"),
    ("archived", "Evaluation/faq-openai-gpt-4o-t0.0"),
    ("members", "EvaluationGroup/faq-sweep"),
    ("version", "Dataset/support-faq"),
])
def test_a_saved_plan_is_stale_after_each_kind_of_change_by_hand(what, address, workdir,
                                                                  platform, sdk, run,
                                                                  tmp_path) -> None:
    """Whatever someone changes on an object a saved plan updates, applying the plan is
    refused: its metadata, the fingerprint stamp, archiving it, a group's members, a
    dataset's rows."""
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    edit(root / "evalspec.yaml", "tags: [team:support]", "tags: [team:support, q4]")
    edit(root / "specs" / "support.yaml", "row by row.", "row by row, reviewed.")
    edit(root / "specs" / "support.yaml", "Customer support questions", "Support questions")
    saved = tmp_path / "plan.json"
    made = plan(run, root, platform.url, "-o", str(saved))
    assert made.code == 0, made.err
    assert address in {a["address"] for a in json.loads(saved.read_text())["actions"]}
    [evaluation] = [e for e in owned(platform, "support-sweep")
                    if e["name"] == "faq-openai-gpt-4o-t0.0"]
    _change_by_hand(sdk, platform, what, evaluation)
    stale = apply_saved(run, saved, root, platform.url)
    assert stale.code == 1
    assert stale.err.startswith("Error: plan is stale: ")  # archiving also changes the group
    assert f"{address} changed since the plan was made" in stale.err


def test_a_replacement_that_fails_keeps_the_old_object(workdir, platform, run,
                                                       tmp_path) -> None:
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    [before] = owned(platform, "quickstart")
    saved = tmp_path / "plan.json"
    plan(run, root, platform.url, "--replace", "Evaluation/capitals", "-o", str(saved))
    document = json.loads(saved.read_text())
    document["actions"][0]["desired"]["body"]["tasks"] = "refused"  # the platform answers 422
    saved.write_text(json.dumps(document))
    result = apply_saved(run, saved, root, platform.url)
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[-3].startswith("Evaluation/capitals: replace failed: POST /v5/evaluations ")
    assert lines[-2:] == [
        "Evaluation/capitals: archive old failed: the replacement was not created; the old "
        "object is kept", "Apply incomplete: 0 done, 1 failed, 0 skipped."]
    assert [e["id"] for e in owned(platform, "quickstart")] == [before["id"]]


def test_a_stop_skips_what_has_not_started_and_starts_nothing_more(workdir, platform) -> None:
    """What Ctrl-C does in apply, in process: actions not yet started are skipped as
    interrupted, and nothing more is created."""
    from evalspec.apply.execute import execute
    from evalspec.client.config import Credentials, Endpoint, sgp_client
    from evalspec.plan.planner import make_plan
    from evalspec.spec.desired import build

    root = workdir("sweep")

    async def scenario():
        client = sgp_client(Endpoint(platform.url, "test"), Credentials("k", "default"), root)
        stop = asyncio.Event()
        try:
            made = await make_plan(build(root), client, platform.url)
            return await execute(made, client, parallelism=1, stop=stop,
                                 on_event=lambda outcome: stop.set())
        finally:
            await client.aclose()

    import asyncio

    outcomes = asyncio.run(scenario())
    assert [(o.address, o.action, o.status) for o in outcomes][:2] == [
        ("Dataset/support-faq", "create", "done"),
        ("Evaluation/faq-openai-gpt-4o-t0.0", "create", "skipped")]
    assert [o.detail for o in outcomes[1:7]] == ["interrupted"] * 6
    group = outcomes[7]
    assert (group.address, group.status) == ("EvaluationGroup/faq-sweep", "skipped")
    assert group.detail.startswith("depends on Evaluation/faq-openai-gpt-4o-t0.0, ")
    assert len(outcomes) == 8
    assert owned(platform, "support-sweep") == []


def test_lost_creates_of_two_identical_evaluations_adopt_their_own(project, tmp_path,
                                                                   run) -> None:
    """Two evaluations with the same tasks and rows share a fingerprint. With every answer
    lost, each address adopts the evaluation made for it (address and fingerprint both
    match), so the group over them has both as members."""
    from evalspec.platform.api import Settings
    from evalspec.platform.faults import Faults
    from evalspec.platform.server import start_background

    evaluation = ("kind: Evaluation\nname: {}\ndata: [{{q: a}}, {{q: b}}]\ntasks:\n"
                  "  - task_type: chat_completion\n    configuration:\n"
                  "      model: openai/gpt-4o\n      messages: [{{role: user, content: item.q}}]\n")
    root = project({"specs/twins.yaml": "---\n".join([
        evaluation.format("left"), evaluation.format("right"),
        "kind: EvaluationGroup\nname: twins\nmembers: [left, right]\nrow_identifier: q\n"])})
    server = start_background(Settings(db=tmp_path / "lossy.db",
                                       faults=Faults(drop_rate=1.0, seed=4)))
    try:
        assert apply(run, root, server.url, "--parallelism", "4").code == 0
        assert plan(run, root, server.url).out == (
            "No changes. The platform matches the specs.\n")
        assert len(owned(server, "demo")) == 2
    finally:
        server.stop()


@pytest.mark.parametrize("kind, path, flag", [
    ("Dataset", "/v5/datasets/obj_1", "include_archived"),
    ("Evaluation", "/v5/evaluations/obj_1", "include_archived"),
    ("EvaluationGroup", "/v5/evaluation-groups/obj_1", "include_deleted"),
])
def test_an_archive_the_platform_refuses_fails_unless_the_object_is_archived(
        kind, path, flag, tmp_path) -> None:
    """A refused DELETE (here a 400 from a scripted transport: the local platform never
    refuses one) is a failure while the object is still live, and done once it is archived
    or gone: the object's own state decides, read from the right endpoint."""
    import asyncio

    from evalspec.apply.execute import execute
    from evalspec.client.config import Credentials, Endpoint, sgp_client
    from evalspec.plan.model import Action, Plan

    def run_archive(archived_at: str | None, gone: bool = False) -> tuple[str, list[str]]:
        seen = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(f"{request.method} {request.url.path}?{request.url.query.decode()}")
            if request.method == "DELETE":
                return httpx.Response(400, json={"detail": "in use"})
            if (request.url.path == path and request.url.params.get(flag) == "true"
                    and not gone):
                stamp = {"deleted_at" if flag == "include_deleted" else "archived_at": archived_at}
                return httpx.Response(200, json={"id": "obj_1", **stamp})
            return httpx.Response(404, json={"detail": "not found"})

        client = sgp_client(Endpoint("https://api.example.test", "test"),
                            Credentials("k", "default"), tmp_path,
                            transport=httpx.MockTransport(handler))
        plan = Plan("demo", "https://api.example.test", (
            Action("archive", f"{kind}/x", kind, ("gone",), remote_id="obj_1"),))

        async def go():
            try:
                return await execute(plan, client, parallelism=8)
            finally:
                await client.aclose()

        [outcome] = asyncio.run(go())
        assert (outcome.address, outcome.action) == (f"{kind}/x", "archive")
        return outcome.status, seen

    status, seen = run_archive(None)
    assert status == "failed"
    assert seen == [f"DELETE {path}?", f"GET {path}?{flag}=true"]
    assert run_archive("2026-01-01T00:00:00Z")[0] == "done"
    assert run_archive(None, gone=True)[0] == "done"  # nothing left to archive


def test_lost_creates_never_adopt_another_projects_objects(project, tmp_path, run) -> None:
    """Two projects on one account with the same dataset, evaluation and group (same names,
    rows and tasks): when every answer is lost, the second adopts only what it made, found
    by its own project tag."""
    from evalspec.platform.api import Settings
    from evalspec.platform.faults import Faults
    from evalspec.platform.server import start_background

    spec = ("kind: Dataset\nname: faq\nitems: [{q: a}, {q: b}]\n---\n"
            "kind: Evaluation\nname: answers\ndataset: faq\ntasks:\n"
            "  - task_type: chat_completion\n    configuration:\n      model: openai/gpt-4o\n"
            "      messages: [{role: user, content: item.q}]\n---\n"
            "kind: EvaluationGroup\nname: all\nmembers: [answers]\nrow_identifier: q\n")
    first = project({"first/evalspec.yaml": "project: first\n",
                     "first/specs/a.yaml": spec,
                     "second/evalspec.yaml": "project: second\n",
                     "second/specs/a.yaml": spec})
    server = start_background(Settings(db=tmp_path / "lossy.db",
                                       faults=Faults(drop_rate=1.0, seed=6)))
    try:
        for name in ("first", "second"):
            assert apply(run, first / name, server.url).code == 0
        headers = {"x-api-key": "k"}
        for name in ("first", "second"):
            [dataset] = httpx.get(f"{server.url}/v5/datasets", headers=headers,
                                  params={"tags": f"evalspec:{name}"}).json()["items"]
            [evaluation] = owned(server, name)
            assert [d["id"] for d in evaluation["datasets"]] == [dataset["id"]]
            [group] = httpx.get(f"{server.url}/v5/evaluation-groups", headers=headers, params={
                "tags": f"evalspec:{name}", "views": "members"}).json()["items"]
            assert [m["evaluation_id"] for m in group["members"]] == [evaluation["id"]]
        everything = httpx.get(f"{server.url}/v5/datasets", headers=headers).json()["items"]
        assert len(everything) == 2
    finally:
        server.stop()


def test_why_an_evaluation_is_replaced_or_refused(workdir, platform, run) -> None:
    """Changed inline rows replace it "(data changed)"; with lifecycle.protect, --replace is
    refused with the reason."""
    root = workdir("quickstart")
    spec = root / "specs" / "capitals.yaml"
    assert apply(run, root, platform.url).code == 0
    edit(spec, "{country: Kenya, expected: Nairobi}", "{country: Peru, expected: Lima}")
    assert ("  # Evaluation/capitals must be replaced (data changed): starts 3 task executions "
            "over 1 model" in plan(run, root, platform.url).out.splitlines())
    edit(spec, "{country: Peru, expected: Lima}", "{country: Kenya, expected: Nairobi}")
    edit(spec, "tags: [team:evals, quickstart]",
         "tags: [team:evals, quickstart]\nlifecycle: {protect: true}")
    refused = plan(run, root, platform.url, "--replace", "Evaluation/capitals")
    assert (refused.code, refused.err) == (1, (
        "Error: Evaluation/capitals is protected (lifecycle.protect) but would be replaced: "
        "replacement asked for with --replace\n"))


def test_refresh_reads_groups_in_the_older_api_shape(tmp_path) -> None:
    """Older API generations keep a group's metadata under evaluation_group_metadata and
    soft-delete groups with deleted_at (and may list deleted ones); a body without created_at
    sorts as the oldest."""
    import asyncio

    import httpx

    from evalspec.client.config import Credentials, Endpoint, sgp_client
    from evalspec.plan.refresh import Unowned, refresh

    marks = {"evalspec.project": "demo", "evalspec.fingerprint": "f" * 64}
    groups = [
        {"id": "grp_1", "name": "kept", "tags": ["evalspec:demo"], "created_at": "2026-01-02",
         "evaluation_group_metadata": {**marks, "evalspec.address": "EvaluationGroup/kept"}},
        {"id": "grp_2", "name": "gone", "tags": ["evalspec:demo"],
         "deleted_at": "2026-01-03", "evaluation_group_metadata": {
             **marks, "evalspec.address": "EvaluationGroup/gone"}},
        {"id": "grp_3", "name": "by-hand", "tags": ["evalspec:demo"],  # no marks: no warning
         "deleted_at": "2026-01-04"},
        {"id": "grp_4", "tags": ["evalspec:demo"]},  # live, without marks or even a name
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        items = groups if request.url.path == "/v5/evaluation-groups" else []
        return httpx.Response(200, json={"object": "list", "items": items, "has_more": False})

    async def go():
        client = sgp_client(Endpoint("https://api.example.test", "test"),
                            Credentials("k", "default"), tmp_path,
                            transport=httpx.MockTransport(handler))
        try:
            return await refresh(client, "demo")
        finally:
            await client.aclose()

    actual = asyncio.run(go())
    assert actual.unowned == (
        Unowned("EvaluationGroup", "grp_4", "", "no evalspec.project metadata"),)
    assert [(o.address, o.archived, o.created_at, o.fingerprint) for o in actual.objects] == [
        ("EvaluationGroup/kept", False, "2026-01-02", "f" * 64),
        ("EvaluationGroup/gone", True, "", "f" * 64)]
    assert [o.id for o in actual.by_address()["EvaluationGroup/gone"]] == ["grp_2"]


def test_a_plan_reads_each_list_once_and_items_only_of_a_changed_keyed_dataset(
        workdir, platform, run, http) -> None:
    """The refresh started while the specs load is the one the plan uses (three list reads),
    and a keyed dataset's items are read only when its rows changed."""
    import gc

    seen: list[str] = []
    served = platform.server.config.loaded_app

    async def counting(scope, receive, send):
        if scope["type"] == "http":
            seen.append(f"{scope['method']} {scope['path']}")
        await served(scope, receive, send)

    platform.server.config.loaded_app = counting  # connections opened from now on
    root = workdir("sweep")
    (root / "specs" / "plain.yaml").write_text("kind: Dataset\nname: plain\nitems: [{q: a}]\n")
    assert apply(run, root, platform.url).code == 0
    # A copy of the project's group with its marks but not its tag (taken off by hand): the
    # tag says what the project owns, so the plan neither reads nor archives it.
    [group] = http.get("/v5/evaluation-groups").json()["items"]
    member = http.get("/v5/evaluations").json()["items"][0]["id"]
    http.post("/v5/evaluation-groups", json={
        "name": "untagged", "evaluation_ids": [member],
        "metadata": {**group["metadata"], "evalspec.address": "EvaluationGroup/untagged"},
    }).raise_for_status()
    seen.clear()
    assert plan(run, root, platform.url).out == "No changes. The platform matches the specs.\n"
    assert sorted(seen) == ["GET /v5/datasets", "GET /v5/evaluation-groups",
                            "GET /v5/evaluations", "GET /v5/questions", "GET /v5/rubrics"]
    data = root / "data" / "support-faq.jsonl"
    data.write_text(data.read_text().replace("?", "??", 1))
    seen.clear()
    changed = plan(run, root, platform.url)
    assert "      items: +0 added, ~1 updated, -0 removed" in changed.out.splitlines()
    assert sorted(seen) == ["GET /v5/dataset-items", "GET /v5/datasets",
                            "GET /v5/evaluation-groups", "GET /v5/evaluations",
                            "GET /v5/questions", "GET /v5/rubrics"]
    assert gc.isenabled()  # paused while planning, and on again after


def test_plan_gives_the_interpreter_its_switch_interval_back(workdir, platform, run) -> None:
    """plan shortens the GIL switch interval while the specs load beside the reads (speed
    only); whoever runs it in process gets theirs back, after a plan and after a failure."""
    import sys

    root = workdir("sweep")
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.004)
    try:
        assert plan(run, root, platform.url).code == 0
        assert sys.getswitchinterval() == pytest.approx(0.004)
        assert plan(run, root, "http://127.0.0.1:9").code == 1  # nothing listens there
        assert sys.getswitchinterval() == pytest.approx(0.004)
    finally:
        sys.setswitchinterval(before)


def _plan_requests(root, url, project: str) -> tuple[object, int]:
    """A plan made in process, and the requests it sent."""
    import asyncio

    from evalspec.client.config import Credentials, Endpoint, sgp_client
    from evalspec.plan.planner import make_plan
    from evalspec.spec.desired import build

    async def made():
        client = sgp_client(Endpoint(url, "test"), Credentials("k", "default"), root)
        try:
            result = await make_plan(build(root), client, url)
            return result, client.core.requests_sent
        finally:
            await client.aclose()

    return asyncio.run(made())


def test_a_dataset_item_changed_through_the_api_is_drift(workdir, platform, http, run) -> None:
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    # Unchanged: three list calls, no item is read.
    unchanged, requests = _plan_requests(root, platform.url, "support-sweep")
    assert (unchanged.actions, requests) == ((), 5)
    [dataset] = http.get("/v5/datasets", params={"tags": "evalspec:support-sweep"}
                         ).json()["items"]
    assert dataset["tags"][-1] == f"evalspec.version:{dataset['current_version_num']}"
    items = http.get("/v5/dataset-items", params={"dataset_id": dataset["id"]}).json()["items"]
    assert http.delete(f"/v5/dataset-items/{items[0]['id']}").status_code == 200
    result = plan(run, root, platform.url, "--detailed-exitcode")
    assert result.code == 2
    assert headlines(result.out) == [
        "# Dataset/support-faq will be updated in place (items changed on the platform)"]
    assert "items: +1 added, ~0 updated, -0 removed" in result.out
    assert apply(run, root, platform.url).code == 0
    again, requests = _plan_requests(root, platform.url, "support-sweep")
    assert (again.actions, requests) == ((), 5)
    # Deleted and added back as it was: nothing to put back, the new version is recorded.
    items = http.get("/v5/dataset-items", params={"dataset_id": dataset["id"]}).json()["items"]
    assert http.delete(f"/v5/dataset-items/{items[0]['id']}").status_code == 200
    assert http.post("/v5/dataset-items/batch", json={
        "dataset_id": dataset["id"], "data": [items[0]["data"]]}).status_code == 200
    version = http.get(f"/v5/datasets/{dataset['id']}").json()["current_version_num"]
    assert headlines(plan(run, root, platform.url).out) == [
        f"# Dataset/support-faq will be updated in place (version {version} checked: the "
        "items are the specs' rows)"]
    assert apply(run, root, platform.url).code == 0
    assert plan(run, root, platform.url).out.startswith("No changes.")


def test_an_unkeyed_dataset_changed_through_the_api_is_replaced(project, platform, http,
                                                                run) -> None:
    root = project({"specs/d.yaml": "kind: Dataset\nname: d\nitems: [{q: a}, {q: b}]\n"})
    assert apply(run, root, platform.url).code == 0
    [dataset] = http.get("/v5/datasets", params={"tags": "evalspec:demo"}).json()["items"]
    items = http.get("/v5/dataset-items", params={"dataset_id": dataset["id"]}).json()["items"]
    assert http.patch(f"/v5/dataset-items/{items[1]['id']}",
                      json={"data": {"q": "evil"}}).status_code == 200
    assert headlines(plan(run, root, platform.url).out) == [
        "# Dataset/d must be replaced (items changed on the platform)"]
    assert apply(run, root, platform.url).code == 0
    assert plan(run, root, platform.url).out.startswith("No changes.")


REVIEW = """  - task_type: contributor_evaluation.question
    alias: review
    configuration:
      question_id: question_correct
      layout: {children: []}
"""


def test_contributor_question_changes_are_made_in_place(workdir, platform, run,
                                                        tmp_path) -> None:
    """Adding a contributor question, or changing one's configuration, keeps the evaluation
    (and the human work on it); any other task change still replaces it."""
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    [before] = owned(platform, "quickstart")
    spec = root / "specs" / "capitals.yaml"
    spec.write_text(spec.read_text() + REVIEW)
    planned = plan(run, root, platform.url)
    assert headlines(planned.out) == [
        "# Evaluation/capitals will be updated in place (contributor question task review "
        "added: contributors answer on the existing items; the evaluation, its items and their "
        "answers are kept)"]
    assert planned.out.splitlines()[-1] == ("Plan: 0 to create, 1 to update, 0 to replace, 0 to "
                                            "restore, 0 to archive.")
    assert apply(run, root, platform.url).code == 0
    [after] = owned(platform, "quickstart")
    assert after["id"] == before["id"]
    assert [t["alias"] for t in after["tasks"]] == ["answer", "review"]
    assert plan(run, root, platform.url).out.startswith("No changes.")
    # The contributor task's configuration, changed: PATCH in place.
    edit(spec, "layout: {children: []}", "layout: {children: [], direction: row}")
    assert headlines(plan(run, root, platform.url).out) == [
        "# Evaluation/capitals will be updated in place (contributor task review changed in "
        "place (refused once its work is claimed); the evaluation, its items and their answers "
        "are kept)"]
    saved = tmp_path / "plan.json"
    plan(run, root, platform.url, "-o", str(saved))
    document = json.loads(saved.read_text())
    assert document["actions"][0]["tasks"] == {"add": [], "update": [
        ["review", {"question_id": "question_correct",
                    "layout": {"children": [], "direction": "row"}}]]}
    # When the platform refuses (here: a plan naming a task it does not have), apply says how
    # to start over.
    document["actions"][0]["tasks"]["update"][0][0] = "gone"
    saved.write_text(json.dumps(document))
    refused = apply_saved(run, saved, root, platform.url)
    assert refused.code == 1
    assert ("--replace Evaluation/capitals' to start the evaluation over (its answers are "
            "archived with it)") in refused.out
    assert apply(run, root, platform.url).code == 0
    [changed] = owned(platform, "quickstart")
    assert changed["id"] == before["id"]
    assert changed["tasks"][1]["configuration"]["layout"]["direction"] == "row"
    # Anything else still replaces: the answering model, here, beside a new question.
    edit(spec, "model: openai/gpt-4o-mini", "model: openai/gpt-4o")
    spec.write_text(spec.read_text() + REVIEW.replace("alias: review", "alias: second"))
    assert headlines(plan(run, root, platform.url).out)[0].startswith(
        "# Evaluation/capitals must be replaced (tasks changed)")
    # And --replace replaces even what could change in place.
    edit(spec, "model: openai/gpt-4o\n", "model: openai/gpt-4o-mini\n")
    assert headlines(plan(run, root, platform.url, "--replace", "Evaluation/capitals").out
                     )[0].startswith("# Evaluation/capitals must be replaced")


def test_a_target_that_matches_nothing_is_an_error_not_no_changes(workdir, platform,
                                                                  run) -> None:
    root = workdir("sweep")
    result = plan(run, root, platform.url, "--target", "Evaluation/faq-openai-gpt4o*")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "Error: --target Evaluation/faq-openai-gpt4o*: no address in the specs or on the "
        "platform matches it (did you mean 'Evaluation/faq-openai-gpt-4o-t0.7'?)\n")
    matched = plan(run, root, platform.url, "--target", "Evaluation/faq-openai-gpt-4o-*")
    assert matched.code == 0 and "Plan: 5 to create" in matched.out  # 4 and their dataset
    applied = apply(run, root, platform.url, "--target", "Nothing/here")
    assert applied.code == 1 and "--target Nothing/here: no address" in applied.err


def test_destroy_a_target_only_with_json_events(workdir, platform, run) -> None:
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    before = {e["metadata"]["evalspec.address"] for e in owned(platform, "support-sweep")}
    result = run("destroy", str(root), "--endpoint", platform.url, "--auto-approve",
                 "--target", "Evaluation/faq-openai-gpt-4o-t*", "--format", "json", env=ENV)
    assert result.code == 0, result.err
    events = [json.loads(line) for line in result.out.splitlines()]
    archived = sorted(e["address"] for e in events if e["event"] == "action")
    assert archived == ["Evaluation/faq-openai-gpt-4o-t0.0", "Evaluation/faq-openai-gpt-4o-t0.7"]
    assert all(e["status"] == "done" for e in events if e["event"] == "action")
    assert events[-1]["event"] == "summary"
    after = {e["metadata"]["evalspec.address"] for e in owned(platform, "support-sweep")}
    assert before - after == set(archived)
    none = run("destroy", str(root), "--endpoint", platform.url, "--auto-approve",
               "--target", "Evaluation/nope*", env=ENV)
    assert none.code == 1 and "--target Evaluation/nope*: no address" in none.err


def test_state_rm_disowns_without_archiving(workdir, platform, sdk, run) -> None:
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    [evaluation] = [e for e in owned(platform, "support-sweep")
                    if e["metadata"]["evalspec.address"] == "Evaluation/faq-openai-gpt-4o-t0.0"]
    [group] = sdk.evaluation_groups.list()
    result = run("state", "rm", "EvaluationGroup/faq-sweep", str(root), "--endpoint",
                 platform.url, "--auto-approve", env=ENV)
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == (
        "Removed evalspec's marks from 1 object at EvaluationGroup/faq-sweep.")
    kept = sdk.evaluation_groups.retrieve(group.id)
    assert kept.deleted_at is None and "evalspec:support-sweep" not in kept.tags
    assert not [k for k in (kept.metadata or {}) if k.startswith("evalspec.")]
    assert len([m for m in kept.members if not m.deleted_at]) == 6  # members kept
    assert run("state", "rm", "Evaluation/faq-openai-gpt-4o-t0.0", str(root), "--endpoint",
               platform.url, "--auto-approve", env=ENV).code == 0
    after = sdk.evaluations.retrieve(evaluation["id"])
    assert after.archived_at is None and after.tags == ["team:support", "sweep"]
    assert not [k for k in after.metadata if k.startswith("evalspec.")]
    listed = run("state", "list", str(root), "--endpoint", platform.url, env=ENV).out
    assert evaluation["id"] not in listed and group.id not in listed
    replanned = plan_json(run, root, platform.url)
    # still in the specs: the next plan makes new ones beside the disowned objects
    assert sorted((a["action"], a["address"]) for a in replanned["actions"]) == [
        ("create", "Evaluation/faq-openai-gpt-4o-t0.0"), ("create", "EvaluationGroup/faq-sweep")]
    missing = run("state", "rm", "Evaluation/nope", str(root), "--endpoint", platform.url,
                  "--auto-approve", env=ENV)
    assert missing.code == 1 and "no live object of project 'support-sweep' at Evaluation/nope" \
        in missing.err
