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
    python -m evalspec.platform.task_schema questions > evalspec/platform/question_schema.json

``question_schema.json`` holds the question, rubric and criterion bodies the same way.
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


QUESTION_SCHEMA_PATH = Path(__file__).with_name("question_schema.json")


def generate_questions() -> dict[str, Any]:
    """The bodies of questions and rubrics (``$defs``: Question, RubricCreate, RubricUpdate,
    CriterionCreate, CriterionUpdate), from the installed SDK's param types."""
    from pydantic import TypeAdapter
    from scale_gp_beta.types import (
        question_create_params,
        question_update_params,
        rubric_create_params,
        rubric_update_params,
    )
    from scale_gp_beta.types.rubrics import criterion_create_params, criterion_update_params

    roots: dict[str, Any] = {
        "Question": question_create_params.Question,
        "QuestionUpdate": question_update_params.QuestionUpdateParams,
        "RubricCreate": rubric_create_params.RubricCreateParams,
        "RubricUpdate": rubric_update_params.Rubric,
        "CriterionCreate": criterion_create_params.CriterionCreateParams,
        "CriterionUpdate": criterion_update_params.CriterionUpdateParams,
    }
    out: dict[str, Any] = {"$defs": {}}
    for name, tp in roots.items():
        schema = TypeAdapter(tp).json_schema(ref_template="#/$defs/{model}")
        out["$defs"].update(schema.pop("$defs", {}))
        out["$defs"][name] = schema
    return out


def text(which: str = "tasks") -> str:
    schema = generate_questions() if which == "questions" else generate()
    return json.dumps(schema, indent=1, sort_keys=True) + "\n"


@functools.lru_cache(maxsize=8)
def _body_validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads(QUESTION_SCHEMA_PATH.read_text(encoding="utf-8"))
    return Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]})


def body_problem(name: str, body: Any) -> tuple[list[str | int], str] | None:
    """The first reason the SDK's types refuse ``body`` as ``name`` (a ``$defs`` entry of
    question_schema.json): (path in the body, message)."""
    from jsonschema.exceptions import best_match

    error = best_match(_body_validator(name).iter_errors(body))
    if error is None:
        return None
    return _located(error)


def _located(error: Any) -> tuple[list[str | int], str]:
    message = error.message if len(error.message) <= 300 else error.message[:300] + "..."
    path: list[str | int] = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        path += [k for k in error.validator_value if k not in error.instance][:1]
    return path, message


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
    return _located(error)


if __name__ == "__main__":
    import sys

    print(text(sys.argv[1] if len(sys.argv) > 1 else "tasks"), end="")
