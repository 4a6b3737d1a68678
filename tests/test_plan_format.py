"""The plan JSON document: its published schema, and every kind of action in one plan."""

from __future__ import annotations

import json

import httpx
from jsonschema import Draft202012Validator

from evalspec.plan import render_markdown as render_markdown_module
from evalspec.plan.model import REPLACED_MEMBER, Action, Change, ItemSync, Plan, Workload
from evalspec.plan.render_markdown import render_markdown
from evalspec.plan.render_text import render_text
from evalspec.plan.schema import schema_text
from tests.conftest import ROOT, edit
from tests.test_plan_apply import apply, apply_saved, owned, plan

COMMITTED = ROOT / "schemas" / "plan.schema.json"


def test_committed_plan_schema_is_current_and_valid(run) -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema_text(), (
        "schemas/plan.schema.json is out of date: run "
        "'evalspec schema --plan > schemas/plan.schema.json'")
    Draft202012Validator.check_schema(json.loads(COMMITTED.read_text()))
    assert run("schema", "--plan").out == schema_text()


def test_a_plan_with_every_kind_of_action_matches_the_schema(workdir, platform, sdk, run,
                                                             tmp_path) -> None:
    root = workdir("sweep")
    capitals = (ROOT / "examples" / "quickstart" / "specs" / "capitals.yaml").read_text()
    (root / "specs" / "capitals.yaml").write_text(capitals)
    assert apply(run, root, platform.url).code == 0
    (root / "specs" / "capitals.yaml").write_text(capitals.replace("temperature: 0.0",
                                                                   "temperature: 0.3"))
    config = root / "evalspec.yaml"
    edit(config,
        "models: [openai/gpt-4o, openai/gpt-4o-mini, anthropic/claude-3-5-sonnet]",
        "models: [openai/gpt-4o, openai/gpt-4o-mini, openai/o3-mini]")
    spec = root / "specs" / "support.yaml"
    edit(spec, "reference answers.", "answers.")
    [archived] = [e for e in owned(platform, "support-sweep")
                  if e["name"] == "faq-openai-gpt-4o-t0.7"]
    sdk.evaluations.archive(archived["id"])
    saved = tmp_path / "plan.json"
    result = plan(run, root, platform.url, "--format", "json", "-o", str(saved))
    document = json.loads(result.out)
    assert json.loads(saved.read_text()) == document
    Draft202012Validator(json.loads(COMMITTED.read_text())).validate(document)
    assert [(a["action"], a["address"]) for a in document["actions"]] == [
        ("update", "Dataset/support-faq"),
        ("replace", "Evaluation/capitals"),
        ("restore", "Evaluation/faq-openai-gpt-4o-t0.7"),
        ("create", "Evaluation/faq-openai-o3-mini-t0.0"),
        ("create", "Evaluation/faq-openai-o3-mini-t0.7"),
        ("archive", "Evaluation/faq-anthropic-claude-3-5-sonnet-t0.0"),
        ("archive", "Evaluation/faq-anthropic-claude-3-5-sonnet-t0.7"),
        ("update", "EvaluationGroup/faq-sweep"),
    ]
    assert document["summary"] == {"create": 2, "update": 2, "replace": 1, "restore": 1,
                                   "archive": 2, "task_executions": 19}
    # A saved plan reads back whole: every field of every kind of action.
    assert json.loads(run("show", str(saved), "--format", "json").out) == document
    assert run("show", str(saved)).out == (f"Plan for project 'support-sweep' on "
                                           f"{platform.url}\n\n"
                                           + plan(run, root, platform.url).out)


def test_item_level_dataset_changes_match_the_schema(workdir, platform, run, tmp_path) -> None:
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    data = root / "data" / "support-faq.jsonl"
    rows = data.read_text().splitlines()
    data.write_text("\n".join(rows[1:] + [json.dumps({"id": "faq-100", "question": "Hi?",
                                                      "reference": "Hello."})]) + "\n")
    saved = tmp_path / "plan.json"
    document = json.loads(plan(run, root, platform.url, "--format", "json", "-o",
                               str(saved)).out)
    Draft202012Validator(json.loads(COMMITTED.read_text())).validate(document)
    assert json.loads(run("show", str(saved), "--format", "json").out) == document
    [dataset] = [a for a in document["actions"] if a["kind"] == "Dataset"]
    assert (len(dataset["items"]["add"]), dataset["items"]["update"],
            len(dataset["items"]["remove"])) == (1, [], 1)
    assert dataset["items"]["add"][0]["id"] == "faq-100"


def test_a_damaged_saved_plan_is_refused_with_the_place(workdir, platform, run,
                                                        tmp_path) -> None:
    root = workdir("quickstart")
    saved = tmp_path / "plan.json"
    plan(run, root, platform.url, "-o", str(saved))
    document = json.loads(saved.read_text())
    document["actions"][0]["action"] = "delete"
    saved.write_text(json.dumps(document))
    result = apply_saved(run, saved, root, platform.url)
    assert (result.code, result.err) == (1, (
        f"Error: {saved}: not an evalspec plan: $.actions[0].action: 'delete' is not one of "
        "['create', 'update', 'replace', 'restore', 'archive']\n"))
    document["project"] = 5  # of two damaged places, the first by path is reported
    saved.write_text(json.dumps(document))
    assert apply_saved(run, saved, root, platform.url).err == result.err
    # A plan file listing errors (plan never saves one) is refused with them.
    saved.write_text(json.dumps({**document, "project": "quickstart", "actions": [],
                                 "errors": ["refused by hand"]}))
    refused = apply_saved(run, saved, root, platform.url)
    assert (refused.code, refused.err) == (1, "Error: refused by hand\n")
    document["format_version"] = 1  # made by an evalspec before plans recorded their specs
    saved.write_text(json.dumps(document))
    assert apply_saved(run, saved, root, platform.url).err == (
        f"Error: {saved}: plan format_version 1 is not 2; make the plan again with this "
        "evalspec\n")
    saved.write_text("{")
    assert apply_saved(run, saved, root, platform.url).err.startswith(
        f"Error: {saved}: cannot read the saved plan: Expecting property name")
    assert httpx.get(f"{platform.url}/v5/evaluations", headers={"x-api-key": "k"}
                     ).json()["items"] == []


def test_a_creates_workload_counts_rows_tasks_and_the_models_they_run_on(workdir, platform,
                                                                         run, tmp_path) -> None:
    """A judge runs on its own model: the members it judges run on two (the judge is
    openai/gpt-4o, so the gpt-4o member runs on one)."""
    saved = tmp_path / "plan.json"
    result = plan(run, workdir("judge-sweep"), platform.url, "-o", str(saved))
    assert [line for line in result.out.splitlines() if line.startswith("  # Evaluation/")] == [
        "  # Evaluation/faq-openai-gpt-4o will be created: starts 180 task executions over "
        "1 model",
        "  # Evaluation/faq-openai-gpt-4o-mini will be created: starts 180 task executions "
        "over 2 models",
        "  # Evaluation/faq-anthropic-claude-3-5-sonnet will be created: starts 180 task "
        "executions over 2 models"]
    workloads = {a["address"]: a.get("workload") for a in json.loads(saved.read_text())["actions"]}
    assert workloads == {
        "Dataset/support-faq": None,
        "Evaluation/faq-openai-gpt-4o": {
            "items": 60, "tasks": 3, "task_executions": 180, "models": ["openai/gpt-4o"]},
        "Evaluation/faq-openai-gpt-4o-mini": {
            "items": 60, "tasks": 3, "task_executions": 180,
            "models": ["openai/gpt-4o-mini", "openai/gpt-4o"]},
        "Evaluation/faq-anthropic-claude-3-5-sonnet": {
            "items": 60, "tasks": 3, "task_executions": 180,
            "models": ["anthropic/claude-3-5-sonnet", "openai/gpt-4o"]},
        "EvaluationGroup/faq-judged": None}


def _markdown_plan() -> Plan:
    create = Action("create", "Evaluation/new", "Evaluation", desired={"body": {
        "description": "New", "tags": ["x", "evalspec:demo"], "data": [{"q": 1}, {"q": 2}],
        "tasks": [{"task_type": "chat_completion", "alias": "a",
                   "configuration": {"model": "m", "temperature": 0.2}}]}},
        workload=Workload(2, 1, ("m",)))
    update = Action("update", "Evaluation/old", "Evaluation", reasons=("description changed",),
                    changes=(Change("description", "a", "b"),
                             Change("prompt", "one\ntwo\nthree", "one\nTWO\nthree")))
    items = Action("update", "Dataset/faq", "Dataset",
                   items=ItemSync(({"id": "r9"},), (), ("r1",)))
    return Plan("demo", "local", (create, update, items), warnings=("a.yaml:1:1: warning: w",))


def test_markdown_plan_sections_markers_and_context_lines() -> None:
    """Warnings under the title; a section per kind of action, named by its verb; in the
    diff block, updates marked '!' (GitHub colours it) and lines of ours without a diff
    prefix (item counts, a prompt's unchanged lines) given a space, so they read as context."""
    assert render_markdown(_markdown_plan()) == """\
<!-- evalspec-plan -->
### evalspec plan for `demo` on `local`

> [!WARNING]
> - a.yaml:1:1: warning: w

| action | count |
|---|---:|
| create | 1 |
| update | 2 |
| replace | 0 |
| restore | 0 |
| archive | 0 |
| task executions started | 2 |

`Plan: 1 to create, 2 to update, 0 to replace, 0 to restore, 0 to archive. Starts 2 task \
executions.`

<details><summary>1 created</summary>

```diff
# Evaluation/new will be created: starts 2 task executions over 1 model
+ Evaluation/new
+ description: "New"
+ tags: ["x"]
+ items: 2
+ task a: chat_completion m (temperature 0.2)
```

</details>

<details><summary>2 updated in place</summary>

```diff
# Evaluation/old will be updated in place (description changed)
! Evaluation/old
~ description: "a" -> "b"
~ prompt:
@@ -1,3 +1,3 @@
 one
-two
+TWO
 three
# Dataset/faq will be updated in place
! Dataset/faq
 items: +1 added, ~0 updated, -1 removed
```

</details>
"""


def test_markdown_plan_shows_the_lines_that_fit_its_budget(monkeypatch) -> None:
    """Lines count with their newline, from the top of the comment; a section shows lines
    while the count stays within the budget, then says how many it left out."""
    plan = _markdown_plan()
    full = render_markdown(plan)
    header = len(full[:full.index("<details>")])
    first, second = "# Evaluation/new will be created: starts 2 task executions over 1 model", \
        "+ Evaluation/new"
    monkeypatch.setattr(render_markdown_module, "BUDGET",
                        header + len(first) + 1 + len(second) + 1)
    cut = render_markdown(plan)
    assert cut[cut.index("```diff"):cut.index("</details>")] == (
        f"```diff\n{first}\n{second}\n... cut to fit a comment: 4 more lines; the full plan "
        "is in the job's log\n```\n\n")
    monkeypatch.setattr(render_markdown_module, "BUDGET", header + len(first) + len(second) + 1)
    cut = render_markdown(plan)
    assert cut[cut.index("```diff"):cut.index("</details>")] == (
        f"```diff\n{first}\n... cut to fit a comment: 5 more lines; the full plan is in the "
        "job's log\n```\n\n")


def test_text_plan_shows_each_change_inline_as_a_diff_or_item_by_item() -> None:
    """Strings over 60 characters or with a newline get a line diff; lists of strings and
    mappings with more than 4 entries in all are shown entry by entry, a member replaced in
    the same apply marked '~' instead of '+' and '-'."""
    changes = (
        Change("a60", "x" * 60, "y" * 60),
        Change("a61", "x" * 61, "y"),
        Change("lines", "one\ntwo", "one"),
        Change("grown", "one", "one\ntwo"),
        Change("prompt", "1\n2\n3\n4\n5", "1\n2\n3\nfour\n5"),  # one line of context
        Change("tags", ["a", "b"], ["a", "ç"]),
        Change("description", "café", "thé"),
        Change("tags5", ["a", "b"], ["a", "b", "c"]),
        Change("members", ["m1", "m2", "m3"],
               ["m1", f"m3 {REPLACED_MEMBER}", "m4", f"m9 {REPLACED_MEMBER}", f"m2 {'z' * 36}"]),
        Change("meta4", {"k1": 1, "k2": 2}, {"k1": 1, "k2": 3}),
        Change("meta5", {"gone": 1}, {"new": 2, "same": 3, "changed": 4, "more": 5}),
        Change("meta", {"gone": 1, "same": 3, "changed": 4}, {"same": 3, "changed": 5, "new": 2}),
    )
    plan = Plan("demo", "local", (Action("update", "EvaluationGroup/g", "EvaluationGroup",
                                         changes=changes),))
    assert render_text(plan) == f"""\
evalspec will perform the following actions:

  # EvaluationGroup/g will be updated in place
  ~ EvaluationGroup/g
      ~ a60: "{'x' * 60}" -> "{'y' * 60}"
      ~ a61:
          @@ -1 +1 @@
          -{'x' * 61}
          +y
      ~ lines:
          @@ -1,2 +1 @@
           one
          -two
      ~ grown:
          @@ -1 +1,2 @@
           one
          +two
      ~ prompt:
          @@ -3,3 +3,3 @@
           3
          -4
          +four
           5
      ~ tags: ["a", "b"] -> ["a", "ç"]
      ~ description: "café" -> "thé"
      ~ tags5:
          + c
      ~ members:
          ~ m3 {REPLACED_MEMBER}
          + m4
          + m9 {REPLACED_MEMBER}
          + m2 {'z' * 36}
          - m2
      ~ meta4: {{"k1": 1, "k2": 2}} -> {{"k1": 1, "k2": 3}}
      ~ meta5:
          - gone: 1
          + new: 2
          + same: 3
          + changed: 4
          + more: 5
      ~ meta:
          - gone: 1
          ~ changed: 4 -> 5
          + new: 2

Plan: 0 to create, 1 to update, 0 to replace, 0 to restore, 0 to archive.
"""


def test_text_plan_shows_what_a_reviewer_needs_of_a_new_object() -> None:
    """No evalspec tags, no empty description; the dataset by id; each task by alias with its
    model, temperature and max_tokens (other settings are in the JSON plan); a group's
    member count; the executions over how many models."""
    evaluation = Action("create", "Evaluation/e", "Evaluation", desired={"body": {
        "dataset_id": "dataset_1", "tags": ["evalspec:demo", "evalspec.fingerprint:ab"],
        "tasks": [{"task_type": "chat_completion", "alias": "answer", "configuration": {
                       "model": "m", "temperature": 0.2, "max_tokens": 100, "top_p": 1}},
                  {"task_type": "metric", "alias": "score", "configuration": {"type": "rouge"}},
                  {"task_type": "chat_completion", "configuration": {"model": "m2"}}]}},
        workload=Workload(3, 2, ("m", "m2")))
    group = Action("create", "EvaluationGroup/g", "EvaluationGroup", desired={"body": {
        "description": "", "evaluation_ids": ["a", "b"]}})
    assert render_text(Plan("demo", "local", (evaluation, group))) == """\
evalspec will perform the following actions:

  # Evaluation/e will be created: starts 6 task executions over 2 models
  + Evaluation/e
      + dataset_id: dataset_1
      + task answer: chat_completion m (temperature 0.2, max_tokens 100)
      + task score: metric rouge
      + task chat_completion: chat_completion m2

  # EvaluationGroup/g will be created
  + EvaluationGroup/g
      + members: 2

Plan: 2 to create, 0 to update, 0 to replace, 0 to restore, 0 to archive. Starts 6 task \
executions.
"""
    coloured = render_text(Plan("demo", "local", (evaluation, group)), colour=True)
    assert coloured.splitlines()[3] == "\x1b[32m  + Evaluation/e\x1b[0m"
