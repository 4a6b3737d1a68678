"""What plan sends: platform request bodies with ownership stamps, and fingerprints.

Ownership (DESIGN §4): every object carries the tag ``evalspec:<project>``; evaluations and
groups carry metadata ``evalspec.project``, ``evalspec.address`` and ``evalspec.fingerprint``;
datasets (no metadata on the platform) carry the tag ``evalspec.fingerprint:<hex>``.

A fingerprint is the sha256 of canonical JSON (sorted keys, compact, UTF-8) of an object's
immutable content:

- Dataset: ``{"items": [...], "key": key}`` (with ``"files"`` when it has files);
- Evaluation: ``{"tasks": [...], "data": sha256 of the rows}`` or
  ``{"tasks": [...], "dataset": <the Dataset's fingerprint>}`` or
  ``{"tasks": [...], "dataset_id": "<id>"}`` for an unmanaged dataset, with ``files``,
  ``skip_prefilled_rows`` and ``taxonomy_params`` when set (the platform takes them only at
  creation, so a change replaces the evaluation);
- EvaluationGroup: ``{"members": [addresses], "row_identifiers": {address: column}}``;
- Question: ``{"question_type", "prompt", "configuration", "conditions"}`` (what cannot change);
- Rubric: ``{"criteria": [...]}``.

Questions have neither tags nor metadata: the platform name ``evalspec:<project>/<name>`` marks
the ones evalspec made (docs/platform-assumptions.md). Rubrics carry the owner tag and
``evalspec.fingerprint:<hex>`` like datasets. A task's ``question_id`` or ``rubric_id`` that
names a Question or Rubric of the specs is a reference: the body has the placeholder below (or
the id, once the plan knows it) and the evaluation's fingerprint has the address, so the
fingerprint does not move when a referenced object gets a new id.

Ids of objects that do not exist yet are shown as ``(known after apply: <address>)``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only annotations: refresh and apply import this without the spec models
    from evalspec.errors import Location
    from evalspec.spec.objects import DesiredObject, DesiredState

OWNER_TAG_PREFIX = "evalspec:"
FINGERPRINT_TAG_PREFIX = "evalspec.fingerprint:"
# The dataset version apply left a dataset at: a plan reads the items only when it moved.
VERSION_TAG_PREFIX = "evalspec.version:"


def version_tag(version: int) -> str:
    return f"{VERSION_TAG_PREFIX}{version}"


def recorded_version(tags: Any) -> int | None:
    """The version a dataset's tags record; None when they record none."""
    for tag in tags if isinstance(tags, list) else ():
        if isinstance(tag, str) and tag.startswith(VERSION_TAG_PREFIX):
            number = tag[len(VERSION_TAG_PREFIX):]
            return int(number) if number.isdigit() else None
    return None


def canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def known_after_apply(address: str) -> str:
    return f"(known after apply: {address})"


def owner_tag(project: str) -> str:
    return OWNER_TAG_PREFIX + project


def question_name(project: str, name: str) -> str:
    """The platform name of a question evalspec manages: its ownership mark."""
    return f"{OWNER_TAG_PREFIX}{project}/{name}"


REFERENCE_KEYS = {"question_id": "Question", "rubric_id": "Rubric"}


def map_references(tasks: list[Any], lookup: Callable[[str, str], str]) -> list[Any]:
    """``tasks`` with each ``question_id``/``rubric_id`` value replaced by
    ``lookup(kind, value)`` (kind: Question or Rubric); a task with nothing to replace is kept
    as it is. The one place task references are rewritten: names to addresses or
    placeholders (payloads), ids to addresses (fingerprints), placeholders to ids (plans),
    ids to names (import)."""
    out = []
    for task in tasks:
        config = task.get("configuration") if isinstance(task, dict) else None
        if isinstance(config, dict):
            changed = {k: lookup(REFERENCE_KEYS[k], v) for k, v in config.items()
                       if k in REFERENCE_KEYS and isinstance(v, str)}
            changed = {k: v for k, v in changed.items() if v != config[k]}
            if changed:
                task = {**task, "configuration": {**config, **changed}}
        out.append(task)
    return out


def task_references(tasks: list[dict[str, Any]], names: dict[str, set[str]],
                    replace: Callable[[str], str]) -> list[dict[str, Any]]:
    """``tasks`` with each ``question_id``/``rubric_id`` that names a Question or Rubric of
    the specs (``names``: kind -> names) replaced by ``replace(address)``."""
    return map_references(tasks, lambda kind, value: replace(f"{kind}/{value}")
                          if value in names.get(kind, ()) else value)


@dataclass(frozen=True)
class Payload:
    """One object as plan would create it."""

    address: str
    kind: str
    name: str
    fingerprint: str
    body: dict[str, Any]
    depends_on: tuple[str, ...]
    source: Location
    matrix: dict[str, Any] | None
    # An evaluation's fingerprinted content but its tasks (rows or dataset): with the tasks
    # a platform object has, it says whether only tasks changed.
    basis: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "address": self.address,
            "kind": self.kind,
            "fingerprint": self.fingerprint,
            "source": str(self.source),
        }
        if self.matrix is not None:
            out["matrix"] = self.matrix
        if self.depends_on:
            out["depends_on"] = list(self.depends_on)
        out["body"] = self.body
        return out


class _Digests:
    """Row digests shared by every instance that uses the same rows object."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Any, str]] = {}

    def rows(self, rows: list[dict[str, Any]]) -> str:
        hit = self._by_id.get(id(rows))
        if hit is None:
            hit = (rows, digest(rows))  # keep a reference so the id stays valid
            self._by_id[id(rows)] = hit
        return hit[1]


def _common(obj: DesiredObject) -> dict[str, Any]:
    body: dict[str, Any] = {"name": obj.name}
    if obj.spec.description is not None:
        body["description"] = obj.spec.description
    return body


REPEAT = "evalspec_repeat"  # which copy of a row (repeats)
REPEAT_ROW = "evalspec_row"  # JSON [the row's identifier (or index), the copy]: unique


def repeated_rows(rows: list[dict[str, Any]], repeats: int, identifier: str | None
                  ) -> list[dict[str, Any]]:
    """Every row ``repeats`` times, each copy marked with its repeat and a row identifier that
    stays unique: the group's column value (or the row's index) and the copy."""
    if repeats == 1:
        return rows
    return [{**row, REPEAT: copy,
             REPEAT_ROW: json.dumps([row.get(identifier) if identifier else index, copy],
                                    sort_keys=True)}
            for index, row in enumerate(rows) for copy in range(repeats)]


def repeat_identifiers(state: DesiredState) -> dict[str, str]:
    """Evaluation address -> the row identifier column its groups join it on."""
    found: dict[str, str] = {}
    for group in state.of_kind("EvaluationGroup"):
        for address, column in group_members(state, group, as_written=True)[1].items():
            found.setdefault(address, column)
    return found


def _evaluation_options(spec: Any) -> dict[str, Any]:
    """The create-only options an evaluation sets (files repeated with their rows): part of
    its fingerprint only when set, so evaluations without them keep their fingerprints."""
    options: dict[str, Any] = {}
    if spec.files is not None:
        options["files"] = [f for f in spec.files for _ in range(spec.repeats)]
    for key in ("skip_prefilled_rows", "taxonomy_params"):
        if getattr(spec, key) is not None:
            options[key] = getattr(spec, key)
    return options


def build_payloads(state: DesiredState) -> list[Payload]:
    """Bodies and fingerprints for every desired object, in apply order."""
    project = state.project
    owner = owner_tag(project)
    digests = _Digests()
    dataset_fingerprints: dict[str, str] = {}
    out: list[Payload] = []
    identifiers = repeat_identifiers(state) if any(
        o.spec.repeats > 1 for o in state.of_kind("Evaluation")) else {}
    names = {kind: {o.name for o in state.of_kind(kind)} for kind in REFERENCE_KEYS.values()}

    def stamp_metadata(obj: DesiredObject, fingerprint: str) -> dict[str, Any]:
        return {**obj.spec.metadata, "evalspec.project": project,
                "evalspec.address": obj.address, "evalspec.fingerprint": fingerprint}

    for obj in state.objects:
        spec = obj.spec
        location = obj.source.locate(())
        depends: tuple[str, ...] = ()
        if obj.kind in ("Question", "Rubric"):
            out.append(_review_payload(obj, project, location))
            continue
        body = _common(obj)
        if obj.kind == "Dataset":
            fingerprint = digest({"items": spec.items, "key": spec.key} if spec.files is None
                                 else {"items": spec.items, "key": spec.key, "files": spec.files})
            dataset_fingerprints[obj.name] = fingerprint
            body["tags"] = [*spec.tags, owner, FINGERPRINT_TAG_PREFIX + fingerprint]
            body["data"] = spec.items
            if spec.files is not None:
                body["files"] = spec.files
        elif obj.kind == "Evaluation":
            tasks = [t.model_dump(mode="json", exclude_none=True) for t in spec.tasks]
            referenced: list[str] = []
            content_tasks = tasks
            if names["Question"] or names["Rubric"]:
                content_tasks = task_references(tasks, names, str)  # an address stays one
                referenced = [v for t, c in zip(tasks, content_tasks, strict=True)
                              for k, v in c["configuration"].items()
                              if k in REFERENCE_KEYS and v != t["configuration"][k]]
                tasks = task_references(tasks, names, known_after_apply)
            content: dict[str, Any] = {"tasks": content_tasks}
            rows = (repeated_rows(spec.data, spec.repeats, identifiers.get(obj.address))
                    if isinstance(spec.data, list) else None)
            if rows is not None:
                content["data"] = digests.rows(rows) if rows is spec.data else digest(rows)
            elif isinstance(spec.dataset, str):
                content["dataset"] = dataset_fingerprints[spec.dataset]
                depends = (f"Dataset/{spec.dataset}",)
            else:
                content["dataset_id"] = spec.dataset.id
            depends += tuple(dict.fromkeys(a for a in referenced if a not in depends))
            options = _evaluation_options(spec)
            content.update(options)
            fingerprint = digest(content)
            body["tags"] = [*spec.tags, owner]
            body["metadata"] = stamp_metadata(obj, fingerprint)
            body["tasks"] = tasks
            body.update(options)
            if rows is not None:
                body["data"] = rows
            elif isinstance(spec.dataset, str):
                body["dataset_id"] = known_after_apply(depends[0])
            else:
                body["dataset_id"] = spec.dataset.id
        else:
            members, identifiers = group_members(state, obj)
            depends = tuple(members)
            fingerprint = digest({"members": members, "row_identifiers": identifiers})
            body["tags"] = [*spec.tags, owner]
            body["metadata"] = stamp_metadata(obj, fingerprint)
            body["evaluation_ids"] = [known_after_apply(m) for m in members]
            if identifiers:
                body["row_identifiers"] = {
                    known_after_apply(a): column for a, column in identifiers.items()
                }
        basis = ({k: v for k, v in content.items() if k != "tasks"}
                 if obj.kind == "Evaluation" else None)
        out.append(Payload(obj.address, obj.kind, obj.name, fingerprint, body, depends,
                           location, obj.matrix, basis))
    return out


QUESTION_CONTENT = ("question_type", "prompt", "configuration", "conditions")


def question_content(body: Any) -> dict[str, Any]:
    """What a question cannot change on the platform (keys left out when not set)."""
    return {k: body[k] for k in QUESTION_CONTENT if body.get(k) is not None}


def _review_payload(obj: DesiredObject, project: str, location: Location) -> Payload:
    """A Question's or a Rubric's body and fingerprint."""
    spec = obj.spec
    if obj.kind == "Question":
        content = question_content(spec.__dict__)
        fingerprint = digest(content)
        body = {"name": question_name(project, obj.name), **content}
    else:
        criteria = [c.model_dump(mode="json", exclude_none=True) for c in spec.criteria]
        fingerprint = digest({"criteria": criteria})
        body = {"title": obj.name, "criteria": criteria,
                "tags": [*spec.tags, owner_tag(project), FINGERPRINT_TAG_PREFIX + fingerprint]}
    return Payload(obj.address, obj.kind, obj.name, fingerprint, body, (), location, obj.matrix)


def group_members(state: DesiredState, group: DesiredObject, *, as_written: bool = False
                  ) -> tuple[list[str], dict[str, str]]:
    """A group's member addresses (in desired order) and each member's row identifier: for a
    member with repeats, evalspec_row (unique per copy) unless ``as_written``."""
    names = [o.name for o in state.of_kind("Evaluation")]
    chosen: set[str] = set()
    for pattern in group.spec.members:
        chosen.update(fnmatch.filter(names, pattern))
    members = [f"Evaluation/{n}" for n in names if n in chosen]
    ident = group.spec.row_identifier
    identifiers: dict[str, str] = {}
    for address in members:
        name = address.split("/", 1)[1]
        if isinstance(ident, str):
            identifiers[address] = ident
        elif isinstance(ident, dict):
            for pattern, column in ident.items():
                if fnmatch.fnmatchcase(name, pattern):
                    identifiers[address] = column
                    break
    if not as_written:
        repeated = {o.address for o in state.of_kind("Evaluation") if o.spec.repeats > 1}
        identifiers = {a: REPEAT_ROW if a in repeated else c for a, c in identifiers.items()}
    return members, identifiers
