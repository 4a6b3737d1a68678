"""Saved plans: apply exactly what was reviewed, or refuse.

A saved plan is untrusted input: a pull request can edit the file between ``plan -o`` and
``apply``. So before the first write, apply checks it three ways (docs/security.md):

1. :func:`load_plan`: the document matches schemas/plan.schema.json and is nested no deeper
   than a plan can be.
2. :func:`structural_problems`, before any request: every action's body is stamped for this
   project and its own address; every ``(known after apply: ADDRESS)`` names an object the
   plan keeps or makes in an earlier stage; a group's members are all such references.
3. After the platform is read again: :func:`stale_reasons` (a touched object changed or
   disappeared, or an object appeared at an address the plan creates) and
   :func:`untrusted_ids` (every remote id is an object this project owns, of the action's
   kind, stamped with the action's address; every dataset item id belongs to its dataset).

The endpoint and the project are never taken from the plan: the CLI compares them with the
user's own configuration and refuses a plan made for another. The plan records
:func:`specs_digest` of the specs it was made from; apply computes it again from the project's
specs as they are now and refuses a plan made from others (an older commit's, say).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalspec.errors import EvalspecError
from evalspec.plan.diff import remote_state
from evalspec.plan.model import FORMAT_VERSION, KIND_ORDER, Action, Plan
from evalspec.plan.refresh import ActualState, Remote
from evalspec.sanitize import one_line
from evalspec.spec.payloads import canonical, known_after_apply, owner_tag, question_name

if TYPE_CHECKING:
    from evalspec.spec.objects import DesiredState
    from evalspec.spec.payloads import Payload

# Deeper than any plan evalspec writes (spec documents stop at 64 levels; a plan adds a few):
# checked before anything walks the document recursively.
MAX_DEPTH = 100
PLACEHOLDER = known_after_apply("")[:-1]  # "(known after apply: "


class StalePlan(EvalspecError):
    pass


class UntrustedPlan(EvalspecError):
    """A saved plan that does not hold up against the platform or the configuration."""


def _too_deep(document: Any) -> bool:
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, dict):
            pending.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            pending.extend((v, depth + 1) for v in value)
    return False


def load_plan(path: Path) -> Plan:
    """A saved plan, checked against schemas/plan.schema.json first."""
    from jsonschema import Draft202012Validator

    from evalspec.plan.schema import plan_schema

    shown = one_line(str(path))
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvalspecError(f"{shown}: cannot read the saved plan: {one_line(str(exc))}"
                            ) from None
    except RecursionError:
        document = None
    if document is None or _too_deep(document):
        raise EvalspecError(f"{shown}: not an evalspec plan: nested deeper than "
                            f"{MAX_DEPTH} levels")
    if isinstance(document, dict) and document.get("format_version") not in (None, FORMAT_VERSION):
        version = one_line(repr(document["format_version"])[:40])
        raise EvalspecError(f"{shown}: plan format_version {version} is "
                            f"not {FORMAT_VERSION}; make the plan again with this evalspec")
    error = next(iter(sorted(Draft202012Validator(plan_schema()).iter_errors(document),
                             key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        message = error.message if len(error.message) <= 200 else error.message[:200] + "..."
        raise EvalspecError(f"{shown}: not an evalspec plan: {one_line('$' + where)}: "
                            f"{one_line(message)}")
    return Plan.from_json(document)


def specs_digest(state: DesiredState, payloads: Sequence[Payload]) -> str:
    """SHA-256 of what the specs ask for, after variables: every object's address, its
    fingerprint (its content: rows, tasks, options, members), the rest of its body (name,
    description, tags, metadata) and its lifecycle. Comments and layout do not count."""
    lifecycles = {o.address: o.spec.lifecycle.model_dump(mode="json") for o in state.objects}
    made = hashlib.sha256()
    for p in payloads:  # object by object: no one string of a whole sweep's bodies
        made.update(canonical([p.address, p.fingerprint,
                               {k: v for k, v in p.body.items() if k not in ("data", "tasks")},
                               lifecycles.get(p.address)]))
        made.update(b"\n")
    return made.hexdigest()


def _placeholders(value: Any) -> Iterator[str]:
    """The addresses ``(known after apply: ADDRESS)`` references in a body name."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if item.startswith(PLACEHOLDER) and item.endswith(")"):
                yield item[len(PLACEHOLDER):-1]
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _kind_of(address: str) -> str:
    return address.split("/", 1)[0]


def _stamp_problems(plan: Plan, action: Action) -> list[str]:
    """What is wrong with the body an action sends: it must be made for this project and
    this address, so that what the plan shows is what gets written."""
    desired = action.desired
    needs_body = action.action in ("create", "replace", "update", "restore")
    if desired is None:
        return ["it carries no body to send"] if needs_body else []
    if not needs_body:
        return ["an archive sends no body"]
    if desired["address"] != action.address or desired["kind"] != action.kind:
        return [f"its body is for {desired['address']}"]
    body = desired["body"]
    problems = []
    name = action.address.split("/", 1)[1]
    if action.kind == "Question":  # no tags or metadata: its name is its mark
        if body.get("name") != question_name(plan.project, name):
            problems.append(f"its body names {body.get('name')!r}, not "
                            f"{question_name(plan.project, name)!r}")
        return problems
    if owner_tag(plan.project) not in (body.get("tags") or []):
        problems.append(f"its body lacks the tag {owner_tag(plan.project)}")
    named = body.get("title" if action.kind == "Rubric" else "name")
    if named != name:
        problems.append(f"its body names {named!r}, not {name!r}")
    if action.kind not in ("Dataset", "Rubric"):
        metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
        if (metadata.get("evalspec.project"), metadata.get("evalspec.address")) != (
                plan.project, action.address):
            problems.append("its body's metadata is stamped for "
                            f"{metadata.get('evalspec.project')!r} at "
                            f"{metadata.get('evalspec.address')!r}")
    if action.kind == "EvaluationGroup":
        members = list(body.get("evaluation_ids") or []) + list(body.get("row_identifiers")
                                                                 or {})
        raw = [m for m in members if not (isinstance(m, str) and m.startswith(PLACEHOLDER))]
        if raw:
            problems.append(f"its members name ids directly ({', '.join(map(str, raw[:3]))}); "
                            "a plan names members by address")
    return problems


def structural_problems(plan: Plan) -> list[str]:
    """What is wrong with a saved plan on its own, before any request is made."""
    made = {a.address: a for a in plan.actions if a.action in ("create", "replace")}
    known = dict(plan.known_ids)
    problems = []
    for action in plan.actions:
        if _kind_of(action.address) != action.kind:
            problems.append(f"{action.action} {action.address}: its kind is {action.kind}")
            continue
        found: list[str] = []
        if (action.action == "create") == bool(action.remote_id):
            found.append("a create names an existing id" if action.remote_id
                         else "it names no remote id")
        if action.action != "create" and action.remote_id and not action.remote_state:
            found.append("it records no remote state to check")
        found += _stamp_problems(plan, action)
        for target in sorted(set(_placeholders(action.desired))):
            if target in known:
                continue
            if target not in made:
                found.append(f"it refers to {target}, which the plan neither keeps nor makes")
            elif target not in action.depends_on or (
                    KIND_ORDER.get(_kind_of(target), 99) >= KIND_ORDER[action.kind]):
                found.append(f"it refers to {target} without depending on it")
        problems += [f"{action.action} {action.address}: {p}" for p in found]
    for address, _ in plan.known_ids:
        if _kind_of(address) not in KIND_ORDER:
            problems.append(f"known id for {address}: not an address")
    return [one_line(p) for p in problems]


def stale_reasons(plan: Plan, actual: ActualState) -> list[str]:
    remotes = {r.id: r for r in actual.objects}
    reasons = []
    for action in plan.actions:
        if not action.remote_id:
            continue
        remote = remotes.get(action.remote_id)
        if remote is None:
            reasons.append(f"{action.address} no longer exists")
        elif remote_state(remote) != action.remote_state:
            reasons.append(f"{action.address} changed since the plan was made")
    live = {r.address for r in actual.objects if not r.archived}
    reasons += [f"{address} now exists" for address in plan.absent if address in live]
    return [one_line(r) for r in reasons]


def _renamed_from(action: Action) -> str | None:
    """The address an update renames from (``lifecycle.moved_from``): its name change."""
    if action.action not in ("update", "restore"):
        return None
    names = [c.before for c in action.changes if c.path in ("name", "title")]
    if not names or not isinstance(names[0], str):
        return None
    name = names[0].split("/", 1)[-1] if action.kind == "Question" else names[0]
    return f"{action.kind}/{name}"  # a question's platform name is evalspec:<project>/<name>


def _mismatch(remote: Remote | None, kind: str, address: str, renamed: str | None) -> str | None:
    if remote is None:
        return "is not an object this project owns"
    if remote.kind != kind:
        return f"is a {remote.kind}"
    if remote.address not in (address, renamed):
        return f"is stamped {remote.address}"
    return None


def untrusted_ids(plan: Plan, actual: ActualState,
                  dataset_items: Mapping[str, set[str]]) -> list[str]:
    """Every remote id the plan names, against the project's objects as read now:
    ``dataset_items`` holds the item ids of each dataset whose items the plan changes."""
    remotes = {r.id: r for r in actual.objects}
    renames = {a.address: _renamed_from(a) for a in plan.actions}
    problems = []
    for action in plan.actions:
        if action.remote_id:
            wrong = _mismatch(remotes.get(action.remote_id), action.kind, action.address,
                              renames[action.address])
            if wrong:
                problems.append(f"{action.action} {action.address}: {action.remote_id} {wrong}")
        sync = action.items
        if sync is not None and action.remote_id:
            own = dataset_items.get(action.remote_id, set())
            strays = [i for i in [u[0] for u in sync.update] + list(sync.remove) if i not in own]
            if strays:
                problems.append(f"{action.action} {action.address}: item "
                                f"{', '.join(strays[:3])} is not an item of this dataset")
    for address, remote_id in plan.known_ids:
        wrong = _mismatch(remotes.get(remote_id), _kind_of(address), address,
                          renames.get(address))
        if wrong:
            problems.append(f"known id for {address}: {remote_id} {wrong}")
    return [one_line(p) for p in problems]


def items_to_check(plan: Plan) -> list[str]:
    """The datasets whose item ids the plan names: their items are read before apply."""
    return [a.remote_id for a in plan.actions
            if a.items and a.remote_id and (a.items.update or a.items.remove)]
