from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from evalspec.spec import models, tasks
from evalspec.spec.schema import document_schema, schema_text
from tests.conftest import ROOT

COMMITTED = ROOT / "schemas" / "evalspec.schema.json"


def test_committed_schema_matches_the_models() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema_text(), (
        "schemas/evalspec.schema.json is out of date: run "
        "'evalspec schema > schemas/evalspec.schema.json'"
    )


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(json.loads(COMMITTED.read_text()))


def test_schema_command_prints_it(run) -> None:
    result = run("schema")
    assert result.code == 0 and result.out == COMMITTED.read_text()


def test_every_model_field_is_in_the_schema() -> None:
    defs = document_schema()["$defs"]
    for name, model in [("ProjectConfig", models.ProjectConfig), *models.KINDS.items(),
                        ("ChatCompletionConfig", tasks.ChatCompletionConfig)]:
        assert set(defs[name]["properties"]) == set(model.model_fields), name
        assert defs[name]["additionalProperties"] is False


def test_schema_accepts_templates_where_models_take_typed_values() -> None:
    validator = Draft202012Validator(document_schema())
    doc = {
        "kind": "Evaluation", "name": "x-${{ matrix.m | slug }}",
        "matrix": {"m": "${{ vars.models }}"}, "data": "${{ vars.rows }}",
        "tasks": [{"task_type": "chat_completion", "configuration": {
            "model": "${{ matrix.m }}", "temperature": "${{ matrix.t }}",
            "messages": [{"role": "user", "content": "item.q"}]}}],
    }
    assert list(validator.iter_errors(doc)) == []
    doc["tasks"][0]["configuration"]["temperature"] = "hot"
    assert [e.json_path for e in validator.iter_errors(doc)] == ["$.tasks"]


def test_project_and_resources_are_told_apart_by_kind() -> None:
    validator = Draft202012Validator(document_schema())
    assert list(validator.iter_errors({"project": "demo"})) == []
    assert list(validator.iter_errors({"kind": "Dataset", "name": "d", "items": [{"a": 1}]})) == []
    assert list(validator.iter_errors({"kind": "Dataset", "name": "d"})) != []


def test_committed_spec_reference_is_generated_from_the_schema(run) -> None:
    committed = (ROOT / "docs" / "spec-reference.md").read_text(encoding="utf-8")
    assert committed == run("schema", "--reference").out, (
        "docs/spec-reference.md is out of date: run "
        "'evalspec schema --reference > docs/spec-reference.md'")
    for name in ("ProjectConfig", "Dataset", "Evaluation", "EvaluationGroup", "Policy"):
        assert f"\n## {name}\n" in committed


def _patterns(node, path="$"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield path, value
            elif key == "patternProperties" and isinstance(value, dict):
                yield from ((f"{path}.patternProperties", k) for k in value)
            yield from _patterns(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _patterns(value, f"{path}[{i}]")


def test_every_pattern_in_the_published_schemas_is_ecma_262() -> None:
    """JSON Schema's patterns are ECMA-262 regular expressions: check-jsonschema and
    JavaScript validators refuse Python-only syntax such as an inline (?m) flag, and with it the
    whole schema. Compiled with regress, the engine check-jsonschema uses."""
    import json

    regress = pytest.importorskip("regress")
    found = 0
    for schema in sorted((ROOT / "schemas").glob("*.json")):
        for path, pattern in _patterns(json.loads(schema.read_text(encoding="utf-8"))):
            found += 1
            try:
                regress.Regex(pattern)
            except Exception as exc:  # regress raises its own error type
                pytest.fail(f"{schema.name} {path}: {pattern!r} is not ECMA-262: {exc}")
    assert found > 10


def test_the_function_pattern_finds_a_def_on_any_line() -> None:
    import re

    from evalspec.spec.fields import FUNCTION_PATTERN

    assert re.search(FUNCTION_PATTERN, "def score(item):\n    return 1")
    assert re.search(FUNCTION_PATTERN, "import re\n\nasync def score(item):\n    return 1")
    assert not re.search(FUNCTION_PATTERN, "x = 1  # def f(")
    assert not re.search(FUNCTION_PATTERN, "undef f(x)")
