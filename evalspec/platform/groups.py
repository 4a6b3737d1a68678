"""Evaluation groups (``/v5/evaluation-groups``): create, list, get, PATCH, PUT, archive.

Two generations of the API describe a group differently (API.md §5.8): the reference pages
(seed 002) show ``evaluation_group_metadata`` and members as full evaluation objects, the SDK
reads ``metadata`` and member records with ``evaluation_id``. Responses set both metadata keys,
and members are the SDK's member records, with the evaluation's name, tags and creation time.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from evalspec.platform.api import (
    Account,
    JSONRoute,
    ListParams,
    Paging,
    StoreDep,
    get_or_404,
    public,
    split_list,
)
from evalspec.platform.store import Store, now

router = APIRouter(route_class=JSONRoute)


WRITTEN_VIEWS = ["members", "row_identifiers"]  # a write answers with the whole group

class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128)
    evaluation_ids: list[str] = Field(min_length=1)
    description: str | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    row_identifiers: dict[str, str] | None = None


class GroupPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=128)
    description: str | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    row_identifiers: dict[str, str] | None = None


class GroupReplace(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=128)
    description: str | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    row_identifiers: dict[str, str] | None = None
    evaluation_ids: list[str] | None = Field(None, min_length=1)


def _check_members(store: Store, account: str, ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        raise HTTPException(400, "evaluation_ids contains duplicates")
    found = store.get_many(account, "evaluation", ids)
    for evaluation_id in ids:
        evaluation = found.get(evaluation_id)
        if evaluation is None or evaluation["archived_at"]:
            raise HTTPException(400, f"evaluation {evaluation_id!r} does not exist")


def _row_identifiers(given: dict[str, str] | None, members: list[str]) -> dict[str, str]:
    """Row identifiers may name only the group's own members, never another account's id:
    PATCH and PUT refuse others (create ignores them, as documented: API.md §5.1)."""
    outside = [e for e in given or {} if e not in members]
    if outside:
        raise HTTPException(400, f"row_identifiers names evaluation {outside[0]!r}, which is "
                            "not a member of the group")
    return dict(given or {})


def _members(group: dict[str, Any], ids: list[str]) -> list[dict[str, Any]]:
    """Member records for ``ids``, keeping the records of members that stay."""
    current = {m["evaluation_id"]: m for m in group.get("_members", []) if not m["deleted_at"]}
    stamp = now()
    kept = [current.get(e) or {"id": f"{group['id']}.{e}", "evaluation_id": e,
                                "created_at": stamp, "deleted_at": None} for e in ids]
    removed = [dict(m, deleted_at=stamp) for e, m in current.items() if e not in ids]
    history = [m for m in group.get("_members", []) if m["deleted_at"]]
    return kept + history + removed


def drop_member(store: Store, db: Any, account: str, evaluation_id: str) -> None:
    """Archiving an evaluation removes it from every group (API.md §3.6)."""
    page = store.list(account, "evaluation_group", limit=1_000_000,
                      where=lambda g: any(m["evaluation_id"] == evaluation_id
                                          and not m["deleted_at"] for m in g["_members"]))
    for group in page.items if page else []:
        active = [m["evaluation_id"] for m in group["_members"] if not m["deleted_at"]]
        group["_members"] = _members(group, [e for e in active if e != evaluation_id])
        group["row_identifiers"] = {k: v for k, v in group["row_identifiers"].items()
                                    if k != evaluation_id}
        store.save(db, group)


def _render(request: Request, account: str, group: dict[str, Any], views: list[str],
            include_deleted: bool) -> dict[str, Any]:

    out = public(group)
    out.pop("archived_at", None)  # groups are soft-deleted with deleted_at
    out["evaluation_group_metadata"] = group["metadata"]
    out["row_identifiers"] = [
        {"object": "evaluation_group.row_identifier", "evaluation_id": e, "column_name": c}
        for e, c in group["row_identifiers"].items()
    ] if "row_identifiers" in views else None  # only the views asked for, as documented
    if "members" in views:
        records = [m for m in group["_members"] if include_deleted or not m["deleted_at"]]
        store: Store = request.app.state.store
        stored = store.get_many_stored(account, "evaluation",
                                       [m["evaluation_id"] for m in records])
        evaluations = {e: json.loads(s.head(False) + "}") for e, s in stored.items()}  # no tasks
        out["members"] = [_member(group, m, evaluations.get(m["evaluation_id"]))
                          for m in records]
    return out


def _member(group: dict[str, Any], record: dict[str, Any],
            evaluation: dict[str, Any] | None) -> dict[str, Any]:
    """A member record (scale-gp-beta's ``evaluation_group_member``), with the evaluation's
    name, tags and creation time when the caller may read it."""
    return {
        "id": record["id"], "object": "evaluation_group.member",
        "created_at": record["created_at"], "evaluation_group_id": group["id"],
        "evaluation_id": record["evaluation_id"], "deleted_at": record["deleted_at"],
        "evaluation_name": evaluation["name"] if evaluation else None,
        "evaluation_tags": evaluation["tags"] if evaluation else None,
        "evaluation_created_at": evaluation["created_at"] if evaluation else None,
    }


def _get(store: Store, account: str, group_id: str, include_deleted: bool = False
         ) -> dict[str, Any]:
    return get_or_404(store, account, "evaluation_group", group_id, "evaluation group",
                      include_archived=include_deleted)


@router.post("/v5/evaluation-groups")
async def create(body: GroupCreate, request: Request, account: str = Account,
           store: Store = StoreDep) -> dict[str, Any]:
    from evalspec.platform.store import new_id

    with store.transaction() as db:
        _check_members(store, account, body.evaluation_ids)
        group: dict[str, Any] = {
            "id": new_id("evaluation_group"), "object": "evaluation_group",
            "account_id": account, "name": body.name, "description": body.description,
            "tags": body.tags or [], "metadata": body.metadata or {}, "created_at": now(),
            "deleted_at": None, "archived_at": None,
            "row_identifiers": {k: v for k, v in (body.row_identifiers or {}).items()
                                if k in body.evaluation_ids},
        }
        group["_members"] = _members(group, body.evaluation_ids)
        store.insert(db, account, "evaluation_group", group)
    return _render(request, account, group, WRITTEN_VIEWS, False)


@router.get("/v5/evaluation-groups")
async def list_groups(
    request: Request, account: str = Account, store: Store = StoreDep,
    paging: ListParams = Paging, name: str | None = None,
    tags: list[str] | None = Query(None), evaluation_id: str | None = None,
    include_deleted: bool = False, views: list[str] | None = Query(None),
) -> dict[str, Any]:
    where = None
    if evaluation_id:
        def where(g: dict[str, Any]) -> bool:
            return any(m["evaluation_id"] == evaluation_id and not m["deleted_at"]
                       for m in g["_members"])
    page = paging.page(store, account, "evaluation_group", name=name, tags=split_list(tags),
                       include_archived=include_deleted, where=where)
    chosen = split_list(views)
    return {"object": "list",
            "items": [_render(request, account, g, chosen, include_deleted) for g in page.items],
            "total": page.total, "has_more": page.has_more, "limit": paging.limit}


@router.get("/v5/evaluation-groups/{group_id}")
async def retrieve(group_id: str, request: Request, include_deleted: bool = False,
             views: list[str] | None = Query(None), account: str = Account,
             store: Store = StoreDep) -> dict[str, Any]:
    group = _get(store, account, group_id, include_deleted)
    return _render(request, account, group, ["members", *split_list(views)], include_deleted)


@router.patch("/v5/evaluation-groups/{group_id}")
async def update(group_id: str, body: GroupPatch, request: Request, account: str = Account,
           store: Store = StoreDep) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise HTTPException(400, "nothing to update: the body is empty")
    with store.transaction() as db:
        group = _get(store, account, group_id)
        if "metadata" in changes:
            changes["metadata"] = {**group["metadata"], **(changes["metadata"] or {})}
        if "row_identifiers" in changes:
            active = [m["evaluation_id"] for m in group["_members"] if not m["deleted_at"]]
            changes["row_identifiers"] = _row_identifiers(changes["row_identifiers"], active)
        group.update(changes)
        store.save(db, group)
    return _render(request, account, group, WRITTEN_VIEWS, False)


@router.put("/v5/evaluation-groups/{group_id}")
async def replace(group_id: str, body: GroupReplace, request: Request, account: str = Account,
            store: Store = StoreDep) -> dict[str, Any]:
    with store.transaction() as db:
        group = _get(store, account, group_id)
        if body.evaluation_ids is not None:
            _check_members(store, account, body.evaluation_ids)
            group["_members"] = _members(group, body.evaluation_ids)
        active = [m["evaluation_id"] for m in group["_members"] if not m["deleted_at"]]
        group.update(
            name=body.name if body.name is not None else group["name"],
            description=body.description, tags=body.tags or [], metadata=body.metadata or {},
            row_identifiers=_row_identifiers(body.row_identifiers, active),
        )
        store.save(db, group)
    return _render(request, account, group, WRITTEN_VIEWS, False)


@router.delete("/v5/evaluation-groups/{group_id}")
async def archive(group_id: str, request: Request, account: str = Account,
            store: Store = StoreDep) -> dict[str, Any]:
    with store.transaction() as db:
        group = _get(store, account, group_id, include_deleted=True)
        if not group["archived_at"]:
            stamp = now()
            group["archived_at"] = group["deleted_at"] = stamp
            group["_members"] = [dict(m, deleted_at=m["deleted_at"] or stamp)
                                 for m in group["_members"]]
            store.save(db, group)
    return _render(request, account, group, WRITTEN_VIEWS, True)
