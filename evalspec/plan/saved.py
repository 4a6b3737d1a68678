"""Saved plans: apply exactly what was reviewed, or refuse when the platform moved on.

A saved plan carries, for every object it touches, a fingerprint of the remote state it was
computed from, and the addresses it creates. Before a saved plan runs, the platform is read
again; the plan is stale when a touched object changed or disappeared, or when an object
appeared at an address the plan creates.
"""

from __future__ import annotations

import json
from pathlib import Path

from evalspec.errors import EvalspecError
from evalspec.plan.diff import remote_state
from evalspec.plan.model import FORMAT_VERSION, Plan
from evalspec.plan.refresh import ActualState


class StalePlan(EvalspecError):
    pass


def load_plan(path: Path) -> Plan:
    """A saved plan, checked against schemas/plan.schema.json first."""
    from jsonschema import Draft202012Validator

    from evalspec.plan.schema import plan_schema

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvalspecError(f"{path}: cannot read the saved plan: {exc}") from None
    if isinstance(document, dict) and document.get("format_version") not in (None, FORMAT_VERSION):
        raise EvalspecError(f"{path}: plan format_version {document['format_version']!r} is "
                            f"not {FORMAT_VERSION}; make the plan again with this evalspec")
    error = next(iter(sorted(Draft202012Validator(plan_schema()).iter_errors(document),
                             key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise EvalspecError(f"{path}: not an evalspec plan: ${where}: {error.message}")
    return Plan.from_json(document)


def stale_reasons(plan: Plan, actual: ActualState) -> list[str]:
    remotes = {r.id: r for r in actual.objects}
    reasons = []
    for action in plan.actions:
        if not action.remote_id:
            continue
        remote = remotes.get(action.remote_id)
        if remote is None:
            reasons.append(f"{action.address} no longer exists")
        elif action.remote_state and remote_state(remote) != action.remote_state:
            reasons.append(f"{action.address} changed since the plan was made")
    live = {r.address for r in actual.objects if not r.archived}
    reasons += [f"{address} now exists" for address in plan.absent if address in live]
    return reasons
