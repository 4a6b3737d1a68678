"""evalspec accepts exactly the task configurations scale-gp-beta's types accept.

The cases are generated from ``evalspec/platform/task_schema.json`` (the SDK's
``EvaluationTaskParam`` rendered as JSON Schema; test_platform_http regenerates it from the
installed SDK and fails on any difference): for every task type and every form of its
configuration, a minimal and a full configuration, each required key dropped in turn, and
each key given values of other types. Each case goes through both of evalspec's checks (the
published JSON Schema and the models) and the answer must be the SDK's.

Where evalspec is deliberately stricter, the rule is listed in ``STRICTER`` with its reason;
a case that only such a rule refuses is expected to be refused.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evalspec.platform import task_schema
from evalspec.spec import models
from evalspec.spec.fields import TASK_TYPES
from evalspec.spec.schema import validator_for

SCHEMA = json.loads(Path(task_schema.SCHEMA_PATH).read_text(encoding="utf-8"))
DEFS = SCHEMA["$defs"]

# Values a key needs to satisfy evalspec's stricter rules in the valid samples.
SAMPLES: dict[str, Any] = {
    "model": "openai/gpt-4o",
    "function_source": "def score(item):\n    return 1\n",
    "messages": [{"role": "user", "content": "item.input"}],
}
WRONG = [12345, 1.5, True, "plain text", [], {}, None]

# Where evalspec refuses what the SDK's types accept, and why: (task type or "*", key) -> (a
# predicate on the value, the reason). A case is expected refused when one applies.
_RANGES = {"temperature": (0, 2), "top_p": (0, 1), "frequency_penalty": (-2, 2),
           "presence_penalty": (-2, 2), "n": (1, 128), "top_logprobs": (0, 20)}
_MISSING = object()
STRICTER: dict[tuple[str, str], tuple[Any, str]] = {
    ("chat_completion", "model"): (lambda v: not (isinstance(v, str) and "/" in v),
                                   "a chat model is 'vendor/model'"),
    ("*", "messages"): (lambda v: isinstance(v, list) and (v == [] or not all(
        isinstance(m, dict) and "role" in m for m in v)),
        "a chat message has a role, and a chat has at least one message"),
    ("*", "function_source"): (lambda v: not (isinstance(v, str) and "def " in v),
                               "the function's name titles the result column"),
    ("*", "choices"): (lambda v: v == [], "a judge needs at least one choice"),
    ("*", "timeout_seconds"): (lambda v: _number(v) and v > 1500,
                               "the platform caps an agent's timeout at 1500 seconds"),
    ("*", "run_condition"): (lambda v: isinstance(v, dict) and "op" not in v,
                             "a run condition names its operator"),
    **{("chat_completion", key): (lambda v, lo=lo, hi=hi: _number(v) and not lo <= v <= hi,
                                  f"the provider's documented range is {lo} to {hi}")
       for key, (lo, hi) in _RANGES.items()},
}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = DEFS[node["$ref"].rsplit("/", 1)[1]]
    return node


def _branches(node: dict[str, Any]) -> list[dict[str, Any]]:
    node = _resolve(node)
    return [_resolve(b) for b in node["anyOf"]] if "anyOf" in node else [node]


def sample(node: dict[str, Any], key: str | None = None, full: bool = False,
           depth: int = 0) -> Any:
    """A value the SDK's schema accepts at ``node`` (and evalspec too)."""
    if key in SAMPLES:
        return copy.deepcopy(SAMPLES[key])
    branches = [b for b in _branches(node) if b.get("type") != "null"]
    if depth > 4:  # a layout's containers nest: end with a component
        branches = [b for b in branches if "children" not in b.get("properties", {})] or branches
    branch = branches[0]
    if "const" in branch:
        return branch["const"]
    if "enum" in branch:
        return branch["enum"][0]
    kind = branch.get("type")
    if kind == "string":
        return "item.input"
    if kind == "integer":
        return 5
    if kind == "number":
        return 0.5
    if kind == "boolean":
        return True
    if kind == "array":
        return [sample(branch.get("items", {"type": "string"}), None, full, depth + 1)]
    properties = branch.get("properties")
    if properties:
        wanted = properties if full else {
            k: v for k, v in properties.items() if k in branch.get("required", [])}
        return {k: sample(v, k, full, depth + 1) for k, v in wanted.items()}
    return {}  # a free-form object


def _configurations(task_def: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each form a task type's configuration takes: (form name, schema)."""
    config = task_def["properties"]["configuration"]
    for ref in config.get("anyOf", [config]):
        yield ref["$ref"].rsplit("/", 1)[1][-60:], _resolve(ref)


Case = tuple[str, dict[str, Any], list[str], dict[str, Any]]


def cases() -> Iterator[Case]:
    """(case id, task, the STRICTER rule it breaks, the task the SDK is asked about)."""
    for branch in SCHEMA["anyOf"]:
        task_def = _resolve(branch)
        task_type = task_def["properties"]["task_type"]["const"]
        for form, schema in _configurations(task_def):
            for full in (False, True):
                config = {k: sample(v, k, full) for k, v in schema["properties"].items()
                          if full or k in schema.get("required", [])}
                base = {"task_type": task_type, "configuration": config}
                label = f"{task_type}/{form}/{'full' if full else 'minimal'}"
                yield label, base, [], base
                if not full:
                    for key in schema.get("required", []):
                        dropped = {k: v for k, v in config.items() if k != key}
                        task = {**base, "configuration": dropped}
                        yield f"{label}/without-{key}", task, [], task
                    continue
                for key in schema["properties"]:
                    for value in WRONG:
                        changed = {**config, key: value}
                        task = {**base, "configuration": changed}
                        yield (f"{label}/{key}={json.dumps(value)}", task,
                               _breaks(task_type, key, value), task)
                yield from _run_condition_cases(label, base)


def _run_condition_cases(label: str, base: dict[str, Any]) -> Iterator[Case]:
    if "run_condition" not in base["configuration"]:
        return
    conditions = [
        {"op": "const", "value": True}, {"op": "const", "value": "yes"}, {"op": "const"},
        {"op": "var", "path": "item.x"}, {"op": "var"},
        {"op": "eq", "left": "item.x", "right": 1}, {"op": "gte", "left": 1},
        {"op": "and", "operands": [{"op": "var", "path": "item.a"}, True]}, {"op": "or"},
        {"op": "in", "left": "item.x", "operands": [1, 2]}, {"op": "not_in", "operands": []},
        {"op": "is_null", "operands": ["item.x"]}, {"op": "nope", "operands": []},
        {"left": 1, "right": 2},
    ]
    for condition in conditions:
        config = {**base["configuration"], "run_condition": condition}
        breaks = ["*", "run_condition"] if "op" not in condition else []
        task = {**base, "configuration": config}
        yield f"{label}/run_condition={json.dumps(condition)}", task, breaks, task


def _breaks(task_type: str, key: str, value: Any) -> list[str]:
    for rule in ((task_type, key), ("*", key)):
        if rule in STRICTER and STRICTER[rule][0](value):
            return list(rule)
    return []


CASES = list(cases())


def evalspec_accepts(task: dict[str, Any]) -> bool:
    document = {"kind": "Evaluation", "name": "e", "data": [{"input": "x"}], "tasks": [task]}
    if any(True for _ in validator_for("Evaluation").iter_errors(document)):
        return False
    try:
        models.Evaluation.model_validate(document)
    except ValueError:
        return False
    return True


def test_the_cases_cover_every_task_type_and_form() -> None:
    types = {task["task_type"] for _, task, _, _ in CASES}
    assert types == set(TASK_TYPES)
    assert len(CASES) > 500
    refused = sum(task_schema.problem(sdk) is not None for _, _, _, sdk in CASES)
    assert 100 < refused < len(CASES) - 100  # both answers are well represented


@pytest.mark.parametrize(("label", "task", "breaks", "sent"), CASES, ids=[c[0] for c in CASES])
def test_evalspec_accepts_what_the_sdk_accepts(label: str, task: dict[str, Any],
                                               breaks: list[str], sent: dict[str, Any]) -> None:
    sdk = task_schema.problem(sent) is None
    expected = sdk and not breaks
    assert evalspec_accepts(task) == expected, (
        f"SDK {'accepts' if sdk else 'refuses'} {json.dumps(task)}"
        + (f"; evalspec is stricter: {STRICTER[tuple(breaks)][1]}" if breaks else ""))
