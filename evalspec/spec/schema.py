"""The published JSON Schema (draft 2020-12), generated from :mod:`evalspec.spec.models`.

Source documents are checked against it before templating, so wherever a typed value goes
(numbers, booleans, lists, patterned strings, nested objects) a string holding a ``${{ ... }}``
expression is accepted too; the rendered value is checked by the models afterwards.

``schemas/evalspec.schema.json`` is this module's output; a test fails when they differ.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from pydantic.json_schema import models_json_schema

from evalspec.spec import fields, models

SCHEMA_ID = "urn:evalspec:schema:v1"
TEMPLATE_REF = {"$ref": "#/$defs/Template"}
LOCATOR_REF = {"$ref": "#/$defs/ItemLocator"}
# Values that select a schema stay literal so editors and error reports can rely on them.
_NOT_TEMPLATED = frozenset(("kind", "apiVersion", "task_type", "endpoint"))
_DATA_OR_DATASET = {
    "oneOf": [{"required": ["data"]}, {"required": ["dataset"]}],
}


def _strip_titles(node: Any, top: bool = True, names: bool = False) -> Any:
    """The schema without pydantic's generated titles (``names``: the keys of ``node`` are
    property names, where a property called "title" is kept)."""
    if isinstance(node, dict):
        return {
            k: _strip_titles(v, False, k == "properties" and not names)
            for k, v in node.items()
            if names or not (k == "title" and not top)
        }
    if isinstance(node, list):
        return [_strip_titles(v, False) for v in node]
    return node


def _templatable(node: dict[str, Any]) -> bool:
    if node.get("type") == "string" and not ({"pattern", "enum", "const", "format"} & set(node)):
        return False
    if "anyOf" in node and all(
        s.get("type") in ("string", "null") and len(s) == 1 for s in node["anyOf"]
    ):
        return False
    return True


def _allow_templates(node: Any) -> Any:
    """Wrap every typed value position in ``anyOf: [value, Template]``."""
    if isinstance(node, list):
        return [_allow_templates(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {p: _wrap(_allow_templates(s), p) for p, s in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _wrap(_allow_templates(value), None)
        elif key in ("anyOf", "oneOf", "allOf", "$defs"):
            out[key] = (
                {k: _allow_templates(v) for k, v in value.items()}
                if isinstance(value, dict) else [_allow_templates(v) for v in value]
            )
        else:
            out[key] = value
    return out


def _wrap(node: dict[str, Any], name: str | None) -> dict[str, Any]:
    if name in _NOT_TEMPLATED or not _templatable(node):
        return node
    if "anyOf" in node:
        return {**node, "anyOf": [*node["anyOf"], TEMPLATE_REF]}
    annotations: dict[str, Any] = {k: node[k] for k in ("description", "default") if k in node}
    inner = {k: v for k, v in node.items() if k not in annotations}
    return {"anyOf": [inner, TEMPLATE_REF], **annotations}


def _question_configurations(defs: dict[str, Any]) -> list[dict[str, Any]]:
    """A question's configuration, checked by its question_type (and required where the
    platform requires it)."""
    rules = []
    for question_type, (model, required) in models.QUESTION_CONFIGS.items():
        schema = model.model_json_schema(ref_template="#/$defs/{model}")
        defs[model.__name__] = _strip_titles(schema)
        then: dict[str, Any] = {"properties": {"configuration": {
            "$ref": f"#/$defs/{model.__name__}"}}}
        if required:
            then["required"] = ["configuration"]
        rules.append({"if": {"properties": {"question_type": {"const": question_type}},
                             "required": ["question_type"]}, "then": then})
    return rules


@functools.lru_cache(maxsize=1)
def document_schema() -> dict[str, Any]:
    """The full schema: evalspec.yaml when a document has no ``kind``, else a resource."""
    _, generated = models_json_schema(
        [(m, "validation") for m in (models.ProjectConfig, models.Dataset, models.Evaluation,
                                     models.EvaluationGroup, models.Question, models.Rubric)],
        ref_template="#/$defs/{model}",
    )
    defs = _strip_titles(generated["$defs"])
    defs["Evaluation"] = {**defs["Evaluation"], **_DATA_OR_DATASET}
    defs["Question"] = {**defs["Question"], "allOf": _question_configurations(defs)}
    defs = _allow_templates({"$defs": defs})["$defs"]
    defs["Template"] = {
        "type": "string",
        "pattern": fields.TEMPLATE_PATTERN,
        "description": "A ${{ ... }} expression, resolved before the value is checked.",
    }
    defs["ItemLocator"] = {
        "type": "string",
        "pattern": fields.LOCATOR_PATTERN,
        "description": "A reference to an item field, resolved by the platform per item.",
    }
    kinds = list(models.KINDS)
    defs["Resource"] = {
        "type": "object",
        "required": ["kind", "name"],
        "properties": {"kind": {"enum": kinds}},
        "allOf": [
            {"if": {"properties": {"kind": {"const": k}}, "required": ["kind"]},
             "then": {"$ref": f"#/$defs/{k}"}}
            for k in kinds
        ],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "evalspec",
        "description": "evalspec.yaml (no 'kind') or a resource document "
        "(kind: Dataset, Evaluation, EvaluationGroup, Question or Rubric).",
        "if": {"required": ["kind"]},
        "then": {"$ref": "#/$defs/Resource"},
        "else": {"$ref": "#/$defs/ProjectConfig"},
        "$defs": dict(sorted(defs.items())),
    }


def schema_text() -> str:
    return json.dumps(document_schema(), indent=2, ensure_ascii=False) + "\n"


@functools.cache
def validator_for(definition: str) -> Any:
    """A compiled validator for one ``$defs`` entry (``ProjectConfig``, ``Evaluation``...)."""
    from jsonschema import Draft202012Validator  # lazy: ~0.1 s of imports

    schema = document_schema()  # shared, not copied: validators only read their schema
    root = {"$schema": schema["$schema"], "$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]}
    return Draft202012Validator(root)
