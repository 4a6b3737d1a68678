"""Scale v2 Tasks (``GET /v2/tasks``, ``GET /v2/task``), served from a JSONL file.

Each line of the file is one task shaped like seed 000. ``project`` and ``batch`` may be ids or
``{id, name}`` objects so that ``project_name`` and ``batch_name`` filters work; responses carry
the id unless ``expand`` asks for the object. Annotations get the ``id`` and ``type`` the
official client requires when the file leaves them out (seed 000's example does).

Auth is ``Authorization: Bearer <key>`` (or HTTP basic with the key as user name), checked
against the same keys as the v5 API, and scoped the same way: a task belongs to the account
its line names under ``account`` (the emulator's own field, never served), or to
``default``; a key sees only its account's tasks.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from evalspec.errors import LocatedError, Location, display_path
from evalspec.platform.api import JSONRoute

router = APIRouter(route_class=JSONRoute)

STATUSES = ("pending", "completed", "canceled", "error")
MAX_LIMIT = 100


def _annotation_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, list):
        return "category_multiple"
    return "text"


def _normalise_annotations(annotations: list[Any], owner: str) -> None:
    for i, annotation in enumerate(annotations):
        if isinstance(annotation, dict):
            annotation.setdefault("id", f"{owner}.annotation{i}")
            annotation.setdefault("type", _annotation_type(annotation.get("value")))


def normalise(task: dict[str, Any]) -> dict[str, Any]:
    for thread in task.get("threads") or []:
        _normalise_annotations(thread.setdefault("annotations", []), thread.get("id", "thread"))
        for turn in thread.get("turns") or []:
            owner = f"{thread.get('id')}.{turn.get('id')}"
            _normalise_annotations(turn.setdefault("annotations", []), owner)
            for j, message in enumerate(turn.get("messages") or []):
                _normalise_annotations(message.setdefault("annotations", []), f"{owner}.m{j}")
    return task


def load_tasks(path: Path) -> list[dict[str, Any]]:
    """Tasks from a JSONL file; a bad line raises a LocatedError naming it."""
    shown = display_path(path)
    tasks: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LocatedError(Location(shown), f"cannot read the tasks file: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            task = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LocatedError(Location(shown, number, exc.colno),
                               f"invalid JSON: {exc.msg}") from None
        if not isinstance(task, dict) or not isinstance(task.get("task_id"), str):
            raise LocatedError(Location(shown, number, 1), "each task needs a string task_id")
        if task.get("status") not in STATUSES:
            raise LocatedError(Location(shown, number, 1),
                               f"status must be one of {', '.join(STATUSES)}")
        if "project" not in task:
            raise LocatedError(Location(shown, number, 1), "each task needs a project")
        tasks.append(normalise(task))
    return tasks


def _ref(value: Any) -> tuple[str | None, str | None]:
    """(id, name) of a project or batch given as an id or an object."""
    if isinstance(value, dict):
        return value.get("id"), value.get("name")
    return (value, None) if isinstance(value, str) else (None, None)


class V2Error(Exception):
    """An error in the v2 API's own shape: ``{"status_code": ..., "error": ...}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def v2_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, V2Error)
    return JSONResponse({"status_code": exc.status, "error": exc.message}, exc.status)


def _v2_error(status: int, message: str) -> V2Error:
    return V2Error(status, message)


def _authorise(request: Request) -> str:
    """The account the request's key acts for (``default`` when no keys are configured)."""
    settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    key = ""
    if scheme.lower() == "bearer":
        key = credential.strip()
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(credential).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    if not key:
        raise _v2_error(401, "missing API key: send Authorization: Bearer <key>")
    if not settings.api_keys:
        return "default"
    account = settings.api_keys.get(key)
    if account is None:
        raise _v2_error(401, "invalid API key")
    return str(account)


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if text.startswith("offset:") and text[7:].isdigit():
            return int(text[7:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise _v2_error(400, "next_token is not valid")


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _v2_error(400, f"{name} must be an ISO 8601 date-time") from None


def _account(task: dict[str, Any]) -> str:
    return str(task.get("account") or "default")


def _project(tasks: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """A project as the v2 API's Project: from the tasks that name it."""
    mine = [t for t in tasks if name in _ref(t.get("project"))]
    first = mine[0] if mine else {}
    ident, named = _ref(first.get("project"))
    return {"id": ident or name, "name": named or name,
            "created_at": min((str(t.get("created_at", "")) for t in mine), default=""),
            "types": sorted({str(t["type"]) for t in mine if t.get("type")})}


def _batch(tasks: list[dict[str, Any]], name: str, expand: Sequence[str] = ()) -> dict[str, Any]:
    """A batch as the v2 API's Batch: completed once all its tasks are."""
    mine = [t for t in tasks if name in _ref(t.get("batch"))]
    first = mine[0] if mine else {}
    ident, named = _ref(first.get("batch"))
    done = bool(mine) and all(t.get("status") == "completed" for t in mine)
    project = _named(first.get("project"))
    out: dict[str, Any] = {
        "id": ident or name, "name": named or name,
        "project": (_project(tasks, project) if "project" in expand and project
                    else _ref(first.get("project"))[0] or project or ""),
        "created_at": min((str(t.get("created_at", "")) for t in mine), default=""),
        "status": "completed" if done else "in_progress", "metadata": {}}
    if done:
        out["completed_at"] = max(str(t.get("completed_at") or t.get("created_at", ""))
                                  for t in mine)
    return out


def _named(value: Any) -> str | None:
    ident, name = _ref(value)
    return name or ident


OPTIONS = ("annotation_details", "attachment_details", "model_parameters", "submissions")


def _options(opts: Sequence[str] | None) -> list[str]:
    wanted = [v for o in opts or () for v in o.split(",") if v]
    unknown = [o for o in wanted if o not in OPTIONS]
    if unknown:
        raise _v2_error(400, f"opts: unknown option {unknown[0]!r}; options: "
                        f"{', '.join(OPTIONS)}")
    return wanted


def _without_model_parameters(threads: Any) -> Any:
    """The threads with each message's ``model_parameters`` left out: a property the API
    includes only when ``opts`` asks for it (seed 000)."""
    if not isinstance(threads, list):
        return threads
    out = []
    for thread in threads:
        turns = [{**turn, "messages": [{k: v for k, v in m.items() if k != "model_parameters"}
                                       if isinstance(m, dict) else m
                                       for m in turn.get("messages") or []]}
                 if isinstance(turn, dict) else turn for turn in thread.get("turns") or []]
        out.append({**thread, "turns": turns} if isinstance(thread, dict) else thread)
    return out


def _render(task: dict[str, Any], expand: list[str],
            tasks: list[dict[str, Any]] | None = None,
            opts: Sequence[str] = ()) -> dict[str, Any]:
    out = dict(task)
    out.pop("account", None)  # the emulator's own field
    if "model_parameters" not in opts and "threads" in out:
        out["threads"] = _without_model_parameters(out["threads"])
    for field in ("project", "batch"):
        if field not in out:
            continue
        if field not in expand:
            out[field] = _ref(out[field])[0]
        elif tasks is not None and _named(out[field]):
            # Expanded: the whole object, as GET /v2/project or /v2/batch give it.
            whole = _project if field == "project" else _batch
            out[field] = whole(tasks, str(_named(out[field])))
    if out.get("status") != "completed":
        out["threads"] = []
    return out


def _limit(text: str | None) -> int:
    """``limit``, 1 to MAX_LIMIT; a bad one is refused in the v2 error shape, not FastAPI's."""
    if text is None:
        return MAX_LIMIT
    try:
        value = int(text)
    except ValueError:
        raise _v2_error(400, f"limit must be an integer from 1 to {MAX_LIMIT}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise _v2_error(400, f"limit must be an integer from 1 to {MAX_LIMIT}")
    return value


@router.get("/v2/tasks")
async def get_tasks(
    request: Request,
    project_id: str | None = None, project_name: str | None = None,
    batch_id: str | None = None, batch_name: str | None = None,
    project: str | None = None, batch: str | None = None,  # scaleapi's ScaleClient: names
    status: str | None = None,
    completed_after: str | None = None, completed_before: str | None = None,
    limit: str | None = None,
    next_token: str | None = None,
    expand: list[str] | None = Query(None), opts: list[str] | None = Query(None),
) -> JSONResponse:
    account = _authorise(request)
    options = _options(opts)
    project_name, batch_name = project_name or project, batch_name or batch
    size = _limit(limit)
    if not any((project_id, project_name, batch_id, batch_name)):
        raise _v2_error(400, "give one of project_id, project_name, batch_id or batch_name")
    if status is not None and status not in STATUSES:
        raise _v2_error(400, f"status must be one of {', '.join(STATUSES)}")
    after, before = _time(completed_after, "completed_after"), _time(completed_before,
                                                                     "completed_before")
    wanted = [v for e in expand or () for v in e.split(",") if v]

    def matches(task: dict[str, Any]) -> bool:
        if _account(task) != account:
            return False
        pid, pname = _ref(task.get("project"))
        bid, bname = _ref(task.get("batch"))
        if (project_id and pid != project_id) or (project_name and pname != project_name):
            return False
        if (batch_id and bid != batch_id) or (batch_name and bname != batch_name):
            return False
        if status and task.get("status") != status:
            return False
        if after or before:
            done = _time(task.get("completed_at"), "completed_at")
            if done is None or (after and done <= after) or (before and done >= before):
                return False
        return True

    tasks: list[dict[str, Any]] = request.app.state.tasks
    visible = [t for t in tasks if _account(t) == account]
    # A project or batch the account does not have is a 404, so that a misspelt name is not
    # read as a project without tasks (docs/platform-assumptions.md); each selector given.
    for field, ident, name in (("project", project_id, None), ("project", None, project_name),
                               ("batch", batch_id, None), ("batch", None, batch_name)):
        if ident or name:
            _pick(visible, field, ident, name)
    start = _decode(next_token) if next_token else 0
    page: list[dict[str, Any]] = []
    index = start
    while index < len(tasks) and len(page) < size:
        if matches(tasks[index]):
            page.append(_render(tasks[index], wanted, visible, options))
        index += 1
    more = any(matches(t) for t in tasks[index:])  # stops at the first match
    body: dict[str, Any] = {"tasks": page}
    if more:
        body["next_token"] = _encode(index)
    if request.url.path.startswith("/v1/"):  # ScaleClient.tasks(): the older envelope
        body = {"docs": page, "total": sum(map(matches, tasks)), "limit": size,
                "offset": sum(map(matches, tasks[:start])), "has_more": more,
                "next_token": body.get("next_token")}
    return JSONResponse(body)


# ScaleClient.tasks() (and so get_tasks) filters scaleapi lets through that the local platform
# does not apply: refused, so that a filter is never silently ignored.
_UNFILTERED = ("type", "customer_review_status", "tags", "updated_before", "updated_after",
               "unique_id", "start_time", "end_time", "created_before", "created_after")


@router.get("/v1/tasks")
async def get_tasks_v1(request: Request, project: str | None = None, batch: str | None = None,
                       status: str | None = None, completed_after: str | None = None,
                       completed_before: str | None = None, limit: str | None = None,
                       next_token: str | None = None,
                       opts: list[str] | None = Query(None)) -> JSONResponse:
    """``GET /v1/tasks``, as scaleapi's ScaleClient reads it (``api_instance_url`` ending in
    ``/v1``): the same tasks and filters, in the ``docs`` envelope with offsets."""
    _authorise(request)
    ignored = sorted(set(request.query_params) & set(_UNFILTERED))
    if ignored:
        raise _v2_error(400, f"the local platform does not filter on {', '.join(ignored)}")
    return await get_tasks(request, project=project, batch=batch, status=status,
                           completed_after=completed_after, completed_before=completed_before,
                           limit=limit, next_token=next_token, expand=None, opts=opts)


@router.get("/v2/task")
async def get_task(request: Request, task_id: str, expand: list[str] | None = Query(None),
             opts: list[str] | None = Query(None)) -> JSONResponse:
    return _one_task(request, task_id, expand, opts)


@router.get("/v2/task/{task_id}")
async def get_task_by_path(request: Request, task_id: str,
                           expand: list[str] | None = Query(None),
                           opts: list[str] | None = Query(None)) -> JSONResponse:
    """scaleapi's ``get_task`` asks for the task in the path."""
    return _one_task(request, task_id, expand, opts)


def _one_task(request: Request, task_id: str, expand: list[str] | None,
              opts: list[str] | None) -> JSONResponse:
    account = _authorise(request)
    wanted = [v for e in expand or () for v in e.split(",") if v]
    options = _options(opts)
    visible = [t for t in request.app.state.tasks if _account(t) == account]
    for task in visible:
        if task["task_id"] == task_id:
            return JSONResponse(_render(task, wanted, visible, options))
    raise _v2_error(404, f"task {task_id!r} not found")


def _names(tasks: list[dict[str, Any]], field: str) -> list[str]:
    return list(dict.fromkeys(n for n in (_named(t.get(field)) for t in tasks) if n))


def _visible(request: Request) -> list[dict[str, Any]]:
    account = _authorise(request)
    return [t for t in request.app.state.tasks if _account(t) == account]


def _pick(tasks: list[dict[str, Any]], field: str, ident: str | None, name: str | None) -> str:
    """The project or batch a query names by id or by name; 404 when none does."""
    for task in tasks:
        found_id, found_name = _ref(task.get(field))
        if (ident and found_id == ident) or (name and found_name == name):
            return str(found_name or found_id)
    if not (ident or name):
        raise _v2_error(400, f"give {field}_id or {field}_name")
    raise _v2_error(404, f"{field} {ident or name!r} not found")


@router.get("/v2/projects")
async def list_projects(request: Request) -> JSONResponse:
    visible = _visible(request)
    return JSONResponse({"projects": [_project(visible, n) for n in _names(visible, "project")]})


@router.get("/v2/project")
async def get_project(request: Request, project_id: str | None = None,
                      project_name: str | None = None) -> JSONResponse:
    visible = _visible(request)
    return JSONResponse(_project(visible, _pick(visible, "project", project_id, project_name)))


@router.get("/v2/batches")
async def list_batches(request: Request, project_id: str | None = None,
                       project_name: str | None = None, status: str | None = None,
                       limit: str | None = None, next_token: str | None = None) -> JSONResponse:
    visible = _visible(request)
    size = _limit(limit)
    batches = [_batch(visible, n) for n in _names(visible, "batch")]
    if project_id or project_name:
        project = _project(visible, _pick(visible, "project", project_id, project_name))
        batches = [b for b in batches if b["project"] in (project["id"], project["name"])]
    batches = [b for b in batches if status is None or b["status"] == status]
    start = _decode(next_token) if next_token else 0
    body: dict[str, Any] = {"batches": batches[start:start + size]}
    if start + size < len(batches):
        body["next_token"] = _encode(start + size)
    return JSONResponse(body)


@router.get("/v2/batch")
async def get_batch(request: Request, batch_id: str | None = None,
                    batch_name: str | None = None,
                    expand: list[str] | None = Query(None)) -> JSONResponse:
    visible = _visible(request)
    wanted = [v for e in expand or () for v in e.split(",") if v]
    return JSONResponse(_batch(visible, _pick(visible, "batch", batch_id, batch_name), wanted))
