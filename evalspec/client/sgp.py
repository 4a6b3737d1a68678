"""Typed entry points for the SGP v5 resources evalspec uses, and the v2 Tasks API.

Bodies and results are plain JSON dicts in the platform's own shapes (API.md, seeds/): the
plan compares them field by field, so wrapping them in models would only add a copy. Writes
whose answer evalspec never reads (updates, archives, item changes) return nothing: what a
plan needs it reads by listing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from evalspec.client.http import HttpCore

JSON = dict[str, Any]


def _csv(values: Sequence[str] | None) -> str | None:
    """Query arrays are comma-joined, as the official SDK sends them."""
    return ",".join(values) if values else None


class SGPClient:
    """The v5 API: evaluations, evaluation items, groups, datasets and dataset items,
    questions and rubrics."""

    def __init__(self, core: HttpCore) -> None:
        self.core = core

    async def aclose(self) -> None:
        await self.core.aclose()

    # -- evaluations ----------------------------------------------------------------------------
    async def create_evaluation(self, body: JSON) -> JSON:
        result: JSON = await self.core.request("POST", "/v5/evaluations", json=body)
        return result

    def list_evaluations(self, *, tags: Sequence[str] | None = None, name: str | None = None,
                         include_archived: bool = False, views: Sequence[str] | None = None,
                         page_size: int = 1000) -> AsyncIterator[JSON]:
        return self.core.iterate("/v5/evaluations", {
            "tags": _csv(tags), "name": name, "views": _csv(views),
            "include_archived": "true" if include_archived else None,
        }, page_size)

    async def get_evaluation(self, evaluation_id: str, *, include_archived: bool = False,
                             views: Sequence[str] | None = None) -> JSON:
        params = {"include_archived": "true" if include_archived else None,
                  "views": _csv(views)}
        result: JSON = await self.core.request(
            "GET", f"/v5/evaluations/{evaluation_id}",
            params={k: v for k, v in params.items() if v is not None})
        return result

    async def update_evaluation(self, evaluation_id: str, changes: JSON) -> None:
        await self.core.request("PATCH", f"/v5/evaluations/{evaluation_id}", json=changes)

    async def add_task(self, evaluation_id: str, task: JSON) -> None:
        """Add a contributor question task to an evaluation (its items are kept)."""
        await self.core.request("POST", f"/v5/evaluations/{evaluation_id}/tasks",
                                json={"task": task})

    async def update_task(self, evaluation_id: str, alias: str, configuration: JSON) -> None:
        """Replace a task's configuration (refused once contributor work is claimed)."""
        await self.core.request("PATCH", f"/v5/evaluations/{evaluation_id}/tasks/{alias}",
                                json={"configuration": configuration})

    async def restore_evaluation(self, evaluation_id: str) -> None:
        await self.update_evaluation(evaluation_id, {"restore": True})

    async def archive_evaluation(self, evaluation_id: str) -> None:
        await self.core.request("DELETE", f"/v5/evaluations/{evaluation_id}")

    def list_evaluation_items(self, evaluation_id: str) -> AsyncIterator[JSON]:
        return self.core.iterate("/v5/evaluation-items", {"evaluation_id": evaluation_id})

    # -- evaluation groups ----------------------------------------------------------------------
    async def create_group(self, body: JSON) -> JSON:
        result: JSON = await self.core.request("POST", "/v5/evaluation-groups", json=body)
        return result

    def list_groups(self, *, tags: Sequence[str] | None = None, name: str | None = None,
                    views: Sequence[str] | None = None) -> AsyncIterator[JSON]:
        return self.core.iterate("/v5/evaluation-groups", {
            "tags": _csv(tags), "name": name, "views": _csv(views)})

    async def get_group(self, group_id: str) -> JSON:
        """The group, deleted or not (apply asks whether an archive it sent took effect)."""
        result: JSON = await self.core.request("GET", f"/v5/evaluation-groups/{group_id}",
                                               params={"include_deleted": "true"})
        return result

    async def patch_group(self, group_id: str, changes: JSON) -> None:
        await self.core.request("PATCH", f"/v5/evaluation-groups/{group_id}", json=changes)

    async def replace_group(self, group_id: str, body: JSON) -> None:
        await self.core.request("PUT", f"/v5/evaluation-groups/{group_id}", json=body)

    async def archive_group(self, group_id: str) -> None:
        await self.core.request("DELETE", f"/v5/evaluation-groups/{group_id}")

    # -- datasets -------------------------------------------------------------------------------
    async def create_dataset(self, body: JSON) -> JSON:
        result: JSON = await self.core.request("POST", "/v5/datasets", json=body)
        return result

    def list_datasets(self, *, tags: Sequence[str] | None = None, name: str | None = None,
                      include_archived: bool = False) -> AsyncIterator[JSON]:
        return self.core.iterate("/v5/datasets", {
            "tags": _csv(tags), "name": name,
            "include_archived": "true" if include_archived else None})

    async def get_dataset(self, dataset_id: str, *, include_archived: bool = False) -> JSON:
        params = {"include_archived": "true"} if include_archived else None
        result: JSON = await self.core.request("GET", f"/v5/datasets/{dataset_id}",
                                               params=params)
        return result

    async def update_dataset(self, dataset_id: str, changes: JSON) -> None:
        await self.core.request("PATCH", f"/v5/datasets/{dataset_id}", json=changes)

    async def restore_dataset(self, dataset_id: str) -> None:
        await self.update_dataset(dataset_id, {"restore": True})

    async def archive_dataset(self, dataset_id: str) -> None:
        await self.core.request("DELETE", f"/v5/datasets/{dataset_id}")

    async def add_dataset_items(self, dataset_id: str, rows: list[JSON]) -> None:
        await self.core.request(
            "POST", "/v5/dataset-items/batch", json={"dataset_id": dataset_id, "data": rows})

    def list_dataset_items(self, dataset_id: str) -> AsyncIterator[JSON]:
        """The current version's items."""
        return self.core.iterate("/v5/dataset-items", {"dataset_id": dataset_id})

    async def update_dataset_item(self, item_id: str, data: JSON) -> None:
        await self.core.request("PATCH", f"/v5/dataset-items/{item_id}", json={"data": data})

    async def delete_dataset_item(self, item_id: str) -> None:
        await self.core.request("DELETE", f"/v5/dataset-items/{item_id}")

    # -- questions ------------------------------------------------------------------------------
    async def create_question(self, body: JSON) -> JSON:
        result: JSON = await self.core.request("POST", "/v5/questions", json=body)
        return result

    def list_questions(self, *, include_archived: bool = False) -> AsyncIterator[JSON]:
        """Every question of the account (questions have no tags to filter on)."""
        return self.core.iterate("/v5/questions", {
            "include_archived": "true" if include_archived else None})

    async def get_question(self, question_id: str) -> JSON:
        """The question, archived or not."""
        result: JSON = await self.core.request("GET", f"/v5/questions/{question_id}")
        return result

    async def rename_question(self, question_id: str, name: str) -> None:
        await self.core.request("PATCH", f"/v5/questions/{question_id}", json={"name": name})

    async def restore_question(self, question_id: str) -> None:
        await self.core.request("POST", f"/v5/questions/{question_id}/restore")

    async def archive_question(self, question_id: str) -> None:
        await self.core.request("DELETE", f"/v5/questions/{question_id}")

    # -- rubrics --------------------------------------------------------------------------------
    async def create_rubric(self, body: JSON) -> JSON:
        result: JSON = await self.core.request("POST", "/v5/rubrics", json=body)
        return result

    def list_rubrics(self, *, tags: Sequence[str] | None = None) -> AsyncIterator[JSON]:
        """Live rubrics (the platform lists no archived ones), criteria as summaries."""
        return self.core.iterate("/v5/rubrics", {"tags": _csv(tags)})

    async def get_rubric(self, rubric_id: str) -> JSON:
        """The rubric with its current criteria in full, archived or not."""
        result: JSON = await self.core.request("GET", f"/v5/rubrics/{rubric_id}")
        return result

    async def update_rubric(self, rubric_id: str, changes: JSON) -> None:
        await self.core.request("PATCH", f"/v5/rubrics/{rubric_id}", json=changes)

    async def archive_rubric(self, rubric_id: str) -> None:
        await self.core.request("DELETE", f"/v5/rubrics/{rubric_id}")

    async def add_criterion(self, rubric_id: str, criterion: JSON) -> None:
        await self.core.request("POST", f"/v5/rubrics/{rubric_id}/criteria", json=criterion)

    async def update_criterion(self, rubric_id: str, criterion_id: str, changes: JSON) -> None:
        await self.core.request("PATCH", f"/v5/rubrics/{rubric_id}/criteria/{criterion_id}",
                                json=changes)


class TasksClient:
    """Scale's v2 Tasks API (a different host and a Bearer token)."""

    def __init__(self, core: HttpCore) -> None:
        self.core = core

    async def aclose(self) -> None:
        await self.core.aclose()

    async def project_names(self) -> list[str]:
        """The names of the account's projects (GET /v2/projects)."""
        body = await self.core.request("GET", "/v2/projects")
        projects = body.get("projects") if isinstance(body, dict) else None
        return [str(p["name"]) for p in projects or [] if isinstance(p, dict) and "name" in p]

    async def pages(self, params: JSON, next_token: str | None = None
                    ) -> AsyncIterator[tuple[list[JSON], str | None]]:
        """Pages of tasks with the token of the page after each (None after the last). Each
        message's ``model_parameters`` (the model a response came from) is asked for: the API
        includes it only when ``opts`` names it."""
        query: JSON = {k: v for k, v in params.items() if v is not None}
        query.setdefault("limit", 100)
        query["opts"] = ["model_parameters"]  # a repeated parameter, as the API reads opts
        while True:
            if next_token:
                query["next_token"] = next_token
            body = await self.core.request("GET", "/v2/tasks", params=query)
            next_token = body.get("next_token")
            yield body.get("tasks") or [], next_token
            if not next_token:
                return
