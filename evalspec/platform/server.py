"""Serving the local platform over HTTP, in the foreground or on a background thread."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI

from evalspec.platform.accesslog import AccessLog
from evalspec.platform.api import Settings
from evalspec.platform.app import create_app
from evalspec.platform.faults import FaultInjector
from evalspec.platform.hotpath import hot_path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _server(settings: Settings, host: str, port: int, access_log: bool
            ) -> tuple[uvicorn.Server, FastAPI]:
    app = create_app(settings)
    served: Any = hot_path(app)
    # Faults wrap the app outermost so that a drop can reach the connection itself.
    if settings.faults.active:
        served = FaultInjector(served, settings.faults)
    if access_log:  # outside the faults, so injected errors are logged as answered
        served = AccessLog(served, sys.stdout)
    config = uvicorn.Config(
        served, host=host, port=port,
        access_log=False,  # AccessLog writes uvicorn's line for a tenth of its cost
        proxy_headers=False,  # no proxy stands before the local platform
        log_level="info" if access_log else "warning",
        backlog=2048,  # concurrent clients must not wait on a short listen queue
    )
    return uvicorn.Server(config), app


def serve(settings: Settings, host: str, port: int,
          announce: Callable[[], None] | None = None) -> None:
    """Run until interrupted. Access logs show method, path and status, never headers.

    ``announce`` is called once the app is built (its inputs checked), before listening.
    """
    server, _ = _server(settings, host, port, access_log=True)
    if announce is not None:
        announce()
    server.run()


@dataclass
class BackgroundServer:
    """A platform on a loopback port, for tests and benchmarks."""

    server: uvicorn.Server
    app: FastAPI
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.app.state.store.close()


def start_background(settings: Settings, host: str = "127.0.0.1") -> BackgroundServer:
    port = free_port(host)
    server, app = _server(settings, host, port, access_log=False)
    thread = threading.Thread(target=server.run, name="evalspec-platform", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the local platform did not start")
        time.sleep(0.01)
    return BackgroundServer(server, app, thread, f"http://{host}:{port}")
