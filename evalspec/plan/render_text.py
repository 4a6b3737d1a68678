"""The plan as text, Terraform-style: a marker per action, field changes before -> after,
line diffs for long strings such as prompts, item counts for data. Colour only when asked."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from typing import Any

from evalspec.plan.model import REPLACED_MEMBER, Action, Change, Plan
from evalspec.sanitize import one_line
from evalspec.spec.aliases import task_alias

MARKERS = {"create": "+", "update": "~", "replace": "-/+", "restore": "~", "archive": "-"}
COLOURS = {"create": "green", "update": "yellow", "replace": "magenta", "restore": "cyan",
           "archive": "red"}
HEADLINES = {"create": "will be created", "update": "will be updated in place",
             "replace": "must be replaced", "restore": "will be restored",
             "archive": "will be archived"}
LONG = 60
WHOLE_TASK = re.compile(r"tasks\[\d+\]")


def _value(value: Any) -> str:
    """A value as JSON, readable: ", " and ": " between items (json's default without an
    indent), non-ASCII text as it is."""
    return json.dumps(value, ensure_ascii=False)


def _is_long(value: Any) -> bool:
    return isinstance(value, str) and ("\n" in value or len(value) > LONG)


def _collection_lines(change: Change) -> list[str] | None:
    """Lists of strings and mappings: show what was added, removed or changed."""
    before, after = change.before, change.after
    if isinstance(before, list) and isinstance(after, list) and all(
            isinstance(v, str) for v in before + after) and len(before + after) > 4:
        lines = [f"      ~ {change.path}:"]
        replaced = {v for v in after if v.endswith(REPLACED_MEMBER)
                    and v[: -len(REPLACED_MEMBER) - 1] in before}
        kept = {v[: -len(REPLACED_MEMBER) - 1] for v in replaced}
        lines += [f"          {'~' if v in replaced else '+'} {v}" for v in after
                  if v not in before]
        lines += [f"          - {v}" for v in before if v not in after and v not in kept]
        return lines
    if isinstance(before, dict) and isinstance(after, dict) and len(before) + len(after) > 4:
        lines = [f"      ~ {change.path}:"]
        for key in list(before) + [k for k in after if k not in before]:
            if key not in after:
                lines.append(f"          - {key}: {_value(before[key])}")
            elif key not in before:
                lines.append(f"          + {key}: {_value(after[key])}")
            elif before[key] != after[key]:
                lines.append(f"          ~ {key}: {_value(before[key])} -> "
                             f"{_value(after[key])}")
        return lines
    return None


def _change_lines(change: Change) -> list[str]:
    note = "  # forces replacement" if change.forces_replacement else ""
    if WHOLE_TASK.fullmatch(change.path):  # a task added or removed: one line, as creates show
        if change.before is None and isinstance(change.after, dict):
            return [_task_line(change.after) + note]
        if change.after is None and isinstance(change.before, dict):
            return [_task_line(change.before, "-") + note]
    collection = _collection_lines(change)
    if collection is not None:
        return collection
    if change.before is None:
        return [f"      + {change.path}: {_value(change.after)}{note}"]
    if change.after is None:
        return [f"      - {change.path}: {_value(change.before)}{note}"]
    if _is_long(change.before) or _is_long(change.after):
        lines = [f"      ~ {change.path}:{note}"]
        diff = difflib.unified_diff(str(change.before).splitlines(),
                                    str(change.after).splitlines(), lineterm="", n=1)
        lines += [f"          {line}" for line in list(diff)[2:]]
        return lines
    return [f"      ~ {change.path}: {_value(change.before)} -> {_value(change.after)}{note}"]


def _task_line(task: dict[str, Any], sign: str = "+") -> str:
    config = task.get("configuration") or {}
    text = f"      {sign} task {task_alias(task)}: {task.get('task_type')}"
    if task.get("task_type") == "metric" and isinstance(config, dict) and isinstance(
            config.get("type"), str):
        text += f" {config['type']}"
    if isinstance(config, dict) and "model" in config:
        text += f" {config['model']}"
        settings = [f"{key} {_value(config[key])}" for key in ("temperature", "max_tokens")
                    if key in config]
        if settings:
            text += f" ({', '.join(settings)})"
    for key in ("question_id", "rubric_id"):
        if isinstance(config, dict) and isinstance(config.get(key), str):
            text += f", {key} {config[key]}"
    return text


def _created(kind: str, body: dict[str, Any]) -> list[str]:
    """What a reviewer needs to see of a new object; the JSON plan has all of it."""
    lines = []
    if body.get("description"):
        lines.append(f"      + description: {_value(body['description'])}")
    tags = [t for t in body.get("tags", []) if not t.startswith("evalspec")]
    if tags:
        lines.append(f"      + tags: {_value(tags)}")
    if kind == "Evaluation" and body.get("dataset_id"):
        lines.append(f"      + dataset_id: {body['dataset_id']}")
    if "data" in body:
        lines.append(f"      + items: {len(body['data']):,}")
    if kind == "EvaluationGroup":
        lines.append(f"      + members: {len(body.get('evaluation_ids', [])):,}")
    if kind == "Question":
        lines.append(f"      + {body['question_type']}: {_value(body['prompt'])}")
        choices = (body.get("configuration") or {}).get("choices")
        if isinstance(choices, list):
            lines.append(f"      + choices: {_value(choices)}")
    if kind == "Rubric":
        lines.append(f"      + criteria: {len(body.get('criteria', [])):,}")
    lines += [_task_line(task) for task in body.get("tasks", []) if isinstance(task, dict)]
    return lines


def _details(action: Action) -> list[str]:
    lines: list[str] = []
    if action.action == "create":
        assert action.desired is not None  # pragma: no mutate (a create carries its body)
        lines = _created(action.kind, action.desired["body"])
    if action.items:
        sync = action.items
        lines.append(f"      items: +{len(sync.add)} added, ~{len(sync.update)} updated, "
                     f"-{len(sync.remove)} removed")
    for change in action.changes:
        lines += _change_lines(change)
    return [one_line(line) for line in lines]  # values from specs and the platform


def _headline(action: Action) -> str:
    text = f"  # {action.address} {HEADLINES[action.action]}"
    if action.reasons:
        text += f" ({'; '.join(action.reasons)})"
    if action.workload and action.workload.executions:
        models = len(action.workload.models)
        text += (f": starts {action.workload.executions:,} task executions over {models} "
                 f"model{'s' if models != 1 else ''}")
    return one_line(text)


def render_text(plan: Plan, colour: bool = False) -> str:
    import click

    def paint(text: str, action: str) -> str:
        return click.style(text, fg=COLOURS[action]) if colour else text

    style: Callable[[str, str], str] = paint
    if not plan.actions:
        return "No changes. The platform matches the specs.\n"
    lines = ["evalspec will perform the following actions:", ""]
    for action in plan.actions:
        lines.append(_headline(action))
        marker = MARKERS[action.action]
        lines.append(style(one_line(f"{marker:>3} {action.address}"), action.action))
        lines += _details(action)
        lines.append("")
    lines.append(plan.summary())
    return "\n".join(lines) + "\n"
