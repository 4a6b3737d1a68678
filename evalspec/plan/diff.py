"""Desired vs actual, to a plan. Pure: no I/O, the same inputs give the same plan.

Rules (DESIGN.md §6):
- Evaluation: fingerprint differs -> replace (the differing task paths force it; "data
  changed" when only rows or the dataset differ); only name/description/tags/metadata differ
  -> update; archived with the same fingerprint and none live -> restore (then update).
- Dataset: items differ -> item-level sync when ``key`` is set, else replace.
- EvaluationGroup: members or row identifiers differ, or a member is replaced (same address,
  new evaluation id) -> update with the whole group (PUT); other fields -> PATCH.
- Owned objects no longer desired -> archive; several live objects at one address -> keep the
  oldest, archive the rest.
- ``lifecycle``: protect fails the plan instead of archiving or replacing; ignore_fields skips
  drift in those fields; moved_from turns a rename into an in-place update.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evalspec.plan import review_diff
from evalspec.plan.model import (
    KIND_ORDER,
    REPLACED_MEMBER,
    Action,
    Change,
    ItemSync,
    Plan,
    TaskSync,
    Workload,
)
from evalspec.plan.refresh import ActualState, Remote, group_metadata
from evalspec.plan.targets import targeted, unmatched
from evalspec.plan.task_changes import (
    RENAMED_REFERENCE,
    in_place_tasks,
    renamed_references,
    task_list_changes,
    tasks_match,
)
from evalspec.spec.objects import DesiredObject, DesiredState
from evalspec.spec.payloads import (
    FINGERPRINT_TAG_PREFIX,
    VERSION_TAG_PREFIX,
    Payload,
    digest,
    group_members,
    known_after_apply,
    map_references,
    owner_tag,
)

NOT_EXECUTED = ("contributor_evaluation.question",)
ARCHIVE_REASON = "no longer in the specs"
DRIFT_REASON = "tasks changed on the platform"
ITEMS_DRIFT_REASON = "items changed on the platform"
REPLACE_REASON = "replacement asked for with --replace"
DESTROY_REASON = "destroy archives everything the project owns"


def user_tags(tags: Iterable[str] | None, project: str) -> list[str]:
    owner = owner_tag(project)
    return [t for t in tags or [] if t != owner
            and not t.startswith((FINGERPRINT_TAG_PREFIX, VERSION_TAG_PREFIX))]


def user_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (metadata or {}).items() if not k.startswith("evalspec.")}


def member_ids(group: Mapping[str, Any]) -> list[str]:
    """A group's current members' evaluation ids, from member records or from whole
    evaluations (seed 002's view); records marked deleted are not members."""
    return [str(m.get("evaluation_id", m.get("id"))) for m in group.get("members") or []
            if not m.get("deleted_at")]


def remote_state(remote: Remote) -> str:
    """A fingerprint of what the plan depends on in a remote object (for stale-plan checks):
    its id, name, tags, description, whether it is archived, its metadata (which carries its
    own fingerprint; a dataset's is in its tags), a group's members and a dataset's version."""
    body = remote.body
    return digest([remote.id, body.get("name"), body.get("tags"), body.get("description"),
                   remote.archived, group_metadata(body), sorted(member_ids(body)),
                   body.get("current_version_num")])


@dataclass
class _Context:
    state: DesiredState
    dataset_items: Mapping[str, list[dict[str, Any]]]
    errors: list[str]
    # Datasets whose version moved since apply recorded it: id -> whether their items are
    # still the specs' rows (read by the planner).
    checked: Mapping[str, bool] = field(default_factory=dict)
    replace: Collection[str] = ()  # addresses to replace although nothing changed
    datasets: dict[str, DesiredObject] = field(default_factory=dict)  # by name
    addresses: Mapping[str, str] = field(default_factory=dict)  # evaluation id -> address
    # Evaluations, questions and rubrics created or replaced by this plan (a new id there).
    moving: set[str] = field(default_factory=set)
    known: dict[str, str] = field(default_factory=dict)  # address -> id of the object kept

    @property
    def project(self) -> str:
        return self.state.project


def _attribute_changes(obj: DesiredObject, payload: Payload, remote: Remote,
                       project: str) -> list[Change]:
    ignore = set(obj.spec.lifecycle.ignore_fields)
    body, current = payload.body, remote.body
    changes = []
    if current.get("name") != body["name"]:
        changes.append(Change("name", current.get("name"), body["name"]))
    if "description" not in ignore and (current.get("description") or None) != (
            body.get("description") or None):
        changes.append(Change("description", current.get("description"), body.get("description")))
    # Shortcuts for the common case: the comparisons below find equal values no change either.
    same_tags = current.get("tags") == body["tags"]  # pragma: no mutate
    metadata = group_metadata(current)  # an evaluation's, or a group's under either name
    same_metadata = metadata == body.get("metadata")  # pragma: no mutate
    if "tags" not in ignore and not same_tags:
        before, after = user_tags(current.get("tags"), project), user_tags(body["tags"], project)
        if sorted(before) != sorted(after):  # tags are labels: their order is no change
            changes.append(Change("tags", before, after))
    if "metadata" not in ignore and obj.kind != "Dataset" and not same_metadata:
        before_meta, after_meta = user_metadata(metadata), user_metadata(body.get("metadata"))
        if before_meta != after_meta:
            changes.append(Change("metadata", before_meta, after_meta))
    return changes


def _workload(ctx: _Context, obj: DesiredObject, payload: Payload) -> Workload:
    tasks = [t for t in payload.body["tasks"] if t["task_type"] not in NOT_EXECUTED]
    data = obj.spec.data
    if isinstance(data, list):
        items = len(data) * obj.spec.repeats
    else:
        dataset = ctx.datasets.get(obj.spec.dataset)
        items = len(dataset.spec.items) if dataset and isinstance(dataset.spec.items, list) else 0
    models = tuple(dict.fromkeys(str(t["configuration"]["model"]) for t in tasks
                                 if "model" in t["configuration"]))
    return Workload(items, len(tasks), models)


def _on(remote: Remote, payload: Payload, action: str, reasons: Iterable[str],
        changes: Iterable[Change], desired: dict[str, Any], depends_on: tuple[str, ...] = (),
        workload: Workload | None = None, items: ItemSync | None = None,
        tasks: TaskSync | None = None) -> Action:
    """An action on an existing object: it carries the object's id and a digest of it as
    the plan saw it, which applying a saved plan checks (a stale plan is refused)."""
    return Action(action, payload.address, payload.kind, tuple(reasons), tuple(changes),
                  remote.id, desired, payload.fingerprint, depends_on, workload, items,
                  remote_state(remote), tasks)


def _evaluation(ctx: _Context, obj: DesiredObject, payload: Payload, remote: Remote
                ) -> Action | None:
    restoring = remote.archived
    changes = _attribute_changes(obj, payload, remote, ctx.project)
    moved = [d for d in payload.depends_on if d in ctx.moving and not d.startswith("Dataset/")]
    stamped = remote.fingerprint == payload.fingerprint and not moved
    unchanged = stamped and tasks_match(remote, payload.body["tasks"])
    if unchanged and not changes and not restoring and obj.address not in ctx.replace:
        return None  # the common case of a large plan: nothing to record about it
    if unchanged and obj.address in ctx.replace and not restoring:
        return _replace_or_refuse(ctx, obj, payload, remote, REPLACE_REASON, changes,
                                  _workload(ctx, obj, payload))
    if not stamped and not restoring and obj.address not in ctx.replace:
        if renamed_references(remote, payload, ctx.addresses, ctx.known):
            return _on(remote, payload, "update", [RENAMED_REFERENCE], changes,
                       _in_place(ctx, obj, payload, remote))
        in_place = in_place_tasks(remote, payload, ctx.addresses)
        if in_place is not None:
            sync, reasons, task_changes = in_place
            return _on(remote, payload, "update", reasons, task_changes + changes,
                       _in_place(ctx, obj, payload, remote), tasks=sync)
    if not unchanged:
        before_tasks = remote.body.get("tasks") or []
        task_changes = task_list_changes(before_tasks, payload.body["tasks"])
        dataset = [d for d in payload.depends_on if d.startswith("Dataset/")]
        reason = (DRIFT_REASON if stamped else f"{' and '.join(moved)} replaced" if moved
                  else "tasks changed" if task_changes
                  else f"{dataset[0]} changed" if dataset else "data changed")
        return _replace_or_refuse(ctx, obj, payload, remote, reason, task_changes + changes,
                                  _workload(ctx, obj, payload))
    sent = _in_place(ctx, obj, payload, remote)
    if restoring:
        return _on(remote, payload, "restore", ["archived"], changes, sent, payload.depends_on)
    return _on(remote, payload, "update", [], changes, sent)


def _in_place(ctx: _Context, obj: DesiredObject, payload: Payload, remote: Remote
              ) -> dict[str, Any]:
    """What an update or restore sends: the payload, with ``ignore_fields`` kept as the
    platform has them (evalspec's own tags and metadata stamps are always written)."""
    desired = payload.to_json()
    ignore = set(obj.spec.lifecycle.ignore_fields)
    if not ignore:
        return desired
    body, current = dict(desired["body"]), remote.body
    if "description" in ignore:
        body.pop("description", None)
        if current.get("description") is not None:
            body["description"] = current["description"]
    if "tags" in ignore:
        ours = [t for t in body["tags"] if t not in user_tags([t], ctx.project)]
        body["tags"] = user_tags(current.get("tags"), ctx.project) + ours
    if "metadata" in ignore and "metadata" in body:
        theirs = user_metadata(group_metadata(current))
        body["metadata"] = {**theirs, **{k: v for k, v in body["metadata"].items()
                                         if k.startswith("evalspec.")}}
    return {**desired, "body": body}


def _replace_or_refuse(ctx: _Context, obj: DesiredObject, payload: Payload, remote: Remote,
                       reason: str, changes: list[Change],
                       workload: Workload | None) -> Action:
    if obj.spec.lifecycle.protect:
        ctx.errors.append(f"{obj.address} is protected (lifecycle.protect) but would be "
                          f"replaced: {reason}")
    return _on(remote, payload, "replace", [reason], changes, payload.to_json(),
               payload.depends_on, workload)


def _dataset(ctx: _Context, obj: DesiredObject, payload: Payload, remote: Remote
             ) -> Action | None:
    restoring = remote.archived
    changes = _attribute_changes(obj, payload, remote, ctx.project)
    drifted = ctx.checked.get(remote.id) is False
    if remote.fingerprint != payload.fingerprint or drifted:
        reason = ITEMS_DRIFT_REASON if remote.fingerprint == payload.fingerprint else (
            "items changed")
        key = obj.spec.key
        current = ctx.dataset_items.get(remote.id)
        # Restoring keeps the fingerprint, so never comes here; a dataset renamed with
        # moved_from has its items read only under the new name, so it is replaced.
        if key is not None and current is not None:
            sync = _item_sync(key, current, payload.body["data"])
            return _on(remote, payload, "update", [reason], changes,
                       _in_place(ctx, obj, payload, remote), items=sync)
        return _replace_or_refuse(ctx, obj, payload, remote, reason, changes, None)
    unrecorded = ctx.checked.get(remote.id) is True
    if restoring or changes or unrecorded:
        reasons = ["archived"] if restoring else []
        if unrecorded:
            reasons.append(f"version {remote.body.get('current_version_num')} checked: the "
                           "items are the specs' rows")
        return _on(remote, payload, "restore" if restoring else "update", reasons, changes,
                   _in_place(ctx, obj, payload, remote))
    return None


def _item_sync(key: str, current: list[dict[str, Any]], desired: list[dict[str, Any]]
               ) -> ItemSync:
    by_key = {item["data"].get(key): item for item in current}
    wanted = {row.get(key): row for row in desired}
    add = tuple(row for k, row in wanted.items() if k not in by_key)
    update = tuple((by_key[k]["id"], row) for k, row in wanted.items()
                   if k in by_key and by_key[k]["data"] != row)
    remove = tuple(item["id"] for k, item in by_key.items() if k not in wanted)
    return ItemSync(add, update, remove)


def _group(ctx: _Context, obj: DesiredObject, payload: Payload, remote: Remote
           ) -> Action | None:
    changes = _attribute_changes(obj, payload, remote, ctx.project)
    # A member the project does not own (added by hand) shows as its id.
    before = sorted(ctx.addresses.get(i, i) for i in member_ids(remote.body))
    after = sorted(payload.depends_on)
    replaced = sorted(ctx.moving & set(after) & set(before))  # same address, a new evaluation
    structural: list[Change] = []
    reasons: list[str] = []
    if before != after or replaced:
        shown = [f"{a} {REPLACED_MEMBER}" if a in replaced else a for a in after]
        structural.append(Change("members", before, shown))
        if before != after:
            reasons.append("members changed")
        if len(replaced) > 2:
            reasons.append(f"{len(replaced)} members replaced")
        elif replaced:
            reasons.append(f"member{'s' if len(replaced) > 1 else ''} "
                           f"{' and '.join(replaced)} replaced")
    idents = {ctx.addresses.get(r["evaluation_id"], r["evaluation_id"]): r["column_name"]
              for r in remote.body.get("row_identifiers") or []}
    wanted = group_members(ctx.state, obj)[1]
    if idents != wanted:  # only the entries that change
        structural += [Change(f"row_identifiers[{key}]", idents.get(key), wanted.get(key))
                       for key in sorted(set(idents) | set(wanted))
                       if idents.get(key) != wanted.get(key)]
        reasons.append("row identifiers changed")
    if not structural and not changes:
        return None
    # A new member's id is known only once it is created: a structural update waits for it.
    return _on(remote, payload, "update", reasons, structural + changes,
               _in_place(ctx, obj, payload, remote), payload.depends_on if structural else ())


def diff(state: DesiredState, payloads: list[Payload], actual: ActualState, endpoint: str, *,
         dataset_items: Mapping[str, list[dict[str, Any]]] | None = None,
         checked: Mapping[str, bool] | None = None,
         targets: Iterable[str] = (), protected: Collection[str] = (),
         archive_reason: str = ARCHIVE_REASON, replace: Collection[str] = ()) -> Plan:
    """``protected``: addresses whose archive is refused although they are not in ``state``
    (destroy plans with no desired objects but keeps the specs' ``lifecycle.protect``);
    ``archive_reason`` says why what is not desired is archived; ``replace``: evaluations to
    replace although their specs did not change (a re-run, like Terraform's -replace)."""
    ctx = _Context(state, dataset_items or {}, [], checked or {}, replace,
                   {o.name: o for o in state.of_kind("Dataset")},
                   {r.id: r.address for r in actual.objects
                    if r.kind in ("Evaluation", "Question", "Rubric")})
    by_address = actual.by_address()
    objects = {o.address: o for o in state.objects}
    actions: list[Action] = []
    claimed: set[str] = set()  # remote ids a desired object takes over
    absent: list[str] = []
    known = ctx.known  # address -> id of the object kept there

    for payload in payloads:
        obj = objects[payload.address]
        if obj.kind == "Evaluation" and payload.depends_on:
            payload = _with_known_references(ctx, payload)
        remotes = [r for r in by_address.get(payload.address, []) if r.kind == obj.kind]
        live = [r for r in remotes if not r.archived]
        if not live:
            for old in obj.spec.lifecycle.moved_from:
                previous = [r for r in by_address.get(f"{obj.kind}/{old}", [])
                            if not r.archived and r.id not in claimed]
                if previous:
                    live = previous[:1]
                    break
        if live:
            keep, *extra = live
            claimed.update(r.id for r in live)
            known[payload.address] = keep.id
            for duplicate in extra:
                actions.append(Action("archive", payload.address, obj.kind,
                                      (f"duplicate of {keep.id} at the same address "
                                       "(the oldest is kept)",), remote_id=duplicate.id,
                                      remote_state=remote_state(duplicate)))
            action = _compare(ctx, obj, payload, keep)
        else:
            archived = [r for r in remotes if r.archived and r.fingerprint == payload.fingerprint
                        and obj.kind != "EvaluationGroup"
                        and (obj.kind != "Evaluation" or tasks_match(r, payload.body["tasks"]))]
            if archived:
                known[payload.address] = archived[0].id
                action = _compare(ctx, obj, payload, archived[0])
            else:
                absent.append(payload.address)
                workload = _workload(ctx, obj, payload) if obj.kind == "Evaluation" else None
                action = Action("create", payload.address, obj.kind, (), (), None,
                                payload.to_json(), payload.fingerprint, payload.depends_on,
                                workload)
        if action is not None:
            if action.action in ("create", "replace") and obj.kind != "EvaluationGroup":
                ctx.moving.add(payload.address)
            actions.append(action)

    # By address, so that a plan reads the same whatever order the platform listed them in.
    for remote in sorted(actual.objects, key=lambda r: (r.address, r.created_at, r.id)):
        if remote.archived or remote.id in claimed:
            continue
        if remote.address in protected:
            ctx.errors.append(f"{remote.address} is protected (lifecycle.protect) but would be "
                              "archived")
        actions.append(Action("archive", remote.address, remote.kind,
                              (archive_reason,), remote_id=remote.id,
                              remote_state=remote_state(remote)))
    targets = list(targets)
    ctx.errors += unmatched(targets, [p.address for p in payloads]
                             + [r.address for r in actual.objects])
    chosen = targeted(actions, targets)
    chosen.sort(key=lambda a: (KIND_ORDER[a.kind], a.action == "archive"))  # stable
    warnings = [str(w) for w in state.warnings]
    warnings += [u.warning(state.project) for u in actual.unowned]
    return Plan(state.project, endpoint, tuple(chosen), tuple(ctx.errors),
                tuple(warnings), absent=tuple(absent),
                known_ids=tuple(sorted(known.items())))


def _compare(ctx: _Context, obj: DesiredObject, payload: Payload, remote: Remote
             ) -> Action | None:
    """The action that makes ``remote`` what ``payload`` describes: an archived remote is
    restored (only an evaluation or a dataset with the same content is ever chosen)."""
    if obj.kind == "Evaluation":
        return _evaluation(ctx, obj, payload, remote)
    if obj.kind == "Dataset":
        return _dataset(ctx, obj, payload, remote)
    if obj.kind in ("Question", "Rubric"):
        return _review(ctx, obj, payload, remote)
    return _group(ctx, obj, payload, remote)


def _review(ctx: _Context, obj: DesiredObject, payload: Payload, remote: Remote
            ) -> Action | None:
    if obj.kind == "Question":
        found = review_diff.question(payload, remote)
    else:
        before = user_tags(remote.body.get("tags"), ctx.project)
        after = user_tags(payload.body["tags"], ctx.project)
        tags = ([Change("tags", before, after)] if sorted(before) != sorted(after)
                and "tags" not in obj.spec.lifecycle.ignore_fields else [])
        found = review_diff.rubric(payload, remote, tags)
    if found is None:
        return None
    action, reasons, changes = found
    if action == "replace":
        return _replace_or_refuse(ctx, obj, payload, remote, reasons[0], changes, None)
    return _on(remote, payload, action, reasons, changes, payload.to_json())


def _with_known_references(ctx: _Context, payload: Payload) -> Payload:
    """An evaluation's body with the ids of the questions and rubrics it uses, where the
    plan keeps them (new or replaced ones stay known after apply)."""
    found = {known_after_apply(a): ctx.known[a] for a in payload.depends_on
             if not a.startswith("Dataset/") and a in ctx.known and a not in ctx.moving}
    if not found:
        return payload
    tasks = map_references(payload.body["tasks"], lambda kind, value: found.get(value, value))
    return dataclasses.replace(payload, body={**payload.body, "tasks": tasks})
