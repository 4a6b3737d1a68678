"""The actual state: every object the project owns, read with five paged list calls.

Owned objects carry the tag ``evalspec:<project>`` (DESIGN.md §4); the list endpoints filter
on it, so refreshing N evaluations costs about N/1000 round trips and never one GET per object.
Evaluations are read with their tasks and including archived ones (an archived evaluation with
the same fingerprint is restored rather than recreated); groups with their members; datasets
including archived ones; rubrics (live ones: the platform lists no others). Questions have no
tags: every question of the account is listed, archived ones too, and those named
``evalspec:<project>/<name>`` are the project's. The reads run concurrently.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from evalspec.client.sgp import SGPClient
from evalspec.spec.payloads import (
    FINGERPRINT_TAG_PREFIX,
    digest,
    owner_tag,
    question_content,
    question_name,
)

KIND_BY_LIST = {"evaluations": "Evaluation", "groups": "EvaluationGroup", "datasets": "Dataset",
                "questions": "Question", "rubrics": "Rubric"}
# What a plan reads of a remote body (the diff, stale-plan fingerprints, ownership); a plan
# keeps only these, which saves a tenth of a 10,000-evaluation plan's memory.
PLAN_FIELDS = frozenset({
    "id", "name", "description", "tags", "metadata", "evaluation_group_metadata", "tasks",
    "members", "row_identifiers", "current_version_num", "archived_at", "deleted_at",
    "created_at", "title", "criteria", "prompt", "question_type", "configuration",
    "conditions",
})


@dataclass(frozen=True)
class Remote:
    """One owned object as the platform has it."""

    kind: str
    id: str
    address: str
    fingerprint: str | None
    archived: bool
    created_at: str
    body: dict[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        return str(self.body.get("name" if self.kind != "Rubric" else "title", ""))


@dataclass(frozen=True)
class Unowned:
    """An object that carries the project's tag without evalspec's ownership marks (someone
    added the tag by hand): never read as managed, never changed, never archived."""

    kind: str
    id: str
    name: str
    missing: str

    def warning(self, project: str) -> str:
        return (f"{self.kind} '{self.name}' ({self.id}) has the tag {owner_tag(project)} but "
                f"{self.missing}, so evalspec leaves it alone; remove the tag, or bring it "
                "under the project with 'evalspec import'")


@dataclass(frozen=True)
class ActualState:
    objects: tuple[Remote, ...]
    round_trips: int
    unowned: tuple[Unowned, ...] = ()

    def by_address(self) -> dict[str, list[Remote]]:
        """Objects per address, oldest first (the oldest live one is the one kept)."""
        grouped: dict[str, list[Remote]] = defaultdict(list)
        for obj in sorted(self.objects, key=lambda o: (o.created_at, o.id)):
            grouped[obj.address].append(obj)
        return dict(grouped)


def group_metadata(body: dict[str, Any]) -> dict[str, Any]:
    """Groups carry ``metadata``, or ``evaluation_group_metadata`` in older API generations."""
    metadata = body.get("metadata")
    if metadata is None:
        metadata = body.get("evaluation_group_metadata")
    return dict(metadata or {})


def _ownership_gap(kind: str, body: dict[str, Any], project: str) -> str | None:
    """What an object with the project's tag lacks to be the project's (None: nothing).

    Evaluations and groups need ``evalspec.project`` (this project) and an ``evalspec.address``
    of their kind in their metadata; datasets, which have no metadata, the fingerprint tag.
    A tag alone is easy to add by hand in the UI; these marks are only written by evalspec.
    """
    if kind in ("Dataset", "Rubric"):
        tags = body.get("tags") or []
        if not any(isinstance(t, str) and t.startswith(FINGERPRINT_TAG_PREFIX) for t in tags):
            return f"no {FINGERPRINT_TAG_PREFIX}<hex> tag"
        return None
    metadata = group_metadata(body)  # an evaluation's, or a group's under either name
    if metadata.get("evalspec.project") != project:
        found = metadata.get("evalspec.project")
        return (f"its metadata evalspec.project is {found!r}" if found is not None
                else "no evalspec.project metadata")
    address = metadata.get("evalspec.address")
    if not isinstance(address, str) or not address.startswith(f"{kind}/"):
        return f"no evalspec.address metadata of the form {kind}/NAME"
    return None


def _owned_question(body: dict[str, Any], project: str) -> bool:
    """A question is the project's when its name is ``evalspec:<project>/<name>`` (questions
    carry no tags or metadata: docs/platform-assumptions.md)."""
    from evalspec.spec.fields import NAME_PATTERN

    name = body.get("name")
    prefix = question_name(project, "")
    return (isinstance(name, str) and name.startswith(prefix)
            and re.match(NAME_PATTERN, name[len(prefix):]) is not None)


def _remote(kind: str, body: dict[str, Any], project: str = "") -> Remote:
    if kind in ("Dataset", "Rubric"):
        prints = [t[len(FINGERPRINT_TAG_PREFIX):] for t in body.get("tags") or []
                  if t.startswith(FINGERPRINT_TAG_PREFIX)]
        address = f"{kind}/{body['name' if kind == 'Dataset' else 'title']}"
        fingerprint = prints[0]  # checked by _ownership_gap
        archived = bool(body.get("archived_at"))
    elif kind == "Question":  # its content is its fingerprint (the diff compares it too)
        address = f"Question/{str(body['name'])[len(question_name(project, '')):]}"
        fingerprint = digest(question_content(body))
        archived = bool(body.get("archived_at"))
    else:
        metadata = group_metadata(body)
        address = str(metadata["evalspec.address"])  # checked by _ownership_gap
        fingerprint = metadata.get("evalspec.fingerprint")
        archived = bool(body.get("archived_at") or body.get("deleted_at"))
    return Remote(kind, body["id"], address, fingerprint, archived,
                  str(body.get("created_at", "")), body)


def _share_prompts(tasks: Any, strings: dict[str, str]) -> None:
    """Replace equal message texts in ``tasks`` (in place) by one shared copy: a sweep's
    prompts, the long strings it repeats in every evaluation."""
    for task in tasks if isinstance(tasks, list) else ():
        config = task.get("configuration") if isinstance(task, dict) else None
        messages = config.get("messages") if isinstance(config, dict) else None
        for message in messages if isinstance(messages, list) else ():
            text = message.get("content") if isinstance(message, dict) else None
            if isinstance(text, str):
                message["content"] = strings.setdefault(text, text)


async def refresh(client: SGPClient, project: str,
                  fields: frozenset[str] | None = None) -> ActualState:
    """Read everything the project owns: three concurrent, paged, tag-filtered lists.
    ``fields``: keep only these fields of each body as it arrives (None: keep them all)."""
    tag = [owner_tag(project)]
    before = client.core.requests_sent

    async def read(list_name: str) -> tuple[list[Remote], list[Unowned]]:
        if list_name == "evaluations":
            source = client.list_evaluations(tags=tag, include_archived=True, views=["tasks"])
        elif list_name == "groups":
            source = client.list_groups(tags=tag, views=["members", "row_identifiers"])
        elif list_name == "questions":  # untagged: every question of the account is read
            source = client.list_questions(include_archived=True)
        elif list_name == "rubrics":
            source = client.list_rubrics(tags=tag)
        else:
            source = client.list_datasets(tags=tag, include_archived=True)
        kind = KIND_BY_LIST[list_name]
        owned: list[Remote] = []
        unowned: list[Unowned] = []
        strings: dict[str, str] = {}
        async for body in source:  # each as it arrives, while the next page is on its way
            if fields is not None:
                body = {k: v for k, v in body.items() if k in fields}
                if "tasks" in body:
                    _share_prompts(body["tasks"], strings)
            if kind == "Question":
                if _owned_question(body, project):
                    owned.append(_remote(kind, body, project))
                continue
            gap = _ownership_gap(kind, body, project)
            if gap is None:
                owned.append(_remote(kind, body))
            elif not (body.get("archived_at") or body.get("deleted_at")):
                unowned.append(Unowned(kind, str(body["id"]),
                                       str(body.get("name") or body.get("title") or ""), gap))
        return owned, unowned

    answers = await asyncio.gather(*(read(name) for name in KIND_BY_LIST),
                                   return_exceptions=True)
    for answer in answers:  # the first failure in a fixed order, whichever came first
        if isinstance(answer, BaseException):
            raise answer
    results = [a for a in answers if not isinstance(a, BaseException)]
    objects = [remote for owned, _ in results for remote in owned]
    unowned = [found for _, missing in results for found in missing]
    return ActualState(tuple(objects), client.core.requests_sent - before, tuple(unowned))
