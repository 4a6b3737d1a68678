"""The project's apply lock, kept on the platform itself (evalspec keeps no local state).

Two applies of one project at the same time would each create every new address: twins that
the next plan archives, but only after every task execution ran twice. So ``apply`` and
``destroy`` take the project's lock before they plan, and hold it until they finish:

1. A contender creates a lock object: an evaluation without tasks (it runs nothing), tagged
   ``evalspec-lock:<project>`` (not the ownership tag, so plans and status never see it), its
   metadata naming the holder (a run id, user, host, operation) and when its lease ends.
2. It lists the project's live lock objects. The oldest whose lease has not ended holds the
   lock: every contender sees the same order (creation time, then id), so exactly one wins.
   Lock objects whose lease ended (an apply that was killed) are archived on the way.
3. A contender that lost archives its own object and waits, until ``--lock-timeout``, for the
   holder to finish; then it fails and names the holder.

The holder renews its lease every third of it while it works, and archives the lock object
when it is done. A lease that is not renewed (the process died) ends after :data:`LEASE`
seconds, and the next apply takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from evalspec.client.errors import APIError
from evalspec.client.http import create_once
from evalspec.client.sgp import SGPClient
from evalspec.errors import EvalspecError

LOCK_TAG_PREFIX = "evalspec-lock:"
LEASE = 120.0  # seconds a lock is held without renewal
POLL_MAX = 10.0  # the longest wait between two looks at a held lock


class LockHeld(EvalspecError):
    """Another run holds the project's lock and did not release it in time."""


@dataclass(frozen=True)
class Holder:
    id: str
    run: str
    who: str
    operation: str
    created_at: str
    expires_at: float

    def describe(self) -> str:
        until = datetime.fromtimestamp(self.expires_at, timezone.utc).strftime("%H:%M:%S UTC")
        return (f"{self.operation} by {self.who} (lock {self.id}, run {self.run}, since "
                f"{self.created_at}; its lease runs to {until} unless renewed)")


def _who() -> str:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no user name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def _holder(body: dict[str, Any]) -> Holder | None:
    metadata = body.get("metadata") or {}
    try:
        expires = float(metadata["evalspec.lock.expires_at"])
    except (KeyError, TypeError, ValueError):
        return None  # not a lock evalspec wrote
    return Holder(str(body["id"]), str(metadata.get("evalspec.lock.run", "?")),
                  str(metadata.get("evalspec.lock.who", "?")),
                  str(metadata.get("evalspec.lock.operation", "apply")),
                  str(body.get("created_at", "")), expires)


class Clock:
    """The lock's time: waits, the deadline, and the wall clock leases are written in."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ProjectLock:
    """``async with ProjectLock(client, project).held(timeout):`` runs its body holding the
    project's lock, or raises :class:`LockHeld`."""

    def __init__(self, client: SGPClient, project: str, *, operation: str = "apply",
                 lease: float = LEASE, clock: Clock | None = None) -> None:
        self.client = client
        self.clock = clock or Clock()
        self.project = project
        self.operation = operation
        self.lease = lease
        self.run = uuid.uuid4().hex[:12]
        self.id: str | None = None
        self._renewing: asyncio.Task[None] | None = None

    @property
    def tag(self) -> str:
        return f"{LOCK_TAG_PREFIX}{self.project}"

    @contextlib.asynccontextmanager
    async def held(self, timeout: float) -> Any:
        await self.acquire(timeout)
        try:
            yield self
        finally:
            await self.release()

    async def acquire(self, timeout: float) -> None:
        deadline = self.clock.monotonic() + max(0.0, timeout)
        delay = 0.5
        while True:
            holder = await self._current()
            if holder is None:
                mine = await self._create()
                holder = await self._current()
                if holder is not None and holder.id == mine:
                    self.id = mine
                    self._renewing = asyncio.create_task(self._renew())
                    return
                await self._archive(mine)  # another contender got in first
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                held = holder.describe() if holder else "another run"
                raise LockHeld(f"the project '{self.project}' is locked: {held}. Wait for it "
                               "to finish, or pass --lock-timeout to wait (e.g. "
                               "--lock-timeout 10m)")
            await self.clock.sleep(min(delay, remaining))
            delay = min(delay * 2, POLL_MAX)

    async def release(self) -> None:
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
            self._renewing = None
        if self.id is not None:
            await self._archive(self.id)
            self.id = None

    async def _current(self) -> Holder | None:
        """The live lock with the oldest unexpired lease; expired ones are archived."""
        now = self.clock.time()
        live: list[tuple[str, str, Holder]] = []
        async for body in self.client.list_evaluations(tags=[self.tag]):
            holder = _holder(body)
            if holder is None:
                continue
            if holder.expires_at < now:
                await self._archive(holder.id)
                continue
            live.append((holder.created_at, holder.id, holder))
        return min(live)[2] if live else None

    def _metadata(self) -> dict[str, Any]:
        return {"evalspec.lock.run": self.run, "evalspec.lock.who": _who(),
                "evalspec.lock.operation": self.operation,
                "evalspec.lock.expires_at": round(self.clock.time() + self.lease, 3)}

    async def _create(self) -> str:
        body = {"name": f"evalspec-lock-{self.project}",
                "description": f"evalspec {self.operation} in progress; archived when it ends",
                "tags": [self.tag], "metadata": self._metadata(), "data": [{"lock": self.run}]}

        async def lookup() -> dict[str, Any] | None:  # the answer to our create was lost
            # Without the tag the run id finds the same object, after reading every evaluation.
            async for found in self.client.list_evaluations(tags=[self.tag]):  # pragma: no mutate
                if (found.get("metadata") or {}).get("evalspec.lock.run") == self.run:
                    return found
            return None

        created = await create_once(lambda: self.client.create_evaluation(body), lookup)
        return str(created["id"])

    async def _renew(self) -> None:
        while True:
            await self.clock.sleep(self.lease / 3)
            if self.id is None:
                return
            with contextlib.suppress(APIError):  # the next renewal may get through
                await self.client.update_evaluation(self.id, {"metadata": {
                    "evalspec.lock.expires_at": round(self.clock.time() + self.lease, 3)}})

    async def _archive(self, lock_id: str) -> None:
        with contextlib.suppress(APIError):  # a lock left behind expires with its lease
            await self.client.archive_evaluation(lock_id)


def parse_duration(text: str) -> float:
    """``0``, ``30s``, ``5m``, ``1h`` or a number of seconds, as seconds."""
    value = text.strip().lower()
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    scale = units.get(value[-1:])
    number = value[:-1] if scale else value
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError:
        raise ValueError(f"'{text}' is not a duration such as 30s, 5m or 1h") from None
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"'{text}' is not a duration such as 30s, 5m or 1h")
    return seconds
