"""Evaluation items (``/v5/evaluation-items``) and the evaluation tasks sub-resource."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict

from evalspec.platform.api import (
    Account,
    JSONRoute,
    ListParams,
    Paging,
    Settings,
    SplicedJSON,
    StoreDep,
)
from evalspec.platform.evaluations import (
    Renderer,
    TaskIn,
    _check_tasks,
    get_evaluation,
    item_id,
    items_of,
    runs,
)
from evalspec.platform.store import Store
from evalspec.platform.task_schema import problem as task_problem
from evalspec.spec.aliases import task_alias

router = APIRouter(route_class=JSONRoute)


class TaskAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task: TaskIn


class TaskConfiguration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    configuration: dict[str, Any]


def _window(ids: list[str], paging: ListParams) -> tuple[list[int], bool]:
    """The positions of the page ``paging`` asks for, and whether more follow."""
    order = list(range(len(ids)))
    if paging.descending:
        order.reverse()
    position = {ids[i]: k for k, i in enumerate(order)}
    if paging.ending_before is None:
        start = 0
        if paging.starting_after is not None:
            if paging.starting_after not in position:
                raise HTTPException(400, f"cursor {paging.starting_after!r} is not a known id")
            start = position[paging.starting_after] + 1
        return order[start:start + paging.limit], start + paging.limit < len(order)
    if paging.ending_before not in position:
        raise HTTPException(400, f"cursor {paging.ending_before!r} is not a known id")
    end = position[paging.ending_before]
    return order[max(0, end - paging.limit):end], end - paging.limit > 0


@router.get("/v5/evaluation-items")
async def list_items(request: Request, evaluation_id: str | None = None,
               include_archived: bool = False,
               completion_status: Literal["failed", "passed", "all"] = "all",
               account: str = Account, store: Store = StoreDep,
               paging: ListParams = Paging) -> dict[str, Any]:
    """One evaluation's items, or, without ``evaluation_id`` (optional in the SDK), the items
    of every evaluation of the account in creation order."""
    settings: Settings = request.app.state.settings
    if evaluation_id is not None:
        evaluations = [get_evaluation(store, account, evaluation_id, include_archived)]
    else:
        listed = store.list(account, "evaluation", limit=2**31,
                            include_archived=include_archived)
        evaluations = listed.items if listed is not None else []
    places: list[tuple[dict[str, Any], int]] = []  # (evaluation, row index) per item
    for evaluation in evaluations:
        count = len(store.children(evaluation["id"], "evaluation.rows")[0]["rows"])
        if completion_status == "all":
            places += [(evaluation, i) for i in range(count)]
            continue
        failing = {item["id"] for item in items_of(store, evaluation, settings)
                   if item.get("task_errors")}  # failed: items with a task error
        places += [(evaluation, i) for i in range(count)
                   if (item_id(evaluation["id"], i) in failing) == (completion_status == "failed")]
    ids = [item_id(evaluation["id"], i) for evaluation, i in places]
    chosen, has_more = _window(ids, paging)
    items: list[dict[str, Any]] = []
    run: list[int] = []  # consecutive rows of one evaluation: scored in one call
    for k, position in enumerate(chosen):
        evaluation, index = places[position]
        run.append(index)
        following = places[chosen[k + 1]][0] if k + 1 < len(chosen) else None
        if following is not evaluation:
            items += items_of(store, evaluation, settings, run)
            run = []
    return {"object": "list", "items": items, "total": len(ids), "has_more": has_more,
            "limit": paging.limit}


@router.get("/v5/evaluation-items/{item_id}")
async def retrieve_item(item_id: str, request: Request, include_archived: bool = False,
                  account: str = Account, store: Store = StoreDep) -> dict[str, Any]:
    evaluation_id, _, _ = item_id.rpartition(".item")
    evaluation = store.get(account, "evaluation", evaluation_id) if evaluation_id else None
    if evaluation is None or (evaluation["archived_at"] and not include_archived):
        raise HTTPException(404, f"evaluation item {item_id!r} not found")
    for item in items_of(store, evaluation, request.app.state.settings):
        if item["id"] == item_id:
            return item
    raise HTTPException(404, f"evaluation item {item_id!r} not found")


@router.post("/v5/evaluations/{evaluation_id}/tasks")
async def add_task(evaluation_id: str, body: TaskAdd, request: Request, account: str = Account,
             store: Store = StoreDep) -> SplicedJSON:
    if body.task.task_type != "contributor_evaluation.question":
        raise HTTPException(400, "only contributor_evaluation.question tasks can be added")
    with store.transaction() as db:
        evaluation = get_evaluation(store, account, evaluation_id, include_archived=True)
        if evaluation["archived_at"]:
            raise HTTPException(400, "evaluation is archived")
        _refuse_once_claimed(evaluation)
        [task] = _check_tasks([body.task])
        alias = task_alias(task)
        if any(task_alias(t) == alias for t in evaluation["tasks"]):
            raise HTTPException(400, f"task alias {alias!r} already exists")
        evaluation["tasks"].append(task)
        evaluation.update(runs(evaluation["tasks"]))
        store.save(db, evaluation)
    return Renderer(request, account, ["tasks"]).one(evaluation)


@router.patch("/v5/evaluations/{evaluation_id}/tasks/{alias}")
async def update_task(evaluation_id: str, alias: str, body: TaskConfiguration, request: Request,
                account: str = Account, store: Store = StoreDep) -> SplicedJSON:
    with store.transaction() as db:
        evaluation = get_evaluation(store, account, evaluation_id, include_archived=True)
        if evaluation["archived_at"]:
            raise HTTPException(400, "evaluation is archived")
        _refuse_once_claimed(evaluation)
        for task in evaluation["tasks"]:
            if task_alias(task) == alias:
                refused = task_problem({**task, "configuration": body.configuration})
                if refused is not None:  # as the SDK's types: for this task's type
                    path, message = refused
                    raise HTTPException(422, [{"loc": ["body", *path[1:]], "msg": message,
                                               "type": "value_error"}])
                task["configuration"] = body.configuration
                break
        else:
            raise HTTPException(400, f"evaluation has no task with alias {alias!r}")
        evaluation.update(runs(evaluation["tasks"]))
        store.save(db, evaluation)
    return Renderer(request, account, ["tasks"]).one(evaluation)


def _refuse_once_claimed(evaluation: dict[str, Any]) -> None:
    """Tasks are added and changed only while no contributor work is claimed or done."""
    claimed = evaluation.get("_contributor_work") or {}
    if claimed:
        alias, state = sorted(claimed.items())[0]
        raise HTTPException(400, f"contributor work on task {alias!r} is already {state}: "
                            "the evaluation's tasks can no longer be added or changed")


class ContributorWork(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alias: str
    state: Literal["claimed", "completed"]


@router.post("/_local/evaluations/{evaluation_id}/contributor-work")
async def contributor_work(evaluation_id: str, body: ContributorWork, account: str = Account,
                           store: Store = StoreDep) -> dict[str, Any]:
    """The local platform's stand-in for raters: mark a contributor task's work claimed or
    completed (the real platform learns it from its annotation queue). Not an SGP endpoint."""
    with store.transaction() as db:
        evaluation = get_evaluation(store, account, evaluation_id)
        tasks = {task_alias(t): t for t in evaluation["tasks"]}
        if tasks.get(body.alias, {}).get("task_type") != "contributor_evaluation.question":
            raise HTTPException(400, f"evaluation has no contributor task {body.alias!r}")
        evaluation["_contributor_work"] = {**(evaluation.get("_contributor_work") or {}),
                                           body.alias: body.state}
        store.save(db, evaluation)
    return {"evaluation_id": evaluation_id, "alias": body.alias, "state": body.state}
