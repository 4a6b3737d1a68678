"""What the project's evaluations are doing, and their items with task outputs.

Both read what the project owns with the same tag-filtered list calls as a plan (refresh);
neither needs the specs to be valid, only evalspec.yaml.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, TextIO

from evalspec.client.sgp import SGPClient
from evalspec.errors import EvalspecError
from evalspec.plan.refresh import ActualState, Remote, refresh
from evalspec.sanitize import document, one_line

FINISHED = ("completed", "failed", "canceled")


@dataclass(frozen=True)
class EvaluationStatus:
    name: str
    id: str
    status: str
    total: int
    successful: int
    failed: int
    pending: int
    errors: int  # task executions (workflows) that failed
    reason: str | None
    groups: tuple[str, ...]

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "id": self.id, "status": self.status,
                "items": {"total": self.total, "successful": self.successful,
                          "failed": self.failed, "pending": self.pending},
                "errors": self.errors, "reason": self.reason, "groups": list(self.groups)}


def _count(progress: Any, part: str, key: str) -> int:
    value = (progress or {}).get(part, {}).get(key) if isinstance(progress, dict) else None
    return value if isinstance(value, int) else 0


def _members(group: Remote) -> list[str]:
    return [str(m.get("evaluation_id") or m.get("id")) for m in group.body.get("members") or []
            if not m.get("deleted_at")]


def statuses(actual: ActualState) -> list[EvaluationStatus]:
    live = [o for o in actual.objects if not o.archived]
    groups: dict[str, list[str]] = {}
    for group in sorted((o for o in live if o.kind == "EvaluationGroup"), key=lambda o: o.name):
        for member in _members(group):
            groups.setdefault(member, []).append(group.name)
    out = []
    for evaluation in sorted((o for o in live if o.kind == "Evaluation"), key=lambda o: o.name):
        body = evaluation.body
        progress = body.get("progress")
        out.append(EvaluationStatus(
            evaluation.name, evaluation.id, str(body.get("status") or "unknown"),
            _count(progress, "items", "total"), _count(progress, "items", "successful"),
            _count(progress, "items", "failed"), _count(progress, "items", "pending"),
            _count(progress, "workflows", "failed"), body.get("status_reason"),
            tuple(groups.get(evaluation.id, ()))))
    return out


async def read_statuses(client: SGPClient, project: str) -> list[EvaluationStatus]:
    return statuses(await refresh(client, project))


def progress_log(rows: list[EvaluationStatus], seen: dict[str, tuple[Any, ...]]
                 ) -> str | None:
    """What ``status --watch`` and ``check --wait`` log between refreshes when not on a
    terminal: a timestamped summary and a line per evaluation whose progress changed since
    ``seen`` (updated in place); None when nothing moved."""
    lines = []
    for row in rows:
        now = (row.status, row.successful, row.failed, row.pending, row.total)
        if seen.get(row.id) == now:
            continue
        seen[row.id] = now
        done = row.successful + row.failed
        lines.append(one_line(f"  {row.name}: {row.status}, {done:,}/{row.total:,} items done "
                              f"({row.failed:,} failed)"))
    if not lines:
        return None
    return document([f"{time.strftime('%H:%M:%S')} {summary_line(rows)}", *lines]).rstrip("\n")


def summary_line(rows: list[EvaluationStatus]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    order = sorted(counts, key=lambda s: (s not in ("completed", "running", "failed"), s))
    parts = ", ".join(f"{counts[s]} {s}" for s in order)
    noun = "evaluation" if len(rows) == 1 else "evaluations"
    return f"{len(rows)} {noun}: {parts}." if rows else "The project owns no evaluations."


def render_text(rows: list[EvaluationStatus]) -> str:
    sections: dict[str, list[EvaluationStatus]] = {}
    for row in rows:
        for group in row.groups or ("",):
            sections.setdefault(group, []).append(row)
    names = {id(r): one_line(r.name) for r in rows}  # names and reasons come from the platform
    width = max([len("EVALUATION"), *(len(n) for n in names.values())])
    lines = []
    for group in sorted(sections, key=lambda g: (g == "", g)):
        lines.append(one_line(f"EvaluationGroup/{group}") if group else "Not in a group")
        lines.append(f"  {'EVALUATION':<{width}}  {'STATUS':<9}  {'SUCCESSFUL':>10}  "
                     f"{'FAILED':>6}  {'PENDING':>7}  {'TOTAL':>5}  {'ERRORS':>6}")
        for row in sections[group]:
            lines.append(f"  {names[id(row)]:<{width}}  {one_line(row.status):<9}  "
                         f"{row.successful:>10,}  "
                         f"{row.failed:>6,}  {row.pending:>7,}  {row.total:>5,}  "
                         f"{row.errors:>6,}")
        lines.append("")
    for row in rows:
        if row.reason and row.status == "failed":
            lines.append(one_line(f"{row.name}: {row.reason}"))
    if any(r.reason and r.status == "failed" for r in rows):
        lines.append("")
    lines.append(summary_line(rows))
    return document(lines)


def render_json(project: str, rows: list[EvaluationStatus]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return json.dumps({"project": project, "evaluations": [r.to_json() for r in rows],
                       "summary": {"total": len(rows), **counts},
                       "finished": all(r.finished for r in rows)}, indent=2) + "\n"


# -- results ------------------------------------------------------------------------------
def find_owned(actual: ActualState, name: str, project: str) -> Remote:
    live = [o for o in actual.objects if not o.archived and o.kind != "Dataset"]
    if "/" in name:
        found = [o for o in live if o.address == name]
    else:
        found = [o for o in live if o.name == name]
    kinds = {o.kind for o in found}
    if len(kinds) > 1:
        raise EvalspecError(f"{name} is both an evaluation and a group; say "
                            f"Evaluation/{name} or EvaluationGroup/{name}")
    if not found:
        raise EvalspecError(f"project {project!r} owns no evaluation or group named {name!r}; "
                            "'evalspec status' lists its evaluations")
    return min(found, key=lambda o: (o.created_at, o.id))


def _item_row(item: dict[str, Any]) -> dict[str, Any]:
    """One item as results shows it: its data (task outputs are under their aliases), each
    task's status, and the platform's error for each task that failed."""
    return {"item_id": item.get("id"), "data": item.get("data"),
            "task_result_statuses": item.get("task_result_statuses"),
            "task_errors": item.get("task_errors") or {}}


async def _items(client: SGPClient, evaluation_id: str) -> AsyncIterator[dict[str, Any]]:
    async for item in client.list_evaluation_items(evaluation_id):
        yield item


def member_names_of(actual: ActualState, target: Remote) -> list[str]:
    """A group's members by name, in the group's order (an evaluation: itself)."""
    if target.kind == "Evaluation":
        return [target.name]
    names = {o.id: o.name for o in actual.objects if o.kind == "Evaluation"}
    return [names.get(m, m) for m in _members(target)]


async def member_items(client: SGPClient, actual: ActualState, target: Remote
                       ) -> AsyncIterator[tuple[str, Any, dict[str, Any]]]:
    """(member name, row identifier value, item) for every item of every member, streamed
    member by member. The row is the member's row identifier column, or the item's position
    when it has none (always, for a single evaluation)."""
    if target.kind == "Evaluation":
        position = 0
        async for item in _items(client, target.id):
            yield target.name, position, item
            position += 1
        return
    names = {o.id: o.name for o in actual.objects if o.kind == "Evaluation"}
    columns = {r["evaluation_id"]: r["column_name"]
               for r in target.body.get("row_identifiers") or []}
    for member in _members(target):
        column = columns.get(member)
        position = 0
        async for item in _items(client, member):
            value = (item.get("data") or {}).get(column) if column else position
            position += 1
            yield names.get(member, member), value, item


async def export_results(client: SGPClient, project: str, name: str, out: TextIO
                         ) -> tuple[str, int]:
    """Write ``name``'s items as JSONL to ``out``; returns (address, rows written).

    An evaluation's items are streamed as they are read. A group's rows are joined across
    its members on each member's row identifier, so the group's items are held in memory.
    """
    actual = await refresh(client, project)
    target = find_owned(actual, name, project)
    rows = 0
    if target.kind == "Evaluation":  # streamed: the same row shape as a one-member group
        async for name, row, item in member_items(client, actual, target):
            out.write(json.dumps({"row": row, "evaluations": {name: _item_row(item)},
                                  "missing": []}) + "\n")
            rows += 1
        return target.address, rows
    member_names = member_names_of(actual, target)
    joined: dict[str, tuple[Any, dict[str, Any]]] = {}  # key -> (row identifier, items)
    async for name, value, item in member_items(client, actual, target):
        key = json.dumps(value, sort_keys=True)
        joined.setdefault(key, (value, {}))[1][name] = _item_row(item)
    for value, by_member in joined.values():
        missing = [m for m in member_names if m not in by_member]
        out.write(json.dumps({"row": value, "evaluations": by_member, "missing": missing})
                  + "\n")
        rows += 1
    return target.address, rows
