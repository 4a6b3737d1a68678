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
        "required": ["n", "mean_difference", "ci95", "test", "p_value", "p_holm", "mde",
                     "wins", "ties", "losses"],
        "description": "This member minus the baseline, on the rows both have a score for.",
        "properties": {"n": _COUNT, "mean_difference": _NUMBER, "ci95": _INTERVAL,
                       "test": {"enum": ["paired t", "McNemar", "clustered t"], "description": (
                           "McNemar's exact test for 0/1 scores, else the paired t-test; "
                           "cluster-robust with clustered rows.")},
                       "p_value": {**_NUMBER, "description": "Two-sided, uncorrected; six "
                                   "significant digits."},
                       "p_holm": {**_NUMBER, "description": "Holm-corrected across this "
                                  "score's comparisons with the baseline."},
                       "mde": {**_NUMBER, "description": (
                           "The minimum detectable difference at 80% power (two-sided "
                           "alpha 0.05) with these rows.")},
                       "wins": _COUNT, "ties": _COUNT, "losses": _COUNT}}
    gaps = {"type": "object", "additionalProperties": False,
            "required": ["missing", "failed", "pending", "unscored"],
            "description": "Rows of the group without a score for this member, by why.",
            "properties": {k: _COUNT for k in ("missing", "failed", "pending", "unscored")}}
    common = {"type": "object", "additionalProperties": False, "required": ["n", "mean", "ci95"],
              "description": "On the rows every member has a score for: the ranking.",
              "properties": {"n": _COUNT, "mean": _NUMBER, "ci95": _INTERVAL}}
    member = {
        "type": "object", "additionalProperties": False,
        "required": ["name", "n", "mean", "ci95", "interval_method", "design_effect", "common",
                     "rows_without_score"],
        "properties": {"name": {"type": "string"}, "n": _COUNT, "mean": _NUMBER,
                       "ci95": _INTERVAL,
                       "interval_method": {"enum": ["t", "wilson", "cluster"]},
                       "design_effect": {**_NUMBER, "description": (
                           "Clustered rows: the mean's variance over that of as many "
                           "independent rows; null otherwise.")},
                       "repeats": {
                           "type": "object", "additionalProperties": False,
                           "required": ["copies", "variance_within_rows",
                                        "variance_between_rows"],
                           "description": "A member run with repeats: each row's score is the "
                                          "mean of its copies.",
                           "properties": {"copies": _COUNT, "variance_within_rows": _NUMBER,
                                          "variance_between_rows": _NUMBER}},
                       "common": common, "rows_without_score": gaps, "vs_baseline": versus}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:evalspec:report:v{FORMAT_VERSION}",
        "title": "evalspec report",
        "description": "A group's members compared on every score column.",
        "type": "object", "additionalProperties": False,
        "required": ["format_version", "address", "baseline", "rows", "cluster_by", "clusters",
                     "members", "scores"],
        "properties": {
            "format_version": {"const": FORMAT_VERSION},
            "address": {"type": "string"},
            "baseline": {"type": "string"},
            "rows": {**_COUNT, "description": "Rows any member has an item for."},
            "cluster_by": {"type": ["string", "null"], "description": (
                "The item column rows are clustered by, or null.")},
            "by": {"type": "object", "additionalProperties": False,
                   "required": ["column", "family", "categories"],
                   "description": "report --by COLUMN: the comparison per value of it.",
                   "properties": {
                       "column": {"type": "string"},
                       "family": {"type": "string", "description": "What p (Holm) corrects."},
                       "categories": {"type": "array", "items": {
                           "type": "object", "additionalProperties": False,
                           "required": ["value", "report"],
                           "properties": {"value": {"type": "string"},
                                          "report": {"$ref": "#"}}}}}},
            "clusters": {**_COUNT, "description": "How many clusters (0: not clustered)."},
            "members": {"type": "array", "items": {
                "type": "object", "additionalProperties": False,
                "required": ["name", "missing_rows", "status"],
                "properties": {"name": {"type": "string"}, "missing_rows": _COUNT,
                               "status": {"type": "string", "description": (
                                   "The evaluation's status; figures of one not finished "
                                   "are partial.")}}}},
            "scores": {"type": "array", "items": {
                "type": "object", "additionalProperties": False,
                "required": ["alias", "task_type", "detail", "common_rows", "members"],
                "properties": {
                    "alias": {"type": "string"}, "task_type": {"type": "string"},
                    "detail": {"type": "string"}, "common_rows": _COUNT,
                    "members": {"type": "array", "items": member,
                                "description": "Best mean on the common rows first."}}}},
        },
    }


def schema_text() -> str:
    return json.dumps(report_schema(), indent=2) + "\n"
