"""Every example validates and renders; the sweep renders exactly the expected objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

SUMMARIES = {
    "quickstart": "Valid: 0 datasets, 1 evaluation from 1 spec, 0 groups.",
    "sweep": "Valid: 1 dataset, 6 evaluations from 1 spec, 1 group.",
    "support-csv": "Valid: 1 dataset, 1 evaluation from 1 spec, 0 groups.",
    "judge-sweep": "Valid: 1 dataset, 3 evaluations from 1 spec, 1 group.",
    "human-review": "Valid: 0 datasets, 1 evaluation from 1 spec, 0 groups, 1 question, "
                    "1 rubric.",
}


def test_every_example_is_listed() -> None:
    assert sorted(p.name for p in EXAMPLES.iterdir() if (p / "evalspec.yaml").exists()) == sorted(
        SUMMARIES
    )


@pytest.mark.parametrize("name", sorted(SUMMARIES))
def test_example_validates(name: str, run) -> None:
    result = run("validate", str(EXAMPLES / name))
    assert (result.code, result.out.strip(), result.err) == (0, SUMMARIES[name], "")


@pytest.mark.parametrize("name", sorted(SUMMARIES))
def test_example_files_start_with_the_schema_modeline(name: str) -> None:
    for path in [EXAMPLES / name / "evalspec.yaml", *(EXAMPLES / name / "specs").glob("*.yaml")]:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=")
        target = (path.parent / first.split("$schema=", 1)[1]).resolve()
        assert target == (EXAMPLES.parent / "schemas" / "evalspec.schema.json").resolve()


def render_json(run, name: str) -> dict:
    result = run("render", str(EXAMPLES / name), "--format", "json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_sweep_renders_every_instance_in_order(run) -> None:
    doc = render_json(run, "sweep")
    assert doc["project"] == "support-sweep"
    assert [o["address"] for o in doc["objects"]] == [
        "Dataset/support-faq",
        "Evaluation/faq-openai-gpt-4o-t0.0",
        "Evaluation/faq-openai-gpt-4o-t0.7",
        "Evaluation/faq-openai-gpt-4o-mini-t0.0",
        "Evaluation/faq-openai-gpt-4o-mini-t0.7",
        "Evaluation/faq-anthropic-claude-3-5-sonnet-t0.0",
        "Evaluation/faq-anthropic-claude-3-5-sonnet-t0.7",
        "EvaluationGroup/faq-sweep",
    ]
    dataset, first, *_, group = doc["objects"]
    assert dataset["body"]["tags"] == [
        "support", "evalspec:support-sweep", f"evalspec.fingerprint:{dataset['fingerprint']}"
    ]
    assert len(dataset["body"]["data"]) == 8
    assert first["matrix"] == {"model": "openai/gpt-4o", "temperature": 0.0}
    assert first["depends_on"] == ["Dataset/support-faq"]
    body = first["body"]
    assert body["dataset_id"] == "(known after apply: Dataset/support-faq)"
    assert body["tags"] == ["team:support", "sweep", "evalspec:support-sweep"]
    assert body["metadata"] == {
        "owner": "support-evals", "model": "openai/gpt-4o", "temperature": 0.0,
        "evalspec.project": "support-sweep",
        "evalspec.address": "Evaluation/faq-openai-gpt-4o-t0.0",
        "evalspec.fingerprint": first["fingerprint"],
    }
    system_prompt = (EXAMPLES / "sweep/prompts/system.txt").read_text()
    assert body["tasks"] == [{
        "task_type": "chat_completion",
        "alias": "answer",
        "configuration": {
            "model": "openai/gpt-4o",
            "messages": [{"role": "system", "content": system_prompt},
                         {"role": "user", "content": "item.question"}],
            "temperature": 0.0,
            "max_tokens": 512,
        },
    }]
    assert group["body"]["evaluation_ids"] == [
        f"(known after apply: {o['address']})" for o in doc["objects"][1:-1]
    ]
    assert set(group["body"]["row_identifiers"].values()) == {"id"}


def test_fingerprints_are_stable_and_distinct(run) -> None:
    first = render_json(run, "sweep")
    second = render_json(run, "sweep")
    prints = [o["fingerprint"] for o in first["objects"]]
    assert prints == [o["fingerprint"] for o in second["objects"]]
    assert len(set(prints)) == len(prints)
    assert all(len(p) == 64 for p in prints)


def test_support_csv_rows_and_task_types(run) -> None:
    doc = render_json(run, "support-csv")
    dataset, evaluation = doc["objects"]
    assert dataset["body"]["data"][0] == {
        "ticket_id": "T-1001", "channel": "email",
        "question": "My invoice shows two charges for March, why?",
        "reference": "Duplicate charges are refunded within 5 business days.",
    }
    assert len(dataset["body"]["data"]) == 5
    tasks = evaluation["body"]["tasks"]
    assert [t["task_type"] for t in tasks] == [
        "chat_completion", "metric", "auto_evaluation.question", "contributor_evaluation.question"
    ]
    judge = (EXAMPLES / "support-csv/prompts/judge.txt").read_text()
    assert tasks[2]["configuration"] == {
        "model": "openai/gpt-4o", "prompt": judge, "question_id": "consistent-with-reference"
    }


def test_render_yaml_is_a_stream_of_documents(run) -> None:
    import yaml

    result = run("render", str(EXAMPLES / "quickstart"))
    docs = list(yaml.safe_load_all(result.out))
    assert [d["address"] for d in docs] == ["Evaluation/capitals"]
    assert docs[0]["source"].endswith("examples/quickstart/specs/capitals.yaml:2:1")
    assert docs[0]["body"]["data"][2] == {"country": "Kenya", "expected": "Nairobi"}


def test_examples_validate_against_the_published_schema() -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads((EXAMPLES.parent / "schemas/evalspec.schema.json").read_text())
    validator = Draft202012Validator(schema)
    import yaml

    for path in sorted(EXAMPLES.glob("*/evalspec.yaml")) + sorted(EXAMPLES.glob("*/specs/*.yaml")):
        for doc in yaml.safe_load_all(Path(path).read_text()):
            assert list(validator.iter_errors(doc)) == [], path
