"""The plan: a frozen value computed from (desired, actual); apply only executes it.

Action kinds are a closed set with a fixed order. Every action is matched on its address
(``Kind/name``), never on a list position, and has a JSON form (the versioned plan document)
and a one-line human form (the renderers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FORMAT_VERSION = 2  # 2: specs_digest
ACTIONS = ("create", "update", "replace", "restore", "archive")
KIND_ORDER = {"Question": 0, "Rubric": 1, "Dataset": 2, "Evaluation": 3, "EvaluationGroup": 4}

# A group member whose evaluation is replaced keeps its address and gets a new id.
REPLACED_MEMBER = "(replaced: new id known after apply)"


@dataclass(frozen=True)
class Change:
    """One field that differs: ``path`` in the platform object, before and after."""

    path: str
    before: Any
    after: Any
    forces_replacement: bool = False

    def to_json(self) -> dict[str, Any]:
        out = {"path": self.path, "before": self.before, "after": self.after}
        if self.forces_replacement:
            out["forces_replacement"] = True
        return out


@dataclass(frozen=True)
class ItemSync:
    """Item-level changes to a keyed dataset."""

    add: tuple[dict[str, Any], ...] = ()
    update: tuple[tuple[str, dict[str, Any]], ...] = ()  # (item id, new data)
    remove: tuple[str, ...] = ()  # item ids

    def to_json(self) -> dict[str, Any]:
        return {"add": list(self.add), "update": [list(u) for u in self.update],
                "remove": list(self.remove)}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ItemSync:
        return cls(tuple(doc["add"]), tuple((i, d) for i, d in doc["update"]),
                   tuple(doc["remove"]))


@dataclass(frozen=True)
class TaskSync:
    """Task changes the platform makes in place: contributor question tasks added (their
    contributors answer on the existing items) and contributor task configurations replaced
    (while no contributor work is claimed). Everything else replaces the evaluation."""

    add: tuple[dict[str, Any], ...] = ()
    update: tuple[tuple[str, dict[str, Any]], ...] = ()  # (alias, new configuration)

    def to_json(self) -> dict[str, Any]:
        return {"add": list(self.add), "update": [list(u) for u in self.update]}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> TaskSync:
        return cls(tuple(doc["add"]), tuple((a, c) for a, c in doc["update"]))


@dataclass(frozen=True)
class Workload:
    """What creating an evaluation starts: items × executed tasks."""

    items: int
    tasks: int
    models: tuple[str, ...]

    @property
    def executions(self) -> int:
        return self.items * self.tasks


@dataclass(frozen=True)
class Action:
    action: str  # one of ACTIONS
    address: str
    kind: str
    reasons: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()
    remote_id: str | None = None
    desired: dict[str, Any] | None = None  # the Payload's JSON form, for create and replace
    fingerprint: str | None = None
    depends_on: tuple[str, ...] = ()
    workload: Workload | None = None
    items: ItemSync | None = None
    remote_state: str | None = None  # fingerprint of the remote object the plan saw
    tasks: TaskSync | None = None  # an evaluation's tasks changed in place

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action, "address": self.address,
                               "kind": self.kind, "reasons": list(self.reasons),
                               "changes": [c.to_json() for c in self.changes]}
        if self.remote_id:
            out["remote_id"] = self.remote_id
        if self.fingerprint:
            out["fingerprint"] = self.fingerprint
        if self.depends_on:
            out["depends_on"] = list(self.depends_on)
        if self.workload:
            out["workload"] = {"items": self.workload.items, "tasks": self.workload.tasks,
                               "task_executions": self.workload.executions,
                               "models": list(self.workload.models)}
        if self.items:
            out["items"] = self.items.to_json()
        if self.remote_state:
            out["remote_state"] = self.remote_state
        if self.tasks:
            out["tasks"] = self.tasks.to_json()
        if self.desired is not None:
            out["desired"] = self.desired
        return out

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Action:
        work = doc.get("workload")
        return cls(
            doc["action"], doc["address"], doc["kind"], tuple(doc["reasons"]),
            tuple(Change(c["path"], c["before"], c["after"], "forces_replacement" in c)
                  for c in doc["changes"]),  # written only when true (the schema: const true)
            doc.get("remote_id"), doc.get("desired"), doc.get("fingerprint"),
            tuple(doc.get("depends_on", ())),
            Workload(work["items"], work["tasks"], tuple(work["models"])) if work else None,
            ItemSync.from_json(doc["items"]) if doc.get("items") else None,
            doc.get("remote_state"),
            TaskSync.from_json(doc["tasks"]) if doc.get("tasks") else None,
        )


@dataclass(frozen=True)
class Plan:
    project: str
    endpoint: str
    actions: tuple[Action, ...]
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    absent: tuple[str, ...] = field(default=())  # addresses the plan creates (must stay absent)
    known_ids: tuple[tuple[str, str], ...] = ()  # address -> id of objects kept in place
    specs_digest: str = ""  # of what the specs asked for (saved.specs_digest)

    def count(self, action: str) -> int:
        return sum(1 for a in self.actions if a.action == action)

    @property
    def executions(self) -> int:
        return sum(a.workload.executions for a in self.actions if a.workload)

    @property
    def has_changes(self) -> bool:
        return bool(self.actions)

    def summary(self) -> str:
        counts = ", ".join(
            f"{self.count(a)} to {a}" for a in ACTIONS
        )
        line = f"Plan: {counts}."
        if self.executions:
            line += f" Starts {self.executions:,} task executions."
        return line

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Plan:
        """A saved plan, once ``load_plan`` has checked it against the plan schema."""
        return cls(doc["project"], doc["endpoint"],
                   tuple(Action.from_json(a) for a in doc["actions"]),
                   tuple(doc["errors"]), tuple(doc["warnings"]), absent=tuple(doc["absent"]),
                   known_ids=tuple(sorted(doc["known_ids"].items())),
                   specs_digest=doc["specs_digest"])

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "project": self.project,
            "endpoint": self.endpoint,
            "specs_digest": self.specs_digest,
            "summary": {a: self.count(a) for a in ACTIONS} | {
                "task_executions": self.executions},
            "actions": [a.to_json() for a in self.actions],
            "known_ids": dict(self.known_ids),
            "absent": list(self.absent),
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }


def deep_changes(before: Any, after: Any, path: str, forces: bool) -> list[Change]:
    """Field-level differences between two JSON values, with JSON-path-like paths."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Change] = []
        for key in list(before) + [k for k in after if k not in before]:
            out += deep_changes(before.get(key), after.get(key), f"{path}.{key}", forces)
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        # Equal lengths: whatever strict= says changes nothing (mutation testing skips it).
        return [c for i, (b, a) in enumerate(zip(before, after, strict=True))  # pragma: no mutate
                for c in deep_changes(b, a, f"{path}[{i}]", forces)]
    return [] if before == after else [Change(path, before, after, forces)]
