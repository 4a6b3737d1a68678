"""The JSON Schema of a line of ``evalspec results`` (published as schemas/results.schema.json).

An evaluation and a group give lines of one shape: a row, the item each evaluation has for
it, and the evaluations that have none. For a group the row is the value of its row
identifier column (or the item's position when a member has none); for one evaluation, the
item's position.
"""

from __future__ import annotations

import json
from typing import Any

SCHEMA_ID = "urn:evalspec:results:v1"


def results_schema() -> dict[str, Any]:
    item = {
        "type": "object",
        "required": ["item_id", "data", "task_result_statuses", "task_errors"],
        "additionalProperties": False,
        "properties": {
            "item_id": {"type": "string", "description": "The evaluation item's id."},
            "data": {"type": "object", "description": (
                "The row's columns, and each task's output under its alias once it ran.")},
            "task_result_statuses": {
                "type": ["object", "null"], "description": (
                    "Per task alias: completed, skipped, errored, pending or prefilled."),
                "additionalProperties": {"type": "string"}},
            "task_errors": {
                "type": "object", "description": (
                    "Per task alias that failed: the platform's error (empty when none did)."),
                "additionalProperties": {
                    "type": "object", "required": ["message"],
                    "properties": {"message": {"type": "string"}, "type": {"type": "string"}}}},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "evalspec results line",
        "description": "One line of evalspec results: a row and each evaluation's item for it.",
        "type": "object",
        "required": ["row", "evaluations", "missing"],
        "additionalProperties": False,
        "properties": {
            "row": {"description": (
                "The row identifier's value (a group), or the item's position (an evaluation, "
                "or a group member without a row identifier column).")},
            "evaluations": {"type": "object", "additionalProperties": item, "description": (
                "Evaluation name -> its item for this row.")},
            "missing": {"type": "array", "items": {"type": "string"}, "description": (
                "Evaluations of the group without an item for this row; empty when none.")},
        },
    }


def schema_text() -> str:
    return json.dumps(results_schema(), indent=2) + "\n"
