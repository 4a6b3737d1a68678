"""Evaluation items exported as a file (``POST /v5/evaluation-items/export``), the schema of
an evaluation's or a group's items (``GET /v5/evaluations/{id}/schema``,
``GET /v5/evaluation-groups/{id}/schema``) and an evaluation's taxonomy
(``GET /v5/evaluations/{id}/taxonomy``), as scale-gp-beta 0.7.0 types them.

The local platform has no object storage: ``export_method: signed_url`` answers 501, as the
platform does where storage is not configured, and ``direct`` returns the file's content. An
export is JSON (one array), JSONL (one item per line) or CSV (the items' ``data`` and
``files`` flattened into columns: ``data.question``, ``files.image``, nested values as JSON).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict

from evalspec.platform.api import Account, JSONRoute, Settings, StoreDep, get_or_404, public
from evalspec.platform.evaluations import get_evaluation, items_of
from evalspec.platform.store import Store
from evalspec.spec.aliases import task_alias

router = APIRouter(route_class=JSONRoute)
JSON_TYPES = ((bool, "boolean"), (int, "number"), (float, "number"), (str, "string"),
              (dict, "object"), (list, "array"), (type(None), "null"))


class ExportBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    evaluation_id: str
    export_format: Literal["json", "jsonl", "csv"] = "json"
    export_method: Literal["signed_url", "direct"] = "direct"
    include_archived: bool = False


def _items(request: Request, store: Store, account: str, evaluation_id: str,
           include_archived: bool) -> list[dict[str, Any]]:
    evaluation = get_evaluation(store, account, evaluation_id, include_archived)
    settings: Settings = request.app.state.settings
    return items_of(store, evaluation, settings)


def _csv(items: list[dict[str, Any]]) -> str:
    rows = []
    for item in items:
        row = {k: v for k, v in item.items() if k not in ("data", "files")}
        row.update({f"data.{k}": v for k, v in (item.get("data") or {}).items()})
        row.update({f"files.{k}": v for k, v in (item.get("files") or {}).items()})
        rows.append({k: v if isinstance(v, str) or v is None else json.dumps(v, sort_keys=True)
                     for k, v in row.items()})
    columns = list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@router.post("/v5/evaluation-items/export")
async def export_items(body: ExportBody, request: Request, account: str = Account,
                       store: Store = StoreDep) -> dict[str, Any]:
    if body.export_method == "signed_url":
        raise HTTPException(501, "the local platform has no object storage for signed URLs: "
                            "use export_method 'direct'")
    items = [public(i) for i in _items(request, store, account, body.evaluation_id,
                                        body.include_archived)]
    if body.export_format == "json":
        content = json.dumps(items, ensure_ascii=False)
    elif body.export_format == "jsonl":
        content = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items)
    else:
        content = _csv(items)
    return {"filename": f"{body.evaluation_id}.{body.export_format}", "content": content,
            "signed_url": None}


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(_flatten(inner, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: value}


def evaluation_schema(request: Request, store: Store, account: str, evaluation_id: str,
                      include_archived: bool) -> dict[str, Any]:
    """Every flattened field of the items' data, its JSON type, how many items have it, and
    whether it is a row's (``data``) or a task's output (``task_result_cache``)."""
    evaluation = get_evaluation(store, account, evaluation_id, include_archived)
    outputs = {task_alias(t) for t in evaluation["tasks"]}
    items = _items(request, store, account, evaluation_id, include_archived)
    seen: dict[tuple[str, str, str], int] = {}
    for item in items:
        for path, value in _flatten(item.get("data") or {}).items():
            kind = next(name for tp, name in JSON_TYPES if isinstance(value, tp))
            source = "task_result_cache" if path.split(".")[0] in outputs else "data"
            seen[(path, kind, source)] = seen.get((path, kind, source), 0) + 1
    return {"evaluation_id": evaluation_id, "object": "evaluation_schema",
            "total_items": len(items), "is_sampled": False, "sample_size": None,
            "fields": [{"field_name": path, "data_type": kind, "source": source,
                        "item_count": count, "object": "field_schema"}
                       for (path, kind, source), count in sorted(seen.items())]}


@router.get("/v5/evaluations/{evaluation_id}/schema")
async def schema(evaluation_id: str, request: Request, include_archived: bool = False,
                 account: str = Account, store: Store = StoreDep) -> dict[str, Any]:
    return evaluation_schema(request, store, account, evaluation_id, include_archived)


@router.get("/v5/evaluations/{evaluation_id}/taxonomy")
async def taxonomy(evaluation_id: str, account: str = Account,
                   store: Store = StoreDep) -> dict[str, Any]:
    """The taxonomy the evaluation was created with (``taxonomy_params``), or ``{}``."""
    return dict(get_evaluation(store, account, evaluation_id).get("_taxonomy") or {})


@router.get("/v5/evaluation-groups/{group_id}/schema")
async def group_schema(group_id: str, request: Request, include_archived: bool = False,
                       account: str = Account, store: Store = StoreDep) -> dict[str, Any]:
    group = get_or_404(store, account, "evaluation_group", group_id, "evaluation group",
                       include_archived=False)
    members = [m["evaluation_id"] for m in group["_members"] if not m["deleted_at"]]
    return {"evaluation_group_id": group_id, "object": "evaluation_group_schema",
            "evaluation_schemas": [evaluation_schema(request, store, account, e,
                                                     include_archived) for e in members]}
