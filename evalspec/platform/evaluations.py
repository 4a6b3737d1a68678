"""Evaluations (``/v5/evaluations``), their tasks sub-resource and their items.

An evaluation's rows live in a side document (kind ``evaluation.rows``) so that listing a page
of evaluations never decodes their data. Evaluations with tasks that need execution start
``running`` and complete ``complete_after`` seconds after creation; until then progress grows
linearly. Items carry deterministic synthetic outputs under each task's alias once complete.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from evalspec.platform.api import (
    Account,
    JSONRoute,
    ListParams,
    Paging,
    Settings,
    SplicedJSON,
    StoreDep,
    get_or_404,
    identity,
    merge_patch,
    split_list,
)
from evalspec.platform.datasets import create_dataset
from evalspec.platform.scoring import Scorer
from evalspec.platform.store import Store, Stored, dumps, new_id, now
from evalspec.platform.task_schema import problem as task_problem
from evalspec.spec.aliases import task_alias

router = APIRouter(route_class=JSONRoute)

TaskType = Literal[
    "chat_completion", "inference", "application_variant", "agentex_output", "metric",
    "auto_evaluation.question", "auto_evaluation.guided_decoding", "auto_evaluation.agent",
    "contributor_evaluation.question", "custom_function",
]
NOT_EXECUTED = ("contributor_evaluation.question",)


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_type: TaskType
    alias: str | None = Field(None, min_length=1, max_length=128)
    configuration: dict[str, Any]


class NewDataset(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    description: str | None = None
    tags: list[str] | None = None
    keys: list[str] | None = None


class EvaluationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128)
    description: str | None = Field(None, max_length=280)
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    tasks: list[TaskIn] | None = None
    data: list[dict[str, Any]] | None = None
    dataset_id: str | None = None
    dataset: NewDataset | None = None
    files: list[dict[str, str]] | None = None
    taxonomy_params: dict[str, Any] | None = None
    skip_prefilled_rows: bool | None = None


class EvaluationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=128)
    description: str | None = Field(None, max_length=280)
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    restore: bool | None = None


class FilterClause(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    operator: Literal["==", "!=", ">=", "<=", "IN", "NOT_IN"]
    value: str
    object: str | None = None


class FilterBody(BaseModel):
    """The SDK's body: its filters (required; paging and views go in the query)."""

    model_config = ConfigDict(extra="forbid")
    filters: list[FilterClause] = Field(max_length=10)


def _unprocessable(loc: list[Any], message: str) -> HTTPException:
    return HTTPException(422, [{"loc": loc, "msg": message, "type": "value_error"}])


def _check_tasks(tasks: list[TaskIn]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for i, task in enumerate(tasks):
        alias = task_alias(task.model_dump())
        if alias in seen:
            raise _unprocessable(["body", "tasks", i, "alias"], f"duplicate task alias {alias!r}")
        seen.add(alias)
        dumped = task.model_dump(exclude_none=True)
        refused = task_problem(dumped)
        if refused is not None:  # what scale-gp-beta's types refuse, the platform refuses
            path, message = refused
            raise _unprocessable(["body", "tasks", i, *path], message)
        out.append(dumped)
    return out


def _created(evaluation: dict[str, Any]) -> float:
    """Creation time in epoch seconds (kept with the evaluation, parsed for older rows)."""
    created = evaluation.get("_created")
    if created is None:
        stamp = evaluation["created_at"].replace("Z", "+00:00")
        created = datetime.fromisoformat(stamp).timestamp()
    return float(created)


def runs(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """The bookkeeping kept with an evaluation so that its status needs no tasks decoded:
    whether any task executes, and the models tasks run on. Set whenever tasks change."""
    return {"_executed": any(t["task_type"] not in NOT_EXECUTED for t in tasks),
            "_models": [str(t.get("configuration", {}).get("model", "")) for t in tasks]}


def _runs(evaluation: dict[str, Any]) -> dict[str, Any]:
    """``runs`` as kept, or derived for evaluations written before it was kept."""
    return evaluation if "_executed" in evaluation else runs(evaluation["tasks"])


FAILED_REASON = "every item failed (the emulator fails this model)"


def _clock(evaluation: dict[str, Any], settings: Settings
           ) -> tuple[int, int, bool, bool, float]:
    """Items in all, items processed, whether any task executes, whether they fail, and the
    fraction done, derived from the clock."""
    total = evaluation["_item_count"]
    executed = _runs(evaluation)["_executed"]
    if not executed or settings.complete_after <= 0:
        done = 1.0
    else:
        done = min(1.0, (time.time() - _created(evaluation)) / settings.complete_after)
    processed = total if done >= 1.0 else int(total * done)
    return total, processed, executed, executed and _fails(evaluation, settings), done


def _status(total: int, processed: int, executed: bool, failing: bool, finished: bool
            ) -> tuple[str, dict[str, Any]]:
    workflows = 1 if executed else 0
    successful, failed = (0, processed) if failing else (processed, 0)
    status = "running" if not finished else "failed" if failing else "completed"
    return status, {
        "workflows": {"total": workflows,
                      "completed": workflows if finished and not failing else 0,
                      "failed": workflows if finished and failing else 0,
                      "pending": 0 if finished else workflows},
        "items": {"total": total, "successful": successful, "failed": failed,
                  "pending": total - processed, "failed_items": []},
    }


@functools.lru_cache(maxsize=4096)
def _status_text(total: int, processed: int, executed: bool, failing: bool, finished: bool
                 ) -> str:
    """The status keys of a response as JSON text; a page of finished evaluations mostly
    shares a handful of them."""
    status, counts = _status(total, processed, executed, failing, finished)
    reason = dumps(FAILED_REASON) if status == "failed" else "null"
    return f'"status":"{status}","status_reason":{reason},"progress":{dumps(counts)}'


def progress(evaluation: dict[str, Any], settings: Settings) -> tuple[str, dict[str, Any], float]:
    """Status, progress and the fraction of items done, derived from the clock."""
    total, processed, executed, failing, done = _clock(evaluation, settings)
    return (*_status(total, processed, executed, failing, done >= 1.0), done)


def _fails(evaluation: dict[str, Any], settings: Settings) -> bool:
    """Whether a task runs on a model the emulator was told to fail (``--fail-model``)."""
    from fnmatch import fnmatchcase

    return any(fnmatchcase(model, pattern)
               for model in _runs(evaluation)["_models"] for pattern in settings.fail_models)


def _state(evaluation: Stored) -> dict[str, Any]:
    """What ``progress`` reads: the bookkeeping (the whole body for older evaluations)."""
    if "_created" in evaluation.private and "_executed" in evaluation.private:
        return evaluation.private
    return evaluation.body()


class Renderer:
    """Turns stored evaluations into response texts: the stored public text (with or without
    tasks, by view), spliced with the linked datasets' texts (read in one go) and the status
    and progress of the moment. Nothing stored is decoded but the small bookkeeping."""

    def __init__(self, request: Request, account: str, views: list[str]) -> None:
        self.settings: Settings = request.app.state.settings
        self.store: Store = request.app.state.store
        self.account = account
        self.tasks = "tasks" in views

    def many(self, evaluations: Sequence[Stored]) -> list[str]:
        ids = sorted({d for e in evaluations for d in e.private["_dataset_ids"]})
        datasets = self.store.get_many_stored(self.account, "dataset", ids)
        return [self.text(e, datasets) for e in evaluations]

    def text(self, evaluation: Stored, datasets: dict[str, Stored] | None = None) -> str:
        linked = evaluation.private["_dataset_ids"]
        if datasets is None:
            datasets = self.store.get_many_stored(self.account, "dataset", linked)
        total, processed, executed, failing, done = _clock(_state(evaluation), self.settings)
        status = _status_text(total, processed, executed, failing, done >= 1.0)
        return (f'{evaluation.head(self.tasks)},'
                f'"datasets":[{",".join(datasets[d].public for d in linked if d in datasets)}],'
                f'{status}}}')

    def one(self, evaluation: dict[str, Any] | Stored) -> SplicedJSON:
        """The response for one evaluation (its body, or as stored)."""
        if isinstance(evaluation, dict):
            evaluation = Stored.of("evaluation", evaluation)
        return SplicedJSON(self.text(evaluation).encode())


def get_evaluation(store: Store, account: str, evaluation_id: str,
                   include_archived: bool = False) -> dict[str, Any]:
    return get_or_404(store, account, "evaluation", evaluation_id, "evaluation",
                      include_archived=include_archived)


def _rows_for(store: Store, db: Any, account: str, body: EvaluationCreate
              ) -> tuple[list[dict[str, Any]], list[str | None], list[str], int | None]:
    """Rows, their dataset item ids, the linked dataset ids and the dataset's version, for the
    three create shapes."""
    if body.dataset_id is not None:
        # The SDK's shapes: {data}, {dataset_id, data of item ids?}, {data, dataset}; files
        # go with rows sent in the body, never with an existing dataset.
        for mixed in ("dataset", "files"):
            if getattr(body, mixed) is not None:
                raise _unprocessable(["body", mixed], f"'{mixed}' cannot be sent with "
                                     "'dataset_id' (an evaluation on an existing dataset)")
        dataset = store.get(account, "dataset", body.dataset_id)
        if dataset is None or dataset["archived_at"]:
            raise HTTPException(400, f"dataset {body.dataset_id!r} does not exist")
        items = [i for i in store.children(dataset["id"], "dataset.item") if i["_removed"] is None]
        if body.data:
            wanted = {row.get("dataset_item_id") for row in body.data}
            if None in wanted:
                raise _unprocessable(["body", "data"], "each row needs a dataset_item_id")
            items = [i for i in items if i["id"] in wanted]
        return ([i["data"] for i in items], [i["id"] for i in items], [dataset["id"]],
                dataset["current_version_num"])
    if not body.data:
        raise _unprocessable(["body", "data"], "data or dataset_id is required")
    if body.dataset is not None:
        keys = body.dataset.keys
        rows = [{k: v for k, v in r.items() if keys is None or k in keys} for r in body.data]
        dataset = create_dataset(store, db, account, body.dataset.name, rows,
                                 body.dataset.description, body.dataset.tags, None)
        items = store.children(dataset["id"], "dataset.item")
        return body.data, [i["id"] for i in items], [dataset["id"]], 1
    return body.data, [None] * len(body.data), [], None


@router.post("/v5/evaluations")
async def create(body: EvaluationCreate, request: Request, account: str = Account,
           store: Store = StoreDep) -> SplicedJSON:
    tasks = _check_tasks(body.tasks or [])
    with store.transaction() as db:
        rows, item_ids, dataset_ids, version = _rows_for(store, db, account, body)
        evaluation: dict[str, Any] = {
            "id": new_id("evaluation"), "object": "evaluation", "name": body.name,
            "description": body.description, "tags": body.tags or [],
            "metadata": body.metadata or {}, "created_at": now(),
            "created_by": identity(account), "created_by_user_id": f"user_{account}",
            "archived_at": None, "error_count": 0, "tasks": tasks, "_dataset_ids": dataset_ids,
            "_item_count": len(rows), "_created": time.time(), **runs(tasks),
            # What its outputs and scores follow, fixed now: a later reader's settings (another
            # shell's EVALSPEC_LOCAL_MODEL_QUALITY) never change a finished evaluation.
            "_scoring": {"seed": request.app.state.settings.faults.seed,
                         "qualities": [list(q) for q in request.app.state.settings.model_quality]},
            "_taxonomy": body.taxonomy_params or {},
        }
        stored = store.add(db, account, "evaluation", evaluation)
        store.insert(db, account, "evaluation.rows",
                     {"id": f"{evaluation['id']}.rows", "rows": rows, "item_ids": item_ids,
                      "files": body.files, "version_num": version}, parent=evaluation["id"])
    return Renderer(request, account, ["tasks"]).one(stored)


def _views(views: list[str] | None) -> list[str]:
    return split_list(views)


@router.get("/v5/evaluations")
async def list_evaluations(
    request: Request, account: str = Account, store: Store = StoreDep,
    paging: ListParams = Paging, name: str | None = None,
    tags: list[str] | None = Query(None), include_archived: bool = False,
    views: list[str] | None = Query(None),
) -> SplicedJSON:
    page = paging.texts(store, account, "evaluation", name=name, tags=split_list(tags),
                        include_archived=include_archived)
    return paging.spliced(page, Renderer(request, account, _views(views)).many(page.items))


def _matches(evaluation: dict[str, Any], clause: FilterClause, settings: Settings) -> bool:
    if clause.key == "tag":
        values = evaluation["tags"]
    elif clause.key == "status":
        values = [progress(evaluation, settings)[0]]
    else:
        meta = evaluation["metadata"]
        values = [str(meta[clause.key])] if clause.key in meta else []
    wanted = [v.strip() for v in clause.value.split(",")] if "IN" in clause.operator else []
    op = clause.operator
    if op == "==":
        return clause.value in values
    if op == "!=":
        return clause.value not in values
    if op == "IN":
        return any(v in wanted for v in values)
    if op == "NOT_IN":
        return not any(v in wanted for v in values)
    return any((v >= clause.value) if op == ">=" else (v <= clause.value) for v in values)


@router.post("/v5/evaluations/filter")
async def filter_evaluations(
    body: FilterBody, request: Request, account: str = Account, store: Store = StoreDep,
    paging: ListParams = Paging, include_archived: bool = False,
    views: list[str] | None = Query(None),
) -> SplicedJSON:
    settings: Settings = request.app.state.settings
    page = paging.texts(store, account, "evaluation", include_archived=include_archived,
                        where=lambda e: all(_matches(e, c, settings) for c in body.filters))
    return paging.spliced(page, Renderer(request, account, _views(views)).many(page.items))


@router.get("/v5/evaluations/{evaluation_id}")
async def retrieve(evaluation_id: str, request: Request, include_archived: bool = False,
             views: list[str] | None = Query(None), account: str = Account,
             store: Store = StoreDep) -> SplicedJSON:
    evaluation = get_evaluation(store, account, evaluation_id, include_archived)
    return Renderer(request, account, _views(views)).one(evaluation)


@router.patch("/v5/evaluations/{evaluation_id}")
async def update(evaluation_id: str, body: EvaluationPatch, request: Request,
           account: str = Account, store: Store = StoreDep) -> SplicedJSON:
    with store.transaction() as db:
        evaluation = get_evaluation(store, account, evaluation_id, include_archived=True)
        if body.restore:
            evaluation["archived_at"] = None
        else:
            if evaluation["archived_at"]:
                raise HTTPException(400, "evaluation is archived; restore it before updating")
            changes = body.model_dump(exclude_unset=True, exclude={"restore", "metadata"})
            if not changes and body.metadata is None:
                raise HTTPException(400, "nothing to update")
            evaluation.update(changes)
            if body.metadata is not None:
                evaluation["metadata"] = merge_patch(evaluation["metadata"], body.metadata)
        store.save(db, evaluation)
    return Renderer(request, account, ["tasks"]).one(evaluation)


@router.delete("/v5/evaluations/{evaluation_id}")
async def archive(evaluation_id: str, request: Request, account: str = Account,
            store: Store = StoreDep) -> SplicedJSON:
    from evalspec.platform.groups import drop_member

    with store.transaction() as db:
        evaluation = get_evaluation(store, account, evaluation_id)  # archived: 404, like a GET
        evaluation["archived_at"] = now()
        store.save(db, evaluation)
        drop_member(store, db, account, evaluation_id)
    return Renderer(request, account, []).one(evaluation)


# -- items ------------------------------------------------------------------------------------

FAILED_ITEM_MESSAGE = "the model returned an error (the emulator fails this model)"


def item_id(evaluation_id: str, index: int) -> str:
    return f"{evaluation_id}.item{index:06d}"


def items_of(store: Store, evaluation: dict[str, Any], settings: Settings,
             indices: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """The evaluation's items (only those at ``indices`` when given: a page is scored, not
    every row for every page)."""
    rows = store.children(evaluation["id"], "evaluation.rows")[0]
    _, _, done = progress(evaluation, settings)
    finished = int(len(rows["rows"]) * done) if done < 1.0 else len(rows["rows"])
    failing = _fails(evaluation, settings)
    frozen = evaluation.get("_scoring")  # absent on evaluations stored by older versions
    scorer = (Scorer(frozen["seed"], tuple((p, q) for p, q in frozen["qualities"])) if frozen
              else Scorer(settings.faults.seed, settings.model_quality))

    def skipped(task: dict[str, Any]) -> bool:
        return task["task_type"] in NOT_EXECUTED

    items = []
    for i in indices if indices is not None else range(len(rows["rows"])):
        row, dataset_item = rows["rows"][i], rows["item_ids"][i]
        ran = i < finished and not failing
        data = scorer.outputs(evaluation["tasks"], row, i, skipped) if ran else dict(row)
        statuses = {}
        errors = {}
        for task in evaluation["tasks"]:
            alias = task_alias(task)
            if skipped(task) or i >= finished:
                statuses[alias] = "pending"
            elif failing:
                statuses[alias] = "errored"  # the SDK's word; the reason is in task_errors
                errors[alias] = {"message": FAILED_ITEM_MESSAGE, "type": "model_error"}
            else:
                statuses[alias] = "completed"
        items.append({
            "id": item_id(evaluation["id"], i), "object": "evaluation.item",
            "evaluation_id": evaluation["id"], "data": data, "dataset_item_id": dataset_item,
            "dataset_item_version_num": rows.get("version_num"),
            "created_at": evaluation["created_at"], "created_by": evaluation["created_by"],
            "archived_at": evaluation["archived_at"],
            "files": rows["files"][i] if rows["files"] else None,
            "task_result_statuses": statuses or None,
            "task_errors": errors or None,
        })
    return items
