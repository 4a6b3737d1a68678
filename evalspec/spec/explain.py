"""Plain-words messages for schema failures, from jsonschema and from pydantic alike.

Both validators describe the same rules, so both are translated into one vocabulary here:
"missing required key 'model'", "unknown key 'tempurature' (did you mean 'temperature'?)",
"must be at most 2, got 3.5", "expected a number or an item locator, got 'hot'".

Each explanation is ``(path, message, at_key)``; ``at_key`` asks for the location of the mapping
key rather than of its value (unknown and duplicate keys).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from evalspec.errors import JsonPath
from evalspec.spec.fields import PATTERN_MESSAGES
from evalspec.spec.template import suggest

Explanation = tuple[JsonPath, str, bool]

_TYPE_NAMES = {
    "string": "a string", "number": "a number", "integer": "an integer", "boolean": "a boolean",
    "array": "a list", "object": "a mapping", "null": "null",
}
_DISCRIMINATORS = ("task_type", "kind")
_ALTERNATIVES = {"#/$defs/Template": "a ${{ }} expression",
                 "#/$defs/ItemLocator": "an item locator such as 'item.input'"}


def shorten(text: str) -> str:
    """``text`` cut to 60 characters for a message about it."""
    return text if len(text) <= 60 else text[:57] + "..."


def show(value: Any) -> str:
    """A short rendering of a user's value for messages."""
    if isinstance(value, str):
        return repr(shorten(value))
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))
    return repr(value)


def _pattern_message(pattern: str, value: Any) -> str:
    text = PATTERN_MESSAGES.get(pattern, f"must match the pattern {pattern}")
    return f"{text}, got {show(value)}"


# --- jsonschema -------------------------------------------------------------------------------

def _describe(schema: dict[str, Any]) -> str:
    """What a schema branch accepts, for "expected X or Y" messages."""
    ref = schema.get("$ref")
    if ref in _ALTERNATIVES:
        return _ALTERNATIVES[ref]
    if ref:
        return "a mapping"
    if "anyOf" in schema:
        return " or ".join(_describe(s) for s in schema["anyOf"])
    if schema.get("pattern") == "^file://.+":
        return "a file:// reference"
    kind = schema.get("type")
    if kind == "array" and isinstance(schema.get("items"), dict):
        items = schema["items"]
        items = next((b for b in items.get("anyOf", []) if not _is_alternative(b)), items)
        if items.get("type") == "object" or "$ref" in items:
            return "a list of mappings"
        if items.get("type") == "string":
            return "a list of strings"
    if isinstance(kind, str):
        return _TYPE_NAMES.get(kind, kind)
    if "enum" in schema:
        return "one of " + ", ".join(map(show, schema["enum"]))
    return "a valid value"


def _is_alternative(schema: dict[str, Any]) -> bool:
    return schema.get("$ref") in _ALTERNATIVES or schema == {"type": "null"}


def _branch_matches(errors: list[Any], base: tuple[Any, ...]) -> bool:
    """False when a branch failed on the value's type or on a discriminator."""
    for e in errors:
        path = tuple(e.absolute_path)
        if path == base and e.validator == "type":
            return False
        if (len(path) == len(base) + 1 and path[-1] in _DISCRIMINATORS
                and e.validator in ("const", "enum")):
            return False
        if path == base and e.validator == "required" and any(
            d in e.validator_value for d in _DISCRIMINATORS
        ):
            return False
    return True


def explain_jsonschema(error: Any) -> Iterator[Explanation]:
    path: JsonPath = tuple(error.absolute_path)
    v, value, instance = error.validator, error.validator_value, error.instance
    if "propertyNames" in error.absolute_schema_path and isinstance(instance, str):
        # The failing value is a key: report it at the key itself.
        if v == "enum":
            hint = suggest(instance, [str(x) for x in value])
            yield (*path, instance), (f"unknown key '{instance}'{hint}; expected one of "
                                      f"{', '.join(map(str, value))}"), True
        else:
            yield (*path, instance), f"key '{instance}' is not allowed here", True
        return
    if v in ("anyOf", "oneOf"):
        yield from _explain_union(error, path)
    elif v == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        for key in instance:
            if key not in known:
                yield (*path, key), f"unknown key '{key}'{suggest(key, known)}", True
    elif v == "required":
        for key in value:
            if key not in instance:
                yield path, f"missing required key '{key}'", False
    elif v == "type":
        expected = value if isinstance(value, list) else [value]
        names = " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in expected)
        yield path, f"expected {names}, got {show(instance)}", False
    elif v == "const":
        yield path, f"must be {show(value)}, got {show(instance)}", False
    elif v == "enum":
        hint = suggest(instance, [str(x) for x in value]) if isinstance(instance, str) else ""
        choices = ", ".join(show(x) for x in value)
        yield path, f"must be one of {choices}; got {show(instance)}{hint}", False
    elif v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {"minimum": "at least", "maximum": "at most",
                 "exclusiveMinimum": "greater than", "exclusiveMaximum": "less than"}[v]
        yield path, f"must be {words} {_number(value)}, got {show(instance)}", False
    elif v == "minItems":
        need = "must not be empty" if value == 1 else f"must have at least {value} items"
        yield path, need, False
    elif v == "minLength":
        need = "must not be empty" if value == 1 else f"must be at least {value} characters"
        yield path, need, False
    elif v == "maxLength":
        yield path, f"must be at most {value} characters, got {len(instance)}", False
    elif v == "pattern":
        yield path, _pattern_message(value, instance), False
    elif v == "propertyNames":
        yield path, f"key {show(instance)} is not allowed here", False
    else:
        yield path, error.message, False


def _explain_union(error: Any, path: JsonPath) -> Iterator[Explanation]:
    branches = error.validator_value
    if all(set(b) == {"required"} for b in branches):
        keys = " or ".join(f"'{b['required'][0]}'" for b in branches)
        yield path, f"exactly one of {keys} is required", False
        return
    grouped: dict[int, list[Any]] = {}
    for sub in error.context:
        grouped.setdefault(sub.relative_schema_path[0], []).append(sub)
    discriminator = error.schema.get("discriminator")
    if discriminator and isinstance(error.instance, dict):
        yield from _explain_tagged(error, path, discriminator, grouped)
        return
    candidates = [
        errs for i, errs in sorted(grouped.items())
        if not _is_alternative(branches[i]) and _branch_matches(errs, tuple(path))
    ]
    if candidates:
        for sub in min(candidates, key=len):
            yield from explain_jsonschema(sub)
        return
    shown = [b for b in branches if not _is_alternative(b)] or branches
    names = " or ".join(dict.fromkeys(_describe(b) for b in shown))
    yield path, f"expected {names}, got {show(error.instance)}", False


def _explain_tagged(error: Any, path: JsonPath, discriminator: dict[str, Any],
                    grouped: dict[int, list[Any]]) -> Iterator[Explanation]:
    """A union chosen by one property, such as ``task_type``: explain the chosen branch."""
    prop, mapping = discriminator["propertyName"], discriminator.get("mapping", {})
    tag = error.instance.get(prop)
    if tag is None:
        yield path, f"missing required key '{prop}'", False
        return
    if not isinstance(tag, str) or tag not in mapping:  # a list or mapping is no tag either
        tags = list(mapping)
        hint = suggest(tag, tags) if isinstance(tag, str) else ""
        yield (*path, prop), (f"unknown {prop} {show(tag)}{hint}; expected one of "
                              f"{', '.join(tags)}"), False
        return
    for i, branch in enumerate(error.validator_value):
        if branch.get("$ref") == mapping[tag]:
            for sub in grouped.get(i, []):
                yield from explain_jsonschema(sub)


# --- pydantic ---------------------------------------------------------------------------------

_PYDANTIC_TYPES = {
    "string_type": "a string", "int_type": "an integer", "float_type": "a number",
    "bool_type": "a boolean", "list_type": "a list", "dict_type": "a mapping",
    "model_type": "a mapping", "model_attributes_type": "a mapping",
    "int_from_float": "an integer", "is_instance_of": "a valid value",
}


def _real_path(loc: tuple[Any, ...], value: Any, missing: bool) -> JsonPath:
    """Drop pydantic's union labels from ``loc`` by walking the validated input.

    A part of ``loc`` that is not a key or index of the input at that point is a label
    (``constrained-str``, ``chat_completion``, ...), except the last part of a missing key.
    """
    path: list[str | int] = []
    last = len(loc) - 1
    for i, part in enumerate(loc):
        if isinstance(value, dict) and isinstance(part, str) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        elif not (missing and i == last and isinstance(value, dict)):
            continue
        path.append(part)
    return tuple(path)


def _single(err: Mapping[str, Any], path: JsonPath) -> Explanation:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "missing":
        return path[:-1], f"missing required key '{path[-1]}'", False
    if kind == "extra_forbidden":
        return path, f"unknown key '{path[-1]}'", True
    if kind in _PYDANTIC_TYPES:
        return path, f"expected {_PYDANTIC_TYPES[kind]}, got {show(value)}", False
    if kind == "literal_error":
        return path, f"must be one of {ctx.get('expected')}; got {show(value)}", False
    if kind == "union_tag_invalid":
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        hint = suggest(str(ctx.get("tag")), tags)
        return (*path, ctx.get("discriminator", "").strip("'")), (
            f"unknown {ctx.get('discriminator', '').strip(chr(39))} {show(ctx.get('tag'))}{hint}; "
            f"expected one of {ctx.get('expected_tags')}"
        ), False
    if kind == "union_tag_not_found":
        return path, f"missing required key {ctx.get('discriminator')}", False
    bounds = {"greater_than_equal": ("at least", "ge"), "less_than_equal": ("at most", "le"),
              "greater_than": ("greater than", "gt"), "less_than": ("less than", "lt")}
    if kind in bounds:
        words, key = bounds[kind]
        return path, f"must be {words} {_number(ctx.get(key))}, got {show(value)}", False
    if kind == "finite_number":
        return path, f"must be a finite number, got {show(value)}", False
    if kind == "string_pattern_mismatch":
        return path, _pattern_message(ctx.get("pattern", ""), value), False
    if kind == "string_too_short":
        return path, "must not be empty", False
    if kind == "string_too_long":
        length = len(value) if isinstance(value, str) else 0
        return path, f"must be at most {ctx.get('max_length')} characters, got {length}", False
    if kind == "too_short":
        n = ctx.get("min_length")
        return path, "must not be empty" if n == 1 else f"must have at least {n} items", False
    if kind == "value_error":
        return path, str(err["msg"]).removeprefix("Value error, "), False
    return path, str(err["msg"]), False


def explain_pydantic(errors: Sequence[Mapping[str, Any]], data: Any) -> Iterator[Explanation]:
    """Translate ``ValidationError.errors()`` for ``data``; union alternatives are merged."""
    grouped: dict[JsonPath, list[Mapping[str, Any]]] = {}
    for err in errors:
        path = _real_path(tuple(err["loc"]), data, err["type"] == "missing")
        grouped.setdefault(path, []).append(err)
    for path, errs in grouped.items():
        typed = [e for e in errs if e["type"] in _PYDANTIC_TYPES or e["type"] in (
            "string_pattern_mismatch", "literal_error")]
        if len(errs) > 1 and len(typed) == len(errs):
            names = []
            for e in errs:
                if e["type"] == "string_pattern_mismatch":
                    pattern = (e.get("ctx") or {}).get("pattern", "")
                    names.append("an item locator such as 'item.input'"
                                 if pattern.startswith("^item") else "a file:// reference"
                                 if pattern.startswith("^file") else "a string")
                else:
                    names.append(_PYDANTIC_TYPES.get(e["type"], "a valid value"))
            joined = " or ".join(dict.fromkeys(names))
            yield path, f"expected {joined}, got {show(errs[0].get('input'))}", False
            continue
        for e in (e for e in errs if e not in typed) if len(errs) > 1 else errs:
            yield _single(e, path)
