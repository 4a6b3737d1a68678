"""The JSON Schema of ``evalspec report --format json`` (schemas/report.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from evalspec.results.report import FORMAT_VERSION

_NUMBER = {"type": ["number", "null"]}
_INTERVAL = {"type": ["array", "null"], "items": _NUMBER, "minItems": 2, "maxItems": 2,
             "description": "95% interval [low, high]; null with fewer than two rows."}
_COUNT = {"type": "integer", "minimum": 0}


def report_schema() -> dict[str, Any]:
    versus = {
        "type": "object", "additionalProperties": False,
        "required": ["n", "mean_difference", "ci95", "p_value", "p_holm", "wins", "ties",
                     "losses"],
        "description": "This member minus the baseline, on the rows both have.",
        "properties": {"n": _COUNT, "mean_difference": _NUMBER, "ci95": _INTERVAL,
                       "p_value": {**_NUMBER, "description": "Two-sided paired t-test."},
                       "p_holm": {**_NUMBER, "description": "Holm-corrected across members."},
                       "wins": _COUNT, "ties": _COUNT, "losses": _COUNT}}
    member = {
        "type": "object", "additionalProperties": False, "required": ["name", "n", "mean", "ci95"],
        "properties": {"name": {"type": "string"}, "n": _COUNT, "mean": _NUMBER,
                       "ci95": _INTERVAL, "vs_baseline": versus}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:evalspec:report:v1",
        "title": "evalspec report",
        "description": "A group's members compared on every score column.",
        "type": "object", "additionalProperties": False,
        "required": ["format_version", "address", "baseline", "rows", "members", "scores"],
        "properties": {
            "format_version": {"const": FORMAT_VERSION},
            "address": {"type": "string"},
            "baseline": {"type": "string"},
            "rows": {**_COUNT, "description": "Rows any member has an item for."},
            "members": {"type": "array", "items": {
                "type": "object", "additionalProperties": False,
                "required": ["name", "missing_rows"],
                "properties": {"name": {"type": "string"}, "missing_rows": _COUNT}}},
            "scores": {"type": "array", "items": {
                "type": "object", "additionalProperties": False,
                "required": ["alias", "task_type", "detail", "members"],
                "properties": {
                    "alias": {"type": "string"}, "task_type": {"type": "string"},
                    "detail": {"type": "string"},
                    "members": {"type": "array", "items": member,
                                "description": "Best mean first."}}}},
        },
    }


def schema_text() -> str:
    return json.dumps(report_schema(), indent=2) + "\n"
