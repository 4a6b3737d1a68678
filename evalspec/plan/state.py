"""``evalspec state``: everything the project owns on the platform, from one refresh."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evalspec.errors import EvalspecError
from evalspec.plan.refresh import ActualState
from evalspec.sanitize import document, json_text, one_line


@dataclass(frozen=True)
class OwnedObject:
    address: str
    kind: str
    id: str
    archived: bool
    created_at: str
    fingerprint: str | None

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "kind": self.kind, "id": self.id,
                "archived": self.archived, "created_at": self.created_at,
                "fingerprint": self.fingerprint}


def owned_objects(actual: ActualState) -> list[OwnedObject]:
    """By address, oldest first. An address starts with its kind (the refresh checks it), so
    datasets come first, then evaluations, then groups ("Evaluation/" sorts before
    "EvaluationGroup/")."""
    rows = [OwnedObject(o.address, o.kind, o.id, o.archived, o.created_at, o.fingerprint)
            for o in actual.objects]
    return sorted(rows, key=lambda r: (r.address, r.created_at, r.id))


def render_text(rows: list[OwnedObject]) -> str:
    if not rows:
        return "The project owns nothing on the platform.\n"
    addresses = [one_line(r.address) for r in rows]  # addresses come from the platform
    width = max(len("ADDRESS"), *(len(a) for a in addresses))
    id_width = max(len("ID"), *(len(r.id) for r in rows))
    lines = [f"{'ADDRESS':<{width}}  {'ID':<{id_width}}  STATE"]
    for address, row in zip(addresses, rows, strict=True):  # pragma: no mutate
        state = "archived" if row.archived else "live"
        lines.append(f"{address:<{width}}  {one_line(row.id):<{id_width}}  {state}")
    archived = sum(1 for r in rows if r.archived)
    noun = "object" if len(rows) == 1 else "objects"
    lines += ["", f"{len(rows)} {noun}: {len(rows) - archived} live, {archived} archived."]
    return document(lines)


def render_json(project: str, rows: list[OwnedObject]) -> str:
    return json_text({"project": project, "objects": [r.to_json() for r in rows]},
                     indent=2) + "\n"


def show_address(actual: ActualState, address: str, project: str) -> str:
    found = [o for o in sorted(actual.objects, key=lambda o: (o.created_at, o.id))
             if o.address == address]
    if not found:
        raise EvalspecError(f"project {project!r} owns nothing at {address}; "
                            "'evalspec state list' lists what it owns")
    return json_text({"address": address, "objects": [o.body for o in found]}, indent=2) + "\n"
