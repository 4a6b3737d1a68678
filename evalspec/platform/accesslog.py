"""One line per request on `evalspec emulator`'s standard output, as uvicorn words it.

uvicorn's own access log builds a log record and runs its formatter for every request: about
a tenth of a create's server CPU (bench/emulator.py). This writes the same line directly:
client address, request line and status, never a header (API keys travel in headers).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_PHRASES = {status.value: status.phrase for status in HTTPStatus}


class AccessLog:
    """ASGI middleware writing ``INFO:     HOST:PORT - "METHOD PATH HTTP/V" STATUS PHRASE``
    to ``stream`` when a response starts (a connection dropped unanswered logs nothing)."""

    def __init__(self, app: ASGIApp, stream: TextIO) -> None:
        self.app = app
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.write(scope, message["status"])
            await send(message)

        logged.__wrapped__ = send  # type: ignore[attr-defined]  # faults reach the connection
        await self.app(scope, receive, logged)

    def write(self, scope: Scope, status: int) -> None:
        client = scope.get("client")
        where = f"{client[0]}:{client[1]}" if client else "-"
        path = scope["path"]
        if scope.get("query_string"):
            path = f"{path}?{scope['query_string'].decode('latin-1')}"
        answer = f"{status} {_PHRASES[status]}" if status in _PHRASES else str(status)
        self.stream.write(f'INFO:     {where} - "{scope["method"]} {path} '
                          f'HTTP/{scope["http_version"]}" {answer}\n')
        self.stream.flush()  # one line at a time, also when stdout is a pipe
