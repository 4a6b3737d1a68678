"""The pieces every router of the local platform shares: its settings, the account a request
acts for (auth), the store dependency, list paging and the list envelope, compact JSON
responses, and the helpers that turn stored objects into responses."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from evalspec.platform.faults import Faults
from evalspec.platform.store import Page, Store, TextPage

MAX_LIMIT = 10_000  # the newest SDK documents 1-10,000 (older pages said 1,000)
# A request body is read whole and decoded in the event loop: one of 64 MB stalled every other
# request for half a minute. 32 MiB holds a dataset of ~30,000 rows of 1 KB.
MAX_BODY_BYTES = 32 * 1024 * 1024


class CompactJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode("utf-8")


class SplicedJSON(Response):
    """A response whose JSON text was put together from stored texts, sent as it is."""

    media_type = "application/json"


class JSONRoute(APIRoute):
    """Routes whose endpoints return plain JSON dicts, sent as they are.

    FastAPI would otherwise validate each returned dict against a response model and walk it
    with jsonable_encoder: two extra passes over every 1,000-item page.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["response_model"] = None

        @functools.wraps(endpoint)
        async def send_as_json(*args: Any, **values: Any) -> Any:
            result = await endpoint(*args, **values)
            return result if isinstance(result, Response) else CompactJSON(result)

        super().__init__(path, send_as_json, **kwargs)


@dataclass(frozen=True)
class Settings:
    db: Path | str = ":memory:"
    api_keys: Mapping[str, str] = field(default_factory=dict)
    complete_after: float = 2.0
    tasks_file: Path | None = None
    faults: Faults = field(default_factory=Faults)
    fail_models: tuple[str, ...] = ()  # glob patterns: evaluations on these models end failed
    sample_tasks: int = 0  # synthetic v2 tasks shaped like seed 000, after the tasks file's
    model_quality: tuple[tuple[str, float], ...] = ()  # (glob, quality) for synthetic answers
    max_body_bytes: int = MAX_BODY_BYTES  # a larger request body is refused with 413


async def account_of(request: Request) -> str:
    """The account a request acts for; raises 401 for a missing or unknown key."""
    settings: Settings = request.app.state.settings
    key = request.headers.get("x-api-key")
    if not key:
        raise HTTPException(401, "missing API key: send it in the x-api-key header")
    if settings.api_keys:
        account = settings.api_keys.get(key)
        if account is None:
            raise HTTPException(401, "invalid API key")
        selected = request.headers.get("x-selected-account-id")
        if selected and selected != account:
            raise HTTPException(403, f"this API key has no access to account {selected!r}")
        return account
    return request.headers.get("x-selected-account-id") or "default"


Account = Depends(account_of)


async def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


StoreDep = Depends(store_of)


def identity(account: str) -> dict[str, str]:
    return {"id": f"user_{account}", "type": "user", "object": "identity"}


MAX_FILTER_VALUES = 100  # tags in one filter: each is a clause of the query


def split_list(values: Sequence[str] | None) -> list[str]:
    """Query arrays arrive comma-joined (the SDK) or as repeated keys; accept both."""
    out: list[str] = []
    for value in values or ():
        out.extend(v for v in value.split(",") if v)
    if len(out) > MAX_FILTER_VALUES:
        raise HTTPException(422, f"at most {MAX_FILTER_VALUES} values in one filter, got "
                            f"{len(out):,}")
    return out


@dataclass
class ListParams:
    limit: int
    starting_after: str | None
    ending_before: str | None
    descending: bool

    def page(self, store: Store, account: str, kind: str, **filters: Any) -> Page:
        """One page of decoded bodies."""
        page = self.texts(store, account, kind, **filters)
        return Page([s.body() for s in page.items], page.total, page.has_more)

    def texts(self, store: Store, account: str, kind: str, **filters: Any) -> TextPage:
        """One page of stored texts, for responses spliced together without decoding."""
        page = store.page(account, kind, limit=self.limit, starting_after=self.starting_after,
                          ending_before=self.ending_before, descending=self.descending,
                          **filters)
        if page is None:
            cursor = self.starting_after or self.ending_before
            raise HTTPException(400, f"cursor {cursor!r} is not a known id")
        return page

    def spliced(self, page: TextPage, items: Sequence[str]) -> SplicedJSON:
        """The list envelope around ``items``, each already a JSON text."""
        more = "true" if page.has_more else "false"
        return SplicedJSON(f'{{"object":"list","items":[{",".join(items)}],"total":{page.total},'
                           f'"has_more":{more},"limit":{self.limit}}}'.encode())


async def list_params(
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    starting_after: str | None = None,
    ending_before: str | None = None,
    sort_order: str = Query("asc", pattern="^(asc|desc)$"),
    sort_by: str | None = None,
) -> ListParams:
    del sort_by  # objects are always ordered by creation
    return ListParams(limit, starting_after, ending_before, sort_order == "desc")


Paging = Depends(list_params)


def get_or_404(store: Store, account: str, kind: str, object_id: str, noun: str, *,
               include_archived: bool = True) -> dict[str, Any]:
    """The account's object of ``kind``, or a 404 naming it as ``noun``; an archived one
    counts only with ``include_archived``."""
    found = store.get(account, kind, object_id)
    if found is None or (found.get("archived_at") and not include_archived):
        raise HTTPException(404, f"{noun} {object_id!r} not found")
    return found


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """A stored body without the platform's private bookkeeping (keys starting with '_')."""
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: null deletes a key, objects merge, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
