"""The task configurations the local platform accepts: exactly what scale-gp-beta's types do.

``task_schema.json`` beside this file is the JSON Schema of the SDK's ``EvaluationTaskParam``
(every task type's TypedDict, as pydantic renders it), with one thing made explicit: where a
value is typed "X or an item locator" (a number, a boolean, a list... or a string), the string
must be a locator, ``item.<column>``, so ``temperature: "hot"`` is refused as the platform
refuses it. The file is generated from the installed SDK and committed, so the platform needs
no SDK at run time; a test regenerates it and fails on any difference::

    python -m evalspec.platform.task_schema > evalspec/platform/task_schema.json
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("task_schema.json")
LOCATOR = {"type": "string", "pattern": r"^item\.[^\s]+$"}
_LITERAL_TYPES = {"number", "integer", "boolean", "array"}


def _locators(node: Any) -> Any:
    """The schema with every "X or string" union's string branch made a locator."""
    if isinstance(node, list):
        return [_locators(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _locators(v) for k, v in node.items()}
    branches = out.get("anyOf")
    if isinstance(branches, list):
        types = [b.get("type") for b in branches if isinstance(b, dict)]
        if "string" in types and _LITERAL_TYPES & set(types):
            out["anyOf"] = [LOCATOR if isinstance(b, dict) and b.get("type") == "string"
                            and set(b) <= {"type", "title"} else b for b in branches]
    return out


def generate() -> dict[str, Any]:
    """The schema from the installed SDK (a development dependency)."""
    from pydantic import TypeAdapter
    from scale_gp_beta.types import EvaluationTaskParam

    return _locators(TypeAdapter(EvaluationTaskParam).json_schema())  # type: ignore[no-any-return]


def text() -> str:
    return json.dumps(generate(), indent=1, sort_keys=True) + "\n"


@functools.lru_cache(maxsize=1)
def _validators() -> dict[str, Any]:
    """A validator per task type: the union's member whose task_type is that type, so an
    error names the field that is wrong, not "valid under none of 10 schemas"."""
    from jsonschema import Draft202012Validator

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    out: dict[str, Any] = {}
    for branch in schema["anyOf"]:
        name = branch["$ref"].rsplit("/", 1)[1]
        task_type = schema["$defs"][name]["properties"]["task_type"]
        for value in task_type.get("enum") or [task_type.get("const")]:
            out[value] = Draft202012Validator({**branch, "$defs": schema["$defs"]})
    return out


def problem(task: dict[str, Any]) -> tuple[list[str | int], str] | None:
    """The first reason the SDK's types refuse ``task``: (path in the task, message)."""
    from jsonschema.exceptions import best_match

    validator = _validators().get(task.get("task_type"))  # type: ignore[arg-type]
    if validator is None:
        return ["task_type"], f"unknown task type {task.get('task_type')!r}"
    error = best_match(validator.iter_errors(task))
    if error is None:
        return None
    message = error.message if len(error.message) <= 300 else error.message[:300] + "..."
    path: list[str | int] = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        path += [k for k in error.validator_value if k not in error.instance][:1]
    return path, message


if __name__ == "__main__":
    print(text(), end="")
