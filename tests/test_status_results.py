"""evalspec status and evalspec results against the local platform over a real socket."""

from __future__ import annotations

import json

import jsonschema
import pytest

from evalspec.plan.refresh import group_metadata
from evalspec.results.results_schema import results_schema
from evalspec.results.results_schema import schema_text as results_schema_text
from evalspec.spec.payloads import FINGERPRINT_TAG_PREFIX
from tests.conftest import ROOT, edit
from tests.test_plan_apply import ENV, apply, owned, plan

SWEEP = [f"faq-{m}-t{t}" for m in ("anthropic-claude-3-5-sonnet", "openai-gpt-4o-mini",
                                   "openai-gpt-4o") for t in ("0.0", "0.7")]
HEADER = ("  EVALUATION                            STATUS     SUCCESSFUL  FAILED  PENDING  "
          "TOTAL  ERRORS")


def status(run, root, url, *args):
    return run("status", str(root), "--endpoint", url, *args, env=ENV)


def test_status_watches_until_every_evaluation_finished(workdir, platform, run) -> None:
    root = workdir("sweep")
    assert apply(run, root, platform.url).code == 0
    result = status(run, root, platform.url, "--watch", "--interval", "0.1")
    assert result.code == 0, result.err
    assert result.out.split("EvaluationGroup/faq-sweep\n", 1)[1] == "\n".join([
        HEADER,
        *(f"  {name:<36}  completed           8       0        0      8       0"
          for name in SWEEP),
        "", "6 evaluations: 6 completed.", ""])
    document = json.loads(status(run, root, platform.url, "--format", "json").out)
    assert document["finished"] is True
    assert document["summary"] == {"total": 6, "completed": 6}
    assert document["evaluations"][0]["items"] == {"total": 8, "successful": 8, "failed": 0,
                                                   "pending": 0}
    assert document["evaluations"][0]["groups"] == ["faq-sweep"]


def test_a_failed_evaluation_fails_status_and_says_why(workdir, serve, run) -> None:
    server = serve(complete_after=0.2, fail_models=("anthropic/*",))
    root = workdir("sweep")
    assert apply(run, root, server.url).code == 0
    result = status(run, root, server.url, "--watch", "--interval", "0.1")
    assert result.code == 1
    lines = result.out.splitlines()
    first = lines[lines.index("EvaluationGroup/faq-sweep") + 2]
    assert first == (f"  {SWEEP[0]:<36}  failed              0       8        0      8"
                     "       1")
    assert lines[-4:] == [
        f"{SWEEP[0]}: every item failed (the emulator fails this model)",
        f"{SWEEP[1]}: every item failed (the emulator fails this model)",
        "", "6 evaluations: 4 completed, 2 failed."]


def test_status_needs_only_the_project_config(workdir, platform, run) -> None:
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    edit(root / "specs" / "capitals.yaml", "kind: Evaluation", "kind: Evaluaton")
    result = status(run, root, platform.url, "--watch", "--interval", "0.1")
    assert result.code == 0, result.err
    assert result.out.startswith("Not in a group\n")
    assert result.out.endswith("1 evaluation: 1 completed.\n")
    empty = status(run, workdir("support-csv"), platform.url)
    assert empty.out.endswith("The project owns no evaluations.\n")


def test_results_of_a_group_are_joined_on_its_row_identifier(project, platform, run,
                                                             tmp_path) -> None:
    task = ("tasks:\n  - task_type: chat_completion\n    alias: answer\n    configuration:\n"
            "      model: openai/gpt-4o\n      messages: [{role: user, content: item.q}]\n")
    root = project({"specs/a.yaml": (
        "kind: Evaluation\nname: a\ndata: [{id: q1, q: one}, {id: q2, q: two}]\n" + task
        + "---\nkind: Evaluation\nname: b\ndata: [{id: q2, q: two}, {id: q3, q: three}]\n"
        + task + "---\nkind: EvaluationGroup\nname: g\nmembers: [a, b]\nrow_identifier: id\n")})
    assert apply(run, root, platform.url).code == 0
    status(run, root, platform.url, "--watch", "--interval", "0.1")
    out = tmp_path / "g.jsonl"
    result = run("results", "g", str(root), "--endpoint", platform.url, "-o", str(out),
                 env=ENV)
    assert result.err == f"Exported 3 rows of EvaluationGroup/g to {out}.\n"
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["row"], sorted(r["evaluations"]), r["missing"]) for r in rows] == [
        ("q1", ["a"], ["b"]), ("q2", ["a", "b"], []), ("q3", ["b"], ["a"])]
    answer = rows[1]["evaluations"]["b"]
    assert answer["data"]["q"] == "two" and answer["data"]["answer"].startswith(
        "[openai/gpt-4o] synthetic output ")
    assert answer["task_result_statuses"] == {"answer": "completed"}
    single = run("results", "Evaluation/a", str(root), "--endpoint", platform.url, env=ENV)
    lines = [json.loads(line) for line in single.out.splitlines()]
    assert [(r["row"], list(r["evaluations"]), r["evaluations"]["a"]["data"]["id"],
             r["missing"]) for r in lines] == [(0, ["a"], "q1", []), (1, ["a"], "q2", [])]
    assert lines[1]["evaluations"]["a"] == rows[1]["evaluations"]["a"]  # one item shape
    validator = jsonschema.Draft202012Validator(results_schema())
    for line in rows + lines:
        validator.validate(line)


def test_results_carry_the_platforms_error_for_failed_tasks(workdir, serve, run) -> None:
    server = serve(complete_after=0.1, fail_models=("openai/*",))
    root = workdir("quickstart")
    assert apply(run, root, server.url).code == 0
    status(run, root, server.url, "--watch", "--interval", "0.1")
    result = run("results", "capitals", str(root), "--endpoint", server.url, env=ENV)
    item = json.loads(result.out.splitlines()[0])["evaluations"]["capitals"]
    assert item["task_result_statuses"] == {"answer": "errored"}
    assert item["task_errors"] == {"answer": {
        "message": "the model returned an error (the emulator fails this model)",
        "type": "model_error"}}


def test_committed_results_schema_is_current(run) -> None:
    committed = (ROOT / "schemas" / "results.schema.json").read_text(encoding="utf-8")
    assert committed == results_schema_text(), (
        "schemas/results.schema.json is out of date: run "
        "'evalspec schema --results > schemas/results.schema.json'")
    assert run("schema", "--results").out == committed
    jsonschema.Draft202012Validator.check_schema(results_schema())


@pytest.mark.parametrize(("name", "message"), [
    ("nope", "Error: project 'demo' owns no evaluation or group named 'nope'; 'evalspec "
             "status' lists its evaluations\n"),
    ("x", "Error: x is both an evaluation and a group; say Evaluation/x or "
          "EvaluationGroup/x\n"),
])
def test_results_names_what_it_cannot_find(project, platform, run, tmp_path, name,
                                           message) -> None:
    root = project({"specs/x.yaml": (
        "kind: Evaluation\nname: x\ndata: [{id: q1}]\ntasks:\n  - task_type: chat_completion\n"
        "    alias: answer\n    configuration:\n      model: openai/gpt-4o\n"
        "      messages: [{role: user, content: hi}]\n"
        "---\nkind: EvaluationGroup\nname: x\nmembers: [x]\n")})
    assert apply(run, root, platform.url).code == 0
    out = tmp_path / "out.jsonl"
    result = run("results", name, str(root), "--endpoint", platform.url, "-o", str(out),
                 env=ENV)
    assert (result.code, result.err) == (1, message)
    assert not out.exists() and not (tmp_path / "out.jsonl.partial").exists()


def test_watching_without_a_terminal_logs_progress_when_it_moves(workdir, serve,
                                                                 run) -> None:
    import re

    server = serve(complete_after=1.5)
    root = workdir("quickstart")
    assert apply(run, root, server.url).code == 0
    result = status(run, root, server.url, "--watch", "--interval", "0.05")
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d 1 evaluation: 1 running\.", lines[0])
    progress = [line for line in lines if line.startswith("  capitals: ")]
    assert progress[0].startswith("  capitals: running, ")
    assert all(re.fullmatch(r"  capitals: running, [0-3]/3 items done \(0 failed\)", line)
               for line in progress)
    assert len(progress) == len(set(progress)) <= 4  # only when it moved
    assert len(lines) == 2 * len(progress)  # each change with its summary, nothing else


def test_replace_runs_an_unchanged_evaluation_again_and_state_lists_both(workdir, platform,
                                                                         run) -> None:
    root = workdir("quickstart")
    assert apply(run, root, platform.url).code == 0
    [old] = owned(platform, "quickstart")
    planned = run("plan", str(root), "--endpoint", platform.url, "--replace", "capitals",
                  env=ENV)
    assert planned.out.splitlines()[2:4] == [
        "  # Evaluation/capitals must be replaced (replacement asked for with --replace): "
        "starts 3 task executions over 1 model",
        "-/+ Evaluation/capitals"]
    replaced = run("apply", str(root), "--endpoint", platform.url, "--auto-approve",
                   "--replace", "Evaluation/capitals", env=ENV)
    assert replaced.out.splitlines()[-1] == (
        "Apply complete: 1 done, 0 failed, 0 skipped; 1 replaced object archived.")
    [new] = owned(platform, "quickstart")
    assert new["id"] != old["id"]
    assert plan(run, root, platform.url).out == "No changes. The platform matches the specs.\n"
    listed = run("state", "list", str(root), "--endpoint", platform.url, env=ENV)
    first, second = sorted([old, new], key=lambda e: e["created_at"])
    width = len(first["id"])
    assert listed.out == (
        f"ADDRESS              {'ID':<{width}}  STATE\n"
        f"Evaluation/capitals  {first['id']}  archived\n"
        f"Evaluation/capitals  {second['id']}  live\n"
        "\n2 objects: 1 live, 1 archived.\n")
    document = json.loads(run("state", "list", str(root), "--endpoint", platform.url,
                              "--format", "json", env=ENV).out)
    assert [(o["id"], o["archived"]) for o in document["objects"]] == [
        (old["id"], True), (new["id"], False)]
    shown = json.loads(run("state", "show", "Evaluation/capitals", str(root), "--endpoint",
                           platform.url, env=ENV).out)
    assert [o["id"] for o in shown["objects"]] == [old["id"], new["id"]]
    missing = run("state", "show", "Evaluation/nope", str(root), "--endpoint", platform.url,
                  env=ENV)
    assert (missing.code, missing.err) == (1, "Error: project 'quickstart' owns nothing at "
                                              "Evaluation/nope; 'evalspec state list' lists "
                                              "what it owns\n")
    unknown = run("apply", str(root), "--endpoint", platform.url, "--auto-approve",
                  "--replace", "Dataset/x", env=ENV)
    assert (unknown.code, unknown.err) == (1, (
        "Error: --replace Dataset/x: no evaluation in the specs has this address (evaluations "
        "are replaced; groups and datasets are updated in place)\n"))


STATE_SPECS = {
    "specs/all.yaml": """\
kind: Dataset
name: faq
items: [{id: r1, q: "¿Qué tal?"}]
---
kind: Evaluation
name: zeta
description: "Évaluation de la FAQ"
dataset: faq
tasks:
  - task_type: chat_completion
    configuration: {model: openai/gpt-4o, messages: [{role: user, content: item.q}]}
---
kind: EvaluationGroup
name: all
members: [zeta]
""",
}


def test_state_lists_and_shows_every_kind_word_for_word(project, platform, run, http) -> None:
    root = project(STATE_SPECS)
    state = ("state", "list", str(root), "--endpoint", platform.url)
    assert run(*state, env=ENV).out == "The project owns nothing on the platform.\n"
    assert apply(run, root, platform.url).code == 0
    [dataset] = http.get("/v5/datasets").json()["items"]
    [evaluation] = http.get("/v5/evaluations", params={"views": "tasks"}).json()["items"]
    [group] = http.get("/v5/evaluation-groups").json()["items"]
    # One more evaluation, tagged and labelled by hand with an address the specs cannot write.
    made = http.post("/v5/evaluations", json={
        "name": "by-hand", "data": [{"q": "x"}], "tags": evaluation["tags"],
        "metadata": {**evaluation["metadata"], "evalspec.address": "Evaluation/café"}}).json()
    width, id_width = len("EvaluationGroup/all"), max(len(dataset["id"]), len(made["id"]),
                                                      len(evaluation["id"]), len(group["id"]))
    rows = [("Dataset/faq", dataset), ("Evaluation/café", made), ("Evaluation/zeta", evaluation),
            ("EvaluationGroup/all", group)]
    assert run(*state, env=ENV).out == "".join(
        [f"{'ADDRESS':<{width}}  {'ID':<{id_width}}  STATE\n"]
        + [f"{address:<{width}}  {o['id']:<{id_width}}  live\n" for address, o in rows]
        + ["\n4 objects: 4 live, 0 archived.\n"])
    fingerprints = {address: group_metadata(o).get("evalspec.fingerprint")
                    for address, o in rows[1:]}
    fingerprints["Dataset/faq"] = next(t.removeprefix(FINGERPRINT_TAG_PREFIX)
                                       for t in dataset["tags"]
                                       if t.startswith(FINGERPRINT_TAG_PREFIX))
    expected = {"project": "demo", "objects": [
        {"address": address, "kind": address.split("/")[0], "id": o["id"], "archived": False,
         "created_at": o["created_at"], "fingerprint": fingerprints[address]}
        for address, o in rows]}
    assert None not in fingerprints.values()
    listed = run(*state, "--format", "json", env=ENV).out
    assert listed == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"
    shown = run("state", "show", "Evaluation/café", str(root), "--endpoint", platform.url,
                env=ENV)
    assert shown.out == json.dumps({"address": "Evaluation/café", "objects": [made]},
                                   indent=2, ensure_ascii=False) + "\n"


def test_state_of_a_single_object(project, platform, run, http) -> None:
    root = project({"specs/faq.yaml": "kind: Dataset\nname: faq\nitems: [{id: r1, q: a}]\n"})
    assert apply(run, root, platform.url).code == 0
    [dataset] = http.get("/v5/datasets").json()["items"]
    assert run("state", "list", str(root), "--endpoint", platform.url, env=ENV).out == (
        f"{'ADDRESS':<11}  {'ID':<{len(dataset['id'])}}  STATE\n"
        f"Dataset/faq  {dataset['id']}  live\n\n1 object: 1 live, 0 archived.\n")
