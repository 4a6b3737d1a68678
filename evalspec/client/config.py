"""Where the platform is and who we are there (DESIGN.md §9).

Endpoint, first found: ``--endpoint`` > ``EVALSPEC_ENDPOINT`` > ``SGP_CLIENT_BASE_URL`` >
``endpoint`` in evalspec.yaml > the production URL when ``SGP_API_KEY`` is set > an error with a
hint. ``local`` is the embedded platform, in-process, on ``.evalspec/local.db`` under the
project root.

Credentials come only from the environment, with the official SDKs' names: ``SGP_API_KEY`` and
``SGP_ACCOUNT_ID`` (v5), ``SCALE_API_KEY`` (v2). They are never printed: reprs and errors show
``***``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from evalspec.client.http import HttpCore
from evalspec.client.sgp import SGPClient, TasksClient
from evalspec.errors import UsageError

PRODUCTION_URL = "https://api.egp.scale.com"
V2_PRODUCTION_URL = "https://api.scale.com"
LOCAL = "local"
LOCAL_KEY = "local"  # the embedded platform accepts any non-empty key


@dataclass(frozen=True)
class Endpoint:
    url: str  # "local" or a base URL
    source: str  # where it came from, for messages

    @property
    def is_local(self) -> bool:
        return self.url == LOCAL


@dataclass(frozen=True)
class Credentials:
    api_key: str | None = field(default=None, repr=False)
    account_id: str | None = None
    scale_api_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        env = os.environ if environ is None else environ
        return cls(env.get("SGP_API_KEY") or None, env.get("SGP_ACCOUNT_ID") or None,
                   env.get("SCALE_API_KEY") or None)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.api_key, self.scale_api_key) if s)


def resolve_endpoint(option: str | None, configured: str | None,
                     environ: Mapping[str, str] | None = None) -> Endpoint:
    env = os.environ if environ is None else environ
    for value, source in ((option, "--endpoint"),
                          (env.get("EVALSPEC_ENDPOINT"), "EVALSPEC_ENDPOINT"),
                          (env.get("SGP_CLIENT_BASE_URL"), "SGP_CLIENT_BASE_URL"),
                          (configured, "evalspec.yaml")):
        if value:
            if value == LOCAL and source == "evalspec.yaml" and in_ci(env):
                raise UsageError(
                    "evalspec.yaml says 'endpoint: local', and this is CI (CI is set): that "
                    "would plan and apply against a throwaway platform on this machine and "
                    "pass while changing nothing real. Set EVALSPEC_ENDPOINT to the "
                    "platform's URL (a repository variable), or pass --endpoint local if the "
                    "embedded platform is what you mean")
            return Endpoint(_check_url(value, source), source)
    if env.get("SGP_API_KEY"):
        return Endpoint(PRODUCTION_URL, "SGP_API_KEY is set")
    raise UsageError(
        "no platform endpoint: pass --endpoint URL (or --endpoint local for the embedded "
        "platform), set EVALSPEC_ENDPOINT, or set 'endpoint' in evalspec.yaml"
    )


def in_ci(environ: Mapping[str, str]) -> bool:
    """Whether this runs in CI: ``CI`` set to anything but empty, 0 or false (GitHub Actions,
    GitLab and most others set CI=true)."""
    return environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _check_url(value: str, source: str) -> str:
    if value == LOCAL:
        return value
    url = httpx.URL(value)
    if url.scheme not in ("http", "https") or not url.host:
        raise UsageError(f"{source}: {value!r} is not 'local' or an http(s) URL")
    if url.userinfo:
        raise UsageError(f"{source}: the endpoint URL must not contain credentials; "
                         "use SGP_API_KEY")
    return value.rstrip("/")


def local_database(root: Path) -> Path:
    directory = root / ".evalspec"
    directory.mkdir(parents=True, exist_ok=True)
    return directory / "local.db"


def _local_transport(root: Path) -> httpx.AsyncBaseTransport:
    """The platform in this process; v2 tasks come from ``.evalspec/tasks.jsonl`` if present."""
    from evalspec.platform.api import Settings
    from evalspec.platform.app import create_app
    from evalspec.platform.hotpath import hot_path
    from evalspec.platform.scoring import QUALITY_ENV, parse_qualities

    database = local_database(root)
    tasks = database.parent / "tasks.jsonl"
    try:
        qualities = parse_qualities([p for p in os.environ.get(QUALITY_ENV, "").split(",")
                                     if p.strip()])
    except ValueError as exc:
        raise UsageError(f"{QUALITY_ENV}: {exc}") from None
    # In this process there are no other clients for a large body to stall: no body limit.
    app = create_app(Settings(db=database, tasks_file=tasks if tasks.is_file() else None,
                              model_quality=qualities, max_body_bytes=2**62))
    return _LocalTransport(app, hot_path(app))


class _LocalTransport(httpx.ASGITransport):
    """The in-process platform; closing the client closes its database."""

    def __init__(self, app: Any, served: Any) -> None:
        super().__init__(app=served)
        self._platform = app

    async def aclose(self) -> None:
        await super().aclose()
        self._platform.state.store.close()


def sgp_client(endpoint: Endpoint, credentials: Credentials, root: Path, *,
               max_connections: int = 64,
               transport: httpx.AsyncBaseTransport | None = None) -> SGPClient:
    """A v5 client for ``endpoint``; ``local`` runs the platform in this process."""
    key, account = credentials.api_key, credentials.account_id
    if endpoint.is_local:
        transport = transport or _local_transport(root)
        base_url, key, account = "http://local.evalspec", key or LOCAL_KEY, account or "default"
    else:
        base_url = endpoint.url
        if not key:
            raise UsageError(f"SGP_API_KEY is not set; it is needed for {endpoint.url} "
                             f"(endpoint from {endpoint.source})")
    headers = {"x-api-key": key}
    if account:
        headers["x-selected-account-id"] = account
    core = HttpCore(base_url, headers, transport=transport,
                    secrets=credentials.secrets, max_connections=max_connections)
    return SGPClient(core)


def tasks_client(endpoint: Endpoint, credentials: Credentials, root: Path, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> TasksClient:
    """A v2 Tasks client for ``endpoint`` (Scale's own host is V2_PRODUCTION_URL)."""
    key = credentials.scale_api_key
    if endpoint.is_local:
        transport = transport or _local_transport(root)
        base_url, key = "http://local.evalspec", key or LOCAL_KEY
    else:
        base_url = endpoint.url
        if not key:
            raise UsageError("SCALE_API_KEY is not set; the v2 Tasks API needs it")
    core = HttpCore(base_url, {"Authorization": f"Bearer {key}"}, transport=transport,
                    secrets=credentials.secrets)
    return TasksClient(core)
