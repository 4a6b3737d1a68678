"""docs/spec-reference.md, generated from the JSON Schema (``evalspec schema --reference``).

One section per definition, in reading order (the project file, then the three kinds, then
what they contain), with a table of fields: type, whether required, default, description.
A test keeps the committed file equal to this output.
"""

from __future__ import annotations

import json
from typing import Any

FIRST = ["ProjectConfig", "Dataset", "Evaluation", "EvaluationGroup", "Lifecycle", "Defaults",
         "Policy", "Message", "ChatCompletionConfig"]
SKIP = {"Resource", "Template", "ItemLocator"}


def _anchor(name: str) -> str:
    return name.lower()


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name == "Template":
            return "`${{ }}` template"
        if name == "ItemLocator":
            return "item locator (`item.x`)"
        return f"[{name}](#{_anchor(name)})"
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            parts = [_type(s) for s in schema[key] if s.get("$ref") != "#/$defs/Template"]
            kept = [p for p in dict.fromkeys(parts) if p != "null"]
            return " or ".join(kept) + (" or null" if "null" in parts else "")
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return f"mapping of string to {_type(extra)}"
        return "mapping"
    if isinstance(kind, list):
        return " or ".join(kind)
    text = str(kind) if kind else "any"
    if "pattern" in schema:
        text += f" matching `{schema['pattern']}`"
    return text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _described(spec: dict[str, Any], definitions: dict[str, Any]) -> str:
    """A field's description, or that of the definition it refers to."""
    if spec.get("description"):
        return str(spec["description"])
    for option in [spec, *spec.get("anyOf", [])]:
        name = option.get("$ref", "").rsplit("/", 1)[-1]
        if name in definitions and name not in SKIP:
            return str(definitions[name].get("description", ""))
    return ""


def _section(name: str, schema: dict[str, Any], definitions: dict[str, Any]) -> list[str]:
    lines = [f"## {name}", ""]
    if schema.get("description"):
        lines += [schema["description"], ""]
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        lines += ["| field | type | required | default | description |",
                  "|---|---|---|---|---|"]
        for field, spec in properties.items():
            default = f"`{json.dumps(spec['default'])}`" if "default" in spec else ""
            lines.append(f"| `{field}` | {_cell(_type(spec))} | "
                         f"{'yes' if field in required else ''} | {_cell(default)} | "
                         f"{_cell(_described(spec, definitions))} |")
        lines.append("")
    if schema.get("additionalProperties") is True and properties:
        lines += ["Other keys are passed to the platform unchanged.", ""]
    if "oneOf" in schema:
        choices = [" and ".join(f"`{r}`" for r in o.get("required", [])) for o in schema["oneOf"]]
        lines += [f"Exactly one of: {', '.join(c for c in choices if c)}.", ""]
    return lines


def render_reference(schema: dict[str, Any]) -> str:
    definitions = schema["$defs"]
    order = FIRST + sorted(n for n in definitions if n not in FIRST and n not in SKIP)
    lines = [
        "# Spec reference",
        "",
        "Generated from `schemas/evalspec.schema.json` by `evalspec schema --reference`; do "
        "not edit by hand. Every field that takes a typed value also accepts a `${{ ... }}` "
        "template (resolved before the value is checked); task configurations also accept "
        "item locators such as `item.question`, resolved by the platform per item.",
        "",
        "A file without `kind` is the project file, evalspec.yaml "
        "([ProjectConfig](#projectconfig)); resource documents have `kind: Dataset`, "
        "`Evaluation` or `EvaluationGroup`.",
        "",
    ]
    for name in order:
        if name in definitions:
            lines += _section(name, definitions[name], definitions)
    return "\n".join(lines).rstrip("\n") + "\n"
