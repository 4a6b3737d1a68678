"""Datasets and dataset items (``/v5/datasets``, ``/v5/dataset-items``).

Every change to a dataset's items (batch add, item update, item delete) makes a new dataset
version; items remember the version they appeared in, the version they were removed in and
their data at each version, so ``version=`` reads the dataset as it was.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from evalspec.platform.api import (
    Account,
    JSONRoute,
    ListParams,
    Paging,
    SplicedJSON,
    StoreDep,
    get_or_404,
    identity,
    public,
    split_list,
)
from evalspec.platform.store import Store, dumps, new_id, now

router = APIRouter(route_class=JSONRoute)


class DatasetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128)
    data: list[dict[str, Any]] = Field(min_length=1)
    description: str | None = Field(None, max_length=280)
    tags: list[str] | None = None
    files: list[dict[str, str]] | None = None


class DatasetPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=128)
    description: str | None = Field(None, max_length=280)
    tags: list[str] | None = None
    restore: bool | None = None


class ItemsBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset_id: str
    data: list[dict[str, Any]] = Field(min_length=1)
    files: list[dict[str, str]] | None = None


class ItemPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: dict[str, Any]
    files: dict[str, str] | None = None


def content_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def new_items(store: Store, db: Any, account: str, dataset_id: str, rows: list[dict[str, Any]],
              files: list[dict[str, str]] | None, version: int) -> list[dict[str, Any]]:
    if files is not None and len(files) != len(rows):
        raise HTTPException(400, "files must have one entry per data row")
    stamp = now()
    items = []
    for i, row in enumerate(rows):
        item = {
            "id": new_id("dataset.item"), "object": "dataset.item", "dataset_id": dataset_id,
            "data": row, "content_hash": content_hash(row), "created_at": stamp,
            "updated_at": stamp, "created_by": identity(account), "archived_at": None,
            "files": files[i] if files else None,
            "_added": version, "_removed": None, "_history": [[version, row]],
        }
        items.append(store.insert(db, account, "dataset.item", item, parent=dataset_id))
    return items


def get_dataset(store: Store, account: str, dataset_id: str, include_archived: bool = False
                ) -> dict[str, Any]:
    return get_or_404(store, account, "dataset", dataset_id, "dataset",
                      include_archived=include_archived)


def create_dataset(store: Store, db: Any, account: str, name: str, rows: list[dict[str, Any]],
                   description: str | None, tags: list[str] | None,
                   files: list[dict[str, str]] | None) -> dict[str, Any]:
    dataset: dict[str, Any] = {
        "id": new_id("dataset"), "object": "dataset", "name": name,
        "description": description, "tags": tags or [], "created_at": now(),
        "created_by": identity(account),
        "archived_at": None, "current_version_num": 1,
    }
    store.insert(db, account, "dataset", dataset)
    new_items(store, db, account, dataset["id"], rows, files, 1)
    return dataset


def _visible_items(store: Store, dataset_id: str, version: int | None) -> Any:
    def visible(item: dict[str, Any]) -> bool:
        if version is None:
            return item["_removed"] is None
        return item["_added"] <= version and (item["_removed"] is None
                                              or item["_removed"] > version)
    return visible


def item_as_of(item: dict[str, Any], version: int | None) -> dict[str, Any]:
    out = public(item)
    if version is not None:
        for at, data in item["_history"]:
            if at <= version:
                out["data"] = data
    return out


def _bump(store: Store, db: Any, dataset: dict[str, Any]) -> int:
    dataset["current_version_num"] += 1
    store.save(db, dataset)
    return int(dataset["current_version_num"])


@router.post("/v5/datasets")
async def create(body: DatasetCreate, account: str = Account, store: Store = StoreDep
           ) -> dict[str, Any]:
    with store.transaction() as db:
        dataset = create_dataset(store, db, account, body.name, body.data, body.description,
                                 body.tags, body.files)
    return public(dataset)


@router.get("/v5/datasets")
async def list_datasets(
    account: str = Account, store: Store = StoreDep, paging: ListParams = Paging,
    name: str | None = None, tags: list[str] | None = Query(None),
    include_archived: bool = False,
) -> SplicedJSON:
    page = paging.texts(store, account, "dataset", name=name, tags=split_list(tags),
                        include_archived=include_archived)
    return paging.spliced(page, [d.public for d in page.items])


@router.get("/v5/datasets/{dataset_id}")
async def retrieve(dataset_id: str, include_archived: bool = False, account: str = Account,
             store: Store = StoreDep) -> dict[str, Any]:
    return public(get_dataset(store, account, dataset_id, include_archived))


@router.patch("/v5/datasets/{dataset_id}")
async def update(dataset_id: str, body: DatasetPatch, account: str = Account,
           store: Store = StoreDep) -> dict[str, Any]:
    with store.transaction() as db:
        dataset = get_dataset(store, account, dataset_id, include_archived=True)
        if body.restore:
            if dataset["archived_at"]:
                dataset["archived_at"] = None
                for item in store.children(dataset_id, "dataset.item"):
                    if item["archived_at"] and item["_removed"] is None:
                        item["archived_at"] = None
                        store.save(db, item)
            return public(store.save(db, dataset))
        if dataset["archived_at"]:
            raise HTTPException(400, "dataset is archived; restore it before updating")
        changes = body.model_dump(exclude_unset=True, exclude={"restore"})
        if not changes:
            raise HTTPException(400, "nothing to update: give name, description or tags")
        dataset.update(changes)
        return public(store.save(db, dataset))


@router.delete("/v5/datasets/{dataset_id}")
async def archive(dataset_id: str, account: str = Account, store: Store = StoreDep
                  ) -> dict[str, Any]:
    with store.transaction() as db:
        dataset = get_dataset(store, account, dataset_id, include_archived=True)
        if dataset["archived_at"]:
            raise HTTPException(400, f"dataset {dataset_id!r} is already archived")
        stamp = now()
        dataset["archived_at"] = stamp
        store.save(db, dataset)
        for item in store.children(dataset_id, "dataset.item"):
            if not item["archived_at"]:
                item["archived_at"] = stamp
                store.save(db, item)
    return {"id": dataset_id, "deleted": True, "object": "dataset"}


@router.post("/v5/dataset-items/batch")
async def add_items(body: ItemsBatch, account: str = Account, store: Store = StoreDep
              ) -> dict[str, Any]:
    with store.transaction() as db:
        dataset = store.get(account, "dataset", body.dataset_id)
        if dataset is None:
            raise HTTPException(400, f"dataset {body.dataset_id!r} does not exist")
        if dataset["archived_at"]:
            raise HTTPException(400, "dataset is archived; restore it before adding items")
        version = _bump(store, db, dataset)
        items = new_items(store, db, account, dataset["id"], body.data, body.files, version)
    return {"items": [public(i) for i in items]}


@router.get("/v5/dataset-items")
async def list_items(
    account: str = Account, store: Store = StoreDep, paging: ListParams = Paging,
    dataset_id: str | None = None, version: int | None = Query(None, ge=1),
    include_archived: bool = False,
) -> SplicedJSON:
    if version is not None and dataset_id is None:
        raise HTTPException(400, "version needs dataset_id")
    if dataset_id is not None:
        get_dataset(store, account, dataset_id, include_archived)
    visible = _visible_items(store, dataset_id or "", version)
    page = paging.texts(store, account, "dataset.item", parent=dataset_id,
                        include_archived=include_archived or version is not None,
                        where=visible if version is not None else None)
    if version is None:
        return paging.spliced(page, [i.public for i in page.items])
    return paging.spliced(page, [dumps(item_as_of(i.body(), version)) for i in page.items])


def _get_item(store: Store, account: str, item_id: str) -> dict[str, Any]:
    return get_or_404(store, account, "dataset.item", item_id, "dataset item")


@router.get("/v5/dataset-items/{item_id}")
async def retrieve_item(item_id: str, version: int | None = Query(None, ge=1),
                  account: str = Account, store: Store = StoreDep) -> dict[str, Any]:
    return item_as_of(_get_item(store, account, item_id), version)


@router.patch("/v5/dataset-items/{item_id}")
async def update_item(item_id: str, body: ItemPatch, account: str = Account,
                store: Store = StoreDep) -> dict[str, Any]:
    with store.transaction() as db:
        item = _get_item(store, account, item_id)
        if item["archived_at"] or item["_removed"] is not None:
            raise HTTPException(400, "dataset item is archived or deleted")
        dataset = get_dataset(store, account, item["dataset_id"])
        version = _bump(store, db, dataset)
        item.update(data=body.data, content_hash=content_hash(body.data), updated_at=now())
        if body.files is not None:
            item["files"] = body.files
        item["_history"].append([version, body.data])
        return public(store.save(db, item))


@router.delete("/v5/dataset-items/{item_id}")
async def delete_item(item_id: str, account: str = Account, store: Store = StoreDep
                ) -> dict[str, Any]:
    with store.transaction() as db:
        item = _get_item(store, account, item_id)
        if item["_removed"] is not None:
            raise HTTPException(400, f"dataset item {item_id!r} is already deleted")
        dataset = get_dataset(store, account, item["dataset_id"])
        item["_removed"] = _bump(store, db, dataset)
        item["archived_at"] = now()
        store.save(db, item)
    return {"id": item_id, "deleted": True, "object": "dataset.item"}
