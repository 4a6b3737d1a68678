"""The local platform's hottest request, served without FastAPI's per-request machinery.

``evalspec apply`` creates evaluations by the thousand. For a create, FastAPI spends about a
third of the server's CPU on work the answer does not need: matching the request against
every route in turn, solving the endpoint's dependencies, and decoding the body to Python
before validating it (bench/emulator.py has the figures). ``HotPath`` serves the usual create
directly: a JSON body the request model accepts, validated straight from its bytes, and the
same endpoint function the FastAPI route calls.

Anything unusual goes on to the FastAPI app with the body replayed unchanged: another content
type, a body that is not JSON or that the model refuses, or an error the create answers (an
unknown key, an unknown dataset, NaN in the data). So every error keeps FastAPI's exact
answer. Answering such a create a second time is safe: it raised before its transaction
committed, so it wrote nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from evalspec.platform.api import account_of
from evalspec.platform.store import NotJSON, Store

Endpoint = Callable[[Any, Request, str, Store], Awaitable[Response]]


def hot_path(app: FastAPI) -> HotPath:
    """``app`` as served: its evaluation creates take the hot path."""
    from evalspec.platform import evaluations

    return HotPath(app, {
        ("POST", "/v5/evaluations"): (evaluations.EvaluationCreate, evaluations.create)})


class HotPath:
    """ASGI middleware, outside the FastAPI app and all its middleware: ``routes`` maps
    (method, path) to the request model and the endpoint (called as
    ``endpoint(body, request, account, store)``, as its FastAPI route would)."""

    def __init__(self, app: FastAPI,
                 routes: Mapping[tuple[str, str], tuple[type[BaseModel], Endpoint]]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            limited = await self._within_limit(scope, receive, send)
            if limited is None:
                return
            receive = limited
        route = (self.routes.get((scope["method"], scope["path"]))
                 if scope["type"] == "http" else None)
        if route is None:
            await self.app(scope, receive, send)
            return
        scope["app"] = self.app  # what the app itself would set: endpoints read its state
        request = Request(scope, receive)
        if request.headers.get("content-type") != "application/json":
            await self.app(scope, receive, send)
            return
        raw = await _body(receive)
        if raw is None:  # the client left before sending all of it: nobody to answer
            return
        model, endpoint = route
        try:
            body = model.model_validate_json(raw)
            account = await account_of(request)
            response = await endpoint(body, request, account, request.app.state.store)
        except (ValidationError, HTTPException, NotJSON):
            # Each is raised before the create's transaction commits, so it wrote nothing:
            # the FastAPI route answers the request again, as it always has.
            await self.app(scope, _replay(raw, receive), send)
            return
        await response(scope, receive, send)


    async def _within_limit(self, scope: Scope, receive: Receive, send: Send
                            ) -> Receive | None:
        """``receive`` for a body within the platform's limit; None once a larger one has
        been answered with 413 (from its Content-Length, before reading it, or as it
        streams in without one)."""
        limit: int = self.app.state.settings.max_body_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) <= limit:
                return receive
        else:
            chunks, size = [], 0
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return None  # the client left: nobody to answer
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if size > limit:
                    break
                if not message.get("more_body", False):
                    return _replay(b"".join(chunks), receive)
        await JSONResponse(
            {"detail": f"the request body is larger than the {limit:,} bytes this platform "
                       "accepts"}, status_code=413)(scope, receive, send)
        return None


async def _body(receive: Receive) -> bytes | None:
    """The request's body, read straight from the server (``Request.body`` costs a tenth of
    the hot path), or None if the client disconnected first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(raw: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body already read, then whatever the client sends next
    (a disconnect)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return replayed
