"""Apply executes a plan; it never re-diffs.

Order: questions -> rubrics -> datasets -> evaluations (create, restore, update, the new half of
replace) -> groups -> archives (objects no longer wanted, duplicates, and the old half of
replace, after groups have been repointed; questions and rubrics last, once the evaluations
that used them are gone). Actions within a stage run concurrently, up to ``parallelism`` at a time.

Every create goes through :func:`create_once`: when its answer is lost, the owned object at
that address with that fingerprint is looked up and adopted instead of creating a second one.
An action that fails is reported; actions that depend on it are skipped; the rest go on.
Running apply again converges.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from evalspec.client.errors import APIError, BadRequestError, NotFoundError
from evalspec.client.http import create_once
from evalspec.client.sgp import SGPClient
from evalspec.plan.model import Action, Plan
from evalspec.plan.refresh import group_metadata
from evalspec.plan.review_diff import pair_criteria
from evalspec.spec.payloads import (
    FINGERPRINT_TAG_PREFIX,
    VERSION_TAG_PREFIX,
    digest,
    owner_tag,
    question_content,
    version_tag,
)

PLACEHOLDER = "(known after apply: "


@dataclass(frozen=True)
class Outcome:
    address: str
    action: str
    status: str  # "done", "failed" or "skipped"
    detail: str = ""
    remote_id: str | None = None


Event = Callable[[Outcome], None]


class _Run:
    def __init__(self, plan: Plan, client: SGPClient, parallelism: int, on_event: Event,
                 stop: asyncio.Event) -> None:
        self.client = client
        self.gate = asyncio.Semaphore(max(1, parallelism))
        self.ids = dict(plan.known_ids)
        self.failed: set[str] = set()
        self.outcomes: list[Outcome] = []
        self.on_event = on_event
        self.stop = stop
        self.owner = owner_tag(plan.project)

    def resolve(self, value: Any) -> Any:
        """Replace ``(known after apply: ADDRESS)`` with the id the object now has."""
        if isinstance(value, str) and value.startswith(PLACEHOLDER):
            return self.ids[value[len(PLACEHOLDER):-1]]
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {self.resolve(k): self.resolve(v) for k, v in value.items()}
        return value

    def record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if outcome.status != "done":
            self.failed.add(outcome.address)
        self.on_event(outcome)

    async def run_stage(self, actions: list[Action],
                        work: Callable[[Action], Awaitable[str | None]],
                        label: Callable[[Action], str] = lambda a: a.action) -> None:
        async def one(action: Action) -> None:
            name = label(action)
            blocked = [d for d in action.depends_on if d in self.failed]
            if blocked:
                self.record(Outcome(action.address, name, "skipped",
                                    f"depends on {', '.join(blocked)}"))
                return
            async with self.gate:
                if self.stop.is_set():  # checked once its turn comes
                    self.record(Outcome(action.address, name, "skipped", "interrupted"))
                    return
                try:
                    remote_id = await work(action)
                except APIError as exc:
                    self.record(Outcome(action.address, name, "failed", str(exc)))
                    return
            if remote_id:
                self.ids[action.address] = remote_id
            self.record(Outcome(action.address, name, "done", remote_id=remote_id))

        await asyncio.gather(*(one(a) for a in actions))

    # -- evaluations and datasets ---------------------------------------------------------------
    async def create(self, action: Action) -> str:
        assert action.desired is not None  # pragma: no mutate (a create has its body)
        body = self.resolve(action.desired["body"])
        kind = action.kind
        if kind == "Dataset":  # a new dataset is at version 1 (checked below)
            body = {**body, "tags": _with_version(body["tags"], 1)}

        async def make() -> dict[str, Any]:
            if kind == "Question":
                return await self.client.create_question(body)
            if kind == "Rubric":
                return await self.client.create_rubric(body)
            if kind == "Dataset":
                return await self.client.create_dataset(body)
            if kind == "Evaluation":
                return await self.client.create_evaluation(body)
            return await self.client.create_group(body)

        async def lookup() -> dict[str, Any] | None:
            return await self.find(action)

        created = await create_once(make, lookup)
        version = created.get("current_version_num")
        if kind == "Dataset" and isinstance(version, int) and version != 1:
            await self.client.update_dataset(str(created["id"]),
                                             {"tags": _with_version(body["tags"], version)})
        return str(created["id"])

    async def find(self, action: Action) -> dict[str, Any] | None:
        """The owned object a lost create may have made: same address and fingerprint. A
        replacement has the fingerprint of the evaluation it replaces (--replace), so the
        old one is passed over; a dataset is only ever replaced when its rows change."""
        tags = [self.owner]
        if action.kind in ("Question", "Rubric"):
            return await self.find_review(action)
        if action.kind == "Dataset":
            assert action.desired is not None  # pragma: no mutate (a create has its body)
            source = self.client.list_datasets(tags=tags, name=action.desired["body"]["name"])
            mark = FINGERPRINT_TAG_PREFIX + str(action.fingerprint)
            async for item in source:
                if mark in (item.get("tags") or []):
                    return item
            return None
        # Without the tag the same group is found, after reading every group of the account.
        listing = (self.client.list_evaluations(tags=tags) if action.kind == "Evaluation"
                   else self.client.list_groups(tags=tags))  # pragma: no mutate
        async for item in listing:
            meta = group_metadata(item)  # an evaluation's metadata, or a group's in either name
            if (item["id"] != action.remote_id
                    and meta.get("evalspec.address") == action.address
                    and meta.get("evalspec.fingerprint") == action.fingerprint):
                return item
        return None

    async def find_review(self, action: Action) -> dict[str, Any] | None:
        """A live question with the project's name for the address and this content, or a
        rubric with the owner tag, the title and this fingerprint."""
        assert action.desired is not None  # pragma: no mutate (a create has its body)
        body = action.desired["body"]
        if action.kind == "Question":
            async for item in self.client.list_questions():
                if (item.get("name") == body["name"] and item["id"] != action.remote_id
                        and digest(question_content(item)) == action.fingerprint):
                    return item
            return None
        mark = FINGERPRINT_TAG_PREFIX + str(action.fingerprint)
        async for item in self.client.list_rubrics(tags=[self.owner]):
            if (item.get("title") == body["title"] and item["id"] != action.remote_id
                    and mark in (item.get("tags") or [])):
                return item
        return None

    async def update_review(self, action: Action, body: dict[str, Any]) -> None:
        """A question renamed or restored; a rubric's title, tags and criteria."""
        assert action.remote_id is not None  # pragma: no mutate
        remote_id = action.remote_id
        if action.kind == "Question":
            if action.action == "restore":
                await self.client.restore_question(remote_id)
            if any(c.path == "name" for c in action.changes):
                await self.client.rename_question(remote_id, body["name"])
            return
        current = (await self.client.get_rubric(remote_id)).get("criteria") or []
        pairs, _ = pair_criteria(current, body["criteria"])  # removed ones replace the rubric
        for criterion, index in zip(body["criteria"], pairs, strict=True):
            if index is None:
                await self.client.add_criterion(remote_id, criterion)
            elif any(current[index].get(k) != v for k, v in criterion.items()):
                await self.client.update_criterion(remote_id, current[index]["id"], criterion)
        await self.client.update_rubric(remote_id, {"title": body["title"],
                                                    "tags": body["tags"]})

    async def update(self, action: Action) -> str:
        # For the type checker: the diff gives every update and restore both.
        assert action.remote_id is not None and action.desired is not None  # pragma: no mutate
        body = self.resolve(action.desired["body"])
        remote_id = action.remote_id
        if action.kind in ("Question", "Rubric"):
            await self.update_review(action, body)
            return remote_id
        if action.action == "restore":
            if action.kind == "Dataset":
                await self.client.restore_dataset(remote_id)
            else:
                await self.client.restore_evaluation(remote_id)
        if action.kind == "Dataset":
            await self.sync_items(action)
            # The version the items are at now: the next plan reads them only if it moves.
            version = (await self.client.get_dataset(remote_id)).get("current_version_num")
            tags = body["tags"] if not isinstance(version, int) else _with_version(
                body["tags"], version)
            fields = {"name": body["name"], "tags": tags}
            if "description" in body:
                fields["description"] = body["description"]
            await self.client.update_dataset(remote_id, fields)
            return remote_id
        if action.kind == "EvaluationGroup":
            metadata_removed = any(c.path == "metadata" and set(c.before or {}) - set(c.after or {})
                                   for c in action.changes)
            structural = any(c.path == "members" or c.path.startswith("row_identifiers")
                             for c in action.changes)
            if structural or metadata_removed:
                await self.client.replace_group(remote_id, {
                    k: body[k] for k in ("name", "description", "tags", "metadata",
                                         "row_identifiers", "evaluation_ids") if k in body})
            else:
                await self.client.patch_group(remote_id, {
                    k: body[k] for k in ("name", "description", "tags", "metadata")
                    if k in body})
            return remote_id
        if action.tasks is not None:
            await self.sync_tasks(action)
        changes: dict[str, Any] = {"name": body["name"], "tags": body["tags"]}
        if "description" in body:
            changes["description"] = body["description"]
        before = next((c.before for c in action.changes if c.path == "metadata"), None) or {}
        changes["metadata"] = {**{k: None for k in before if k not in body["metadata"]},
                               **body["metadata"]}
        await self.client.update_evaluation(remote_id, changes)
        return remote_id

    async def sync_tasks(self, action: Action) -> None:
        """Contributor question tasks added and contributor task configurations replaced in
        place; the evaluation's new fingerprint is stamped after (by the update)."""
        assert action.tasks is not None and action.remote_id is not None  # pragma: no mutate
        for task in self.resolve(list(action.tasks.add)):
            try:
                await self.client.add_task(action.remote_id, task)
            except BadRequestError:
                if not await self._has_task(action.remote_id, task):
                    raise
                # added by an earlier, interrupted apply: nothing left to do
        for alias, configuration in self.resolve([list(u) for u in action.tasks.update]):
            try:
                await self.client.update_task(action.remote_id, alias, configuration)
            except APIError as refused:
                raise APIError(f"{refused}; the platform keeps a task's configuration once "
                               "contributor work on it is claimed: run 'evalspec apply "
                               f"--replace {action.address}' to start the evaluation over "
                               "(its answers are archived with it)") from None

    async def _has_task(self, evaluation_id: str, task: dict[str, Any]) -> bool:
        body = await self.client.get_evaluation(evaluation_id, views=["tasks"])
        return any(existing == task for existing in body.get("tasks") or [])

    async def sync_items(self, action: Action) -> None:
        sync = action.items
        if sync is None or action.remote_id is None:
            return
        if sync.add:
            await self.client.add_dataset_items(action.remote_id, list(sync.add))
        for item_id, data in sync.update:
            await self.client.update_dataset_item(item_id, data)
        for item_id in sync.remove:
            try:
                await self.client.delete_dataset_item(item_id)
            except BadRequestError:
                pass  # already deleted by an earlier, interrupted apply

    async def archive(self, action: Action, remote_id: str) -> None:
        """Archive, idempotently: when the platform refuses (a retried DELETE whose first try
        went through, say) or never answers, the object's own state decides, never the
        wording of the error."""
        try:
            if action.kind == "Question":
                await self.client.archive_question(remote_id)
            elif action.kind == "Rubric":
                await self.client.archive_rubric(remote_id)
            elif action.kind == "Dataset":
                await self.client.archive_dataset(remote_id)
            elif action.kind == "Evaluation":
                await self.client.archive_evaluation(remote_id)
            else:
                await self.client.archive_group(remote_id)
        except APIError as refused:
            try:
                done = await self.archived(action.kind, remote_id)
            except APIError:
                raise refused from None  # what went wrong first is what the user needs
            if not done:
                raise

    async def archived(self, kind: str, remote_id: str) -> bool:
        """Whether the object is archived (or gone) on the platform now."""
        try:
            if kind == "Question":
                body = await self.client.get_question(remote_id)
            elif kind == "Rubric":
                body = await self.client.get_rubric(remote_id)
            elif kind == "Dataset":
                body = await self.client.get_dataset(remote_id, include_archived=True)
            elif kind == "Evaluation":
                body = await self.client.get_evaluation(remote_id, include_archived=True)
            else:
                body = await self.client.get_group(remote_id)
        except NotFoundError:
            return True  # nothing left to archive
        return bool(body.get("archived_at") or body.get("deleted_at"))


def _with_version(tags: list[str], version: int) -> list[str]:
    return [t for t in tags if not t.startswith(VERSION_TAG_PREFIX)] + [version_tag(version)]


async def execute(plan: Plan, client: SGPClient, *, parallelism: int,
                  on_event: Event = lambda outcome: None,
                  stop: asyncio.Event | None = None) -> list[Outcome]:
    """Carry out ``plan``; returns one outcome per action (and per replaced old object)."""
    run = _Run(plan, client, parallelism, on_event, stop or asyncio.Event())

    async def build(action: Action) -> str | None:
        if action.action in ("create", "replace"):
            return await run.create(action)
        return await run.update(action)

    for kind in ("Question", "Rubric", "Dataset", "Evaluation", "EvaluationGroup"):
        stage = [a for a in plan.actions if a.kind == kind and a.action != "archive"]
        await run.run_stage(stage, build)

    retiring = [a for a in plan.actions if a.action == "archive"] + [
        a for a in plan.actions if a.action == "replace"]  # the old object of each

    archive_run = _Run(plan, client, parallelism, on_event, run.stop)

    async def retire(action: Action) -> str | None:
        assert action.remote_id is not None
        if action.action == "replace" and action.address in run.failed:
            raise APIError("the replacement was not created; the old object is kept")
        await archive_run.archive(action, action.remote_id)
        return action.remote_id

    def label(action: Action) -> str:
        return "archive" if action.action == "archive" else "archive old"

    for kind in ("EvaluationGroup", "Evaluation", "Dataset", "Rubric", "Question"):
        await archive_run.run_stage([a for a in retiring if a.kind == kind], retire, label)
    return run.outcomes + archive_run.outcomes
