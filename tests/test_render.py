"""What render shows for the shapes the examples do not cover."""

from __future__ import annotations

import json

from tests.conftest import EVALUATION


def render(run, root) -> dict:
    result = run("render", str(root), "--format", "json")
    assert result.code == 0, result.err
    return {o["address"]: o for o in json.loads(result.out)["objects"]}


def test_unmanaged_dataset_id_and_group_row_identifiers(project, run) -> None:
    spec = EVALUATION.replace("data: [{q: a}]", "dataset: {id: ds_123}") + """\
---
kind: Evaluation
name: other
data: [{k: 1}]
---
kind: EvaluationGroup
name: g
members: [ev, oth*]
row_identifier: {"ev": q, "o*": k}
"""
    objects = render(run, project({"specs/a.yaml": spec}))
    assert objects["Evaluation/ev"]["body"]["dataset_id"] == "ds_123"
    assert "depends_on" not in objects["Evaluation/ev"]
    group = objects["EvaluationGroup/g"]
    assert group["depends_on"] == ["Evaluation/ev", "Evaluation/other"]
    assert group["body"]["row_identifiers"] == {
        "(known after apply: Evaluation/ev)": "q",
        "(known after apply: Evaluation/other)": "k",
    }
    assert group["body"]["metadata"]["evalspec.address"] == "EvaluationGroup/g"


def test_fingerprint_follows_content_not_names(project, run) -> None:
    one = render(run, project({"specs/a.yaml": EVALUATION}))["Evaluation/ev"]
    renamed = EVALUATION.replace("name: ev\n", "name: renamed\ndescription: new words\n")
    two = render(run, project({"specs/a.yaml": renamed}))["Evaluation/renamed"]
    assert one["fingerprint"] == two["fingerprint"]
    hotter = EVALUATION.replace("      model: openai/gpt-4o\n",
                                "      model: openai/gpt-4o\n      temperature: 0.9\n")
    three = render(run, project({"specs/a.yaml": hotter}))["Evaluation/ev"]
    assert three["fingerprint"] != one["fingerprint"]


def test_dataset_fingerprint_flows_into_its_evaluations(project, run) -> None:
    spec = EVALUATION.replace("data: [{q: a}]", "dataset: d") + (
        "---\nkind: Dataset\nname: d\nitems: [{q: a}]\n")
    before = render(run, project({"specs/a.yaml": spec}))
    after = render(run, project({"specs/a.yaml": spec.replace("[{q: a}]\n", "[{q: b}]\n")}))
    assert before["Dataset/d"]["fingerprint"] != after["Dataset/d"]["fingerprint"]
    assert before["Evaluation/ev"]["fingerprint"] != after["Evaluation/ev"]["fingerprint"]


def test_project_wide_evaluation_cap(project, run) -> None:
    specs = {f"specs/{i}.yaml": EVALUATION.replace("name: ev", f"name: ev{i}") for i in range(3)}
    root = project(specs, "project: demo\npolicy:\n  max_evaluations: 2\n")
    result = run("validate", cwd=root)
    assert result.err.splitlines() == [
        "evalspec.yaml:3:20: $.policy.max_evaluations: the project defines 3 evaluations, "
        "over policy.max_evaluations (2)",
        "Found 1 error in 1 file.",
    ]


def test_a_spec_file_path_checks_its_whole_project(run) -> None:
    from tests.conftest import EXAMPLES

    result = run("validate", str(EXAMPLES / "sweep" / "specs" / "support.yaml"))
    assert (result.code, result.out) == (0, "Valid: 1 dataset, 6 evaluations from 1 spec, "
                                            "1 group.\n")


def test_a_locator_in_a_typed_field_renders_as_itself_without_a_warning(project, run) -> None:
    """temperature: item.t is a locator, not a float: it is sent as written, and pydantic's
    serializer warns about nothing (warnings are errors in this suite)."""
    root = project({"specs/a.yaml": (
        "kind: Evaluation\nname: ev\ndata: [{q: a, t: 0.5, n: 64}]\ntasks:\n"
        "  - task_type: chat_completion\n    configuration:\n      model: openai/gpt-4o\n"
        "      temperature: item.t\n      max_tokens: item.n\n"
        "      messages: [{role: user, content: item.q}]\n")})
    result = run("render", str(root), "--format", "json")
    assert (result.code, result.err) == (0, "")
    [evaluation] = json.loads(result.out)["objects"]
    configuration = evaluation["body"]["tasks"][0]["configuration"]
    assert (configuration["temperature"], configuration["max_tokens"]) == ("item.t", "item.n")
