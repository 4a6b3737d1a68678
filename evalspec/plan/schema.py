"""The JSON Schema of the plan document (``plan --format json`` and ``plan -o``).

Published as schemas/plan.schema.json (a test keeps the two equal) and documented in
docs/plan-format.md. Saved plans are checked against it before apply reads them, so a damaged
or hand-edited file is refused with the place that is wrong.
"""

from __future__ import annotations

import json
from typing import Any

from evalspec.plan.model import ACTIONS, FORMAT_VERSION, KIND_ORDER

SCHEMA_ID = "urn:evalspec:plan:v1"

_STRINGS = {"type": "array", "items": {"type": "string"}}
_COUNT = {"type": "integer", "minimum": 0}
_DIGEST = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
_ADDRESS = {"type": "string", "pattern": f"^({'|'.join(KIND_ORDER)})/.+$"}
_OBJECTS = {"type": "array", "items": {"type": "object"}}
# [id or alias, object] pairs: an item's new row, a task's new configuration.
_PAIRS = {"type": "array", "items": {"type": "array", "prefixItems": [{"type": "string"},
                                                                      {"type": "object"}],
                                     "minItems": 2, "maxItems": 2}}


def plan_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "evalspec plan",
        "description": "What apply will do, as computed by evalspec plan.",
        "type": "object",
        "required": ["format_version", "project", "endpoint", "specs_digest", "summary",
                     "actions", "known_ids", "absent", "errors", "warnings"],
        "additionalProperties": False,
        "properties": {
            "format_version": {"const": FORMAT_VERSION,
                               "description": "Bumped on any incompatible change."},
            "project": {"type": "string", "description": "The project in evalspec.yaml."},
            "endpoint": {"type": "string",
                         "description": "Base URL of the platform, or 'local'."},
            "specs_digest": {**_DIGEST, "description": (
                "SHA-256 of what the specs asked for (every object's content, names, tags, "
                "lifecycle), after variables: apply refuses the saved plan when the "
                "project's specs now ask for something else.")},
            "summary": {
                "type": "object", "additionalProperties": False,
                "required": [*ACTIONS, "task_executions"],
                "properties": {**{a: _COUNT for a in ACTIONS}, "task_executions": _COUNT},
            },
            "actions": {"type": "array", "items": {"$ref": "#/$defs/action"}},
            "known_ids": {
                "type": "object", "additionalProperties": {"type": "string"},
                "description": "Address -> id of the objects kept in place, for references.",
            },
            "absent": {**_STRINGS, "description": "Addresses the plan creates; applying a "
                       "saved plan refuses if any of them exists by then."},
            "errors": {**_STRINGS, "description": "Why the plan cannot be applied."},
            "warnings": {**_STRINGS, "description": "Advisory policy findings."},
        },
        "$defs": {
            "action": {
                "type": "object",
                "required": ["action", "address", "kind", "reasons", "changes"],
                "additionalProperties": False,
                "properties": {
                    "action": {"enum": list(ACTIONS)},
                    "address": _ADDRESS,
                    "kind": {"enum": list(KIND_ORDER)},
                    "reasons": {**_STRINGS, "description": "Why, in words."},
                    "changes": {"type": "array", "items": {"$ref": "#/$defs/change"}},
                    "remote_id": {"type": "string",
                                  "description": "The object changed, restored or archived "
                                                 "(for replace: the old one)."},
                    "fingerprint": {**_DIGEST,
                                    "description": "Digest of the desired object."},
                    "depends_on": {"type": "array", "items": _ADDRESS},
                    "workload": {"$ref": "#/$defs/workload"},
                    "items": {"$ref": "#/$defs/items"},
                    "remote_state": {**_DIGEST, "description": "Digest of the remote object "
                                     "the plan saw; apply refuses if it changed."},
                    "tasks": {"$ref": "#/$defs/tasks"},
                    "desired": {"$ref": "#/$defs/desired"},
                },
            },
            "change": {
                "type": "object", "required": ["path", "before", "after"],
                "additionalProperties": False,
                "properties": {
                    "path": {"type": "string",
                             "description": "Field path in the platform object."},
                    "before": {"description": "null when the field is added."},
                    "after": {"description": "null when the field is removed."},
                    "forces_replacement": {"const": True},
                },
            },
            "workload": {
                "type": "object", "additionalProperties": False,
                "required": ["items", "tasks", "task_executions", "models"],
                "properties": {"items": _COUNT, "tasks": _COUNT, "task_executions": _COUNT,
                               "models": _STRINGS},
            },
            "items": {
                "type": "object", "additionalProperties": False,
                "required": ["add", "update", "remove"],
                "description": "Item-level changes to a dataset with a key.",
                "properties": {"add": _OBJECTS, "update": _PAIRS, "remove": _STRINGS},
            },
            "tasks": {
                "type": "object", "additionalProperties": False,
                "required": ["add", "update"],
                "description": "An evaluation's tasks changed in place: contributor question "
                               "tasks added, contributor task configurations replaced.",
                "properties": {"add": _OBJECTS, "update": _PAIRS},
            },
            "desired": {
                "type": "object", "additionalProperties": False,
                "required": ["address", "kind", "fingerprint", "source", "body"],
                "properties": {
                    "address": _ADDRESS,
                    "kind": {"enum": list(KIND_ORDER)},
                    "fingerprint": _DIGEST,
                    "source": {"type": "string", "description": "file:line:column"},
                    "matrix": {"type": "object",
                               "description": "The matrix instance it was expanded from."},
                    "depends_on": {"type": "array", "items": _ADDRESS},
                    "body": {"type": "object",
                             "description": "The request body apply sends; ids not known "
                                            "yet read '(known after apply: ADDRESS)'."},
                },
            },
        },
    }


def schema_text() -> str:
    return json.dumps(plan_schema(), indent=2) + "\n"
