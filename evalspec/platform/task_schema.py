"""The task configurations the local platform accepts: exactly what scale-gp-beta's types do.

``task_schema.json`` beside this file is the JSON Schema of the SDK's ``EvaluationTaskParam``
(every task type's TypedDict, as pydantic renders it), with one thing made explicit: where a
value is typed "X or an item locator" (a number, an object, a list... or a string), the string
must be a locator, ``item.<column>``, so ``temperature: "hot"`` is refused as the platform
refuses it. Only fields the SDK's source annotates with ``ItemLocator`` are read so (a plain
``Union[str, float, bool]``, such as a judge's ``output_values`` or a constant run condition's
``value``, keeps any string). The file is generated from the installed SDK and committed, so
the platform needs no SDK at run time; a test regenerates it and fails on any difference::

    python -m evalspec.platform.task_schema > evalspec/platform/task_schema.json
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("task_schema.json")
LOCATOR = {"type": "string", "pattern": r"^item\.[^\s]+$"}


def _locator_fields(source: str) -> set[tuple[str, str]]:
    """(class, field) of every annotation in ``source`` that names ``ItemLocator``."""
    import ast

    found: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                if (isinstance(statement, ast.AnnAssign)
                        and isinstance(statement.target, ast.Name)
                        and "ItemLocator" in ast.unparse(statement.annotation)):
                    found.add((node.name, statement.target.id))
    return found


def _locator_branch(node: dict[str, Any]) -> dict[str, Any]:
    """A "X or ItemLocator" union with its plain string branch made a locator."""
    branches = node.get("anyOf")
    if not isinstance(branches, list):
        return node
    return {**node, "anyOf": [LOCATOR if isinstance(b, dict) and b.get("type") == "string"
                              and set(b) <= {"type", "title"} else b for b in branches]}


def generate() -> dict[str, Any]:
    """The schema from the installed SDK (a development dependency)."""
    import inspect

    from pydantic import TypeAdapter
    from scale_gp_beta.types import evaluation_task_param
    from scale_gp_beta.types.evaluation_task_param import EvaluationTaskParam

    schema: dict[str, Any] = TypeAdapter(EvaluationTaskParam).json_schema()
    fields = _locator_fields(inspect.getsource(evaluation_task_param))
    for name, definition in schema["$defs"].items():
        properties = definition.get("properties") or {}
        for field, node in properties.items():
            if (name, field) in fields:
                properties[field] = _locator_branch(node)
    return schema


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
