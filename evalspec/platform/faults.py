"""Seeded, reproducible fault injection for the local platform (an ASGI middleware).

- ``latency_ms``: every API request waits this long before it is handled.
- ``rate_limit``: requests per second; beyond it, 429 with ``Retry-After`` (whole seconds
  until the current one-second window ends, at least 1).
- ``fail_rate``: this share of requests gets a 500 or 503 before anything is done.
- ``drop_rate``: this share of writes (POST, PATCH, PUT, DELETE) is carried out and committed,
  then the connection is closed with no response, so the client cannot know the outcome.

Draws come from one ``random.Random(seed)`` in request order, so a sequential client sees the
same faults on every run.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WRITES = frozenset(("POST", "PATCH", "PUT", "DELETE"))


@dataclass(frozen=True)
class Faults:
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    rate_limit: float = 0.0
    drop_rate: float = 0.0
    seed: int = 0

    @property
    def active(self) -> bool:
        return any((self.latency_ms, self.fail_rate, self.rate_limit, self.drop_rate))


class FaultInjector:
    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults
        self._random = random.Random(faults.seed)
        self._lock = threading.Lock()
        self._window = 0
        self._count = 0

    def _draw(self) -> tuple[float, float]:
        with self._lock:
            return self._random.random(), self._random.random()

    def _over_limit(self) -> float | None:
        """Seconds until the window resets when the request is over the limit, else None."""
        if not self.faults.rate_limit:
            return None
        moment = time.monotonic()
        with self._lock:
            window = int(moment)
            if window != self._window:
                self._window, self._count = window, 0
            self._count += 1
            if self._count > self.faults.rate_limit:
                return window + 1 - moment
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(("/v5/", "/v2/")):
            await self.app(scope, receive, send)
            return
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        wait = self._over_limit()
        if wait is not None:
            retry_after = max(1, math.ceil(wait))
            await _respond(send, 429, {"detail": "rate limit exceeded"},
                           [(b"retry-after", str(retry_after).encode())])
            return
        fail, drop = self._draw()
        if fail < self.faults.fail_rate:
            status = 500 if fail < self.faults.fail_rate / 2 else 503
            await _respond(send, status, {"detail": "injected failure"})
            return
        if scope["method"] in WRITES and drop < self.faults.drop_rate:
            await self._drop_after_commit(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _drop_after_commit(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)  # the write happens and commits
        while hasattr(send, "__wrapped__"):  # under a middleware's wrapper (the access log)
            send = send.__wrapped__
        cycle = getattr(send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is None:  # not served by uvicorn: answer as a gateway that lost it would
            await _respond(send, 502, {"detail": "connection dropped"})
            return
        transport.close()
        cycle.disconnected = True  # type: ignore[union-attr]  # we hung up on purpose


async def _respond(send: Send, status: int, body: dict[str, Any],
                   headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": payload})
