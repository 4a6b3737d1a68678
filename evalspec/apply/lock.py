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
import math
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from evalspec.client.errors import APIError
from evalspec.client.http import create_once
from evalspec.client.sgp import SGPClient
from evalspec.errors import EvalspecError
from evalspec.sanitize import one_line

LOCK_TAG_PREFIX = "evalspec-lock:"
LEASE = 120.0  # seconds a lock is held without renewal
POLL_MAX = 10.0  # the longest wait between two looks at a held lock
WAIT_REPORT = 10.0  # how often a wait for the lock says it is still waiting
# How far a lease may run past now + lease before it is taken as forged or broken: clocks of
# two machines differ by seconds, not by an hour.
MAX_CLOCK_SKEW = 3600.0


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
        """The holder in words. Everything but the lease end was written by whoever made the
        lock object: shown, never obeyed (one line each)."""
        return one_line(f"{self.operation} by {self.who} (lock {self.id}, run {self.run}, since "
                        f"{self.created_at}; its lease runs to {_when(self.expires_at)} unless "
                        "renewed)")


LAST_MOMENT = 253402300799.0  # 9999-12-31 23:59:59 UTC, the last moment datetime can show


def _when(timestamp: float) -> str:
    """A moment in full (date and time, UTC): a lease far off must not read as today."""
    if not math.isfinite(timestamp):
        return "an unreadable time"
    moment = min(max(timestamp, 0.0), LAST_MOMENT)
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _who() -> str:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no user name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def _holder(body: dict[str, Any]) -> Holder | None:
    """The lock object's holder; None for an object that is not a lock evalspec wrote."""
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict) or "evalspec.lock.expires_at" not in metadata:
        return None
    expires = metadata["evalspec.lock.expires_at"]
    try:
        lease_end = float(expires) if not isinstance(expires, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        lease_end = math.nan
    return Holder(str(body["id"]), str(metadata.get("evalspec.lock.run", "?")),
                  str(metadata.get("evalspec.lock.who", "?")),
                  str(metadata.get("evalspec.lock.operation", "apply")),
                  str(body.get("created_at", "")), lease_end)


def lease_problem(holder: Holder, now: float, lease: float) -> str | None:
    """Why a lease cannot be honoured: not a number, or ending further ahead than any lease
    evalspec writes (a forged or broken lock must not block applies for years)."""
    if not math.isfinite(holder.expires_at):
        return "its lease end is not a time"
    if holder.expires_at > now + max(lease, LEASE) + MAX_CLOCK_SKEW:
        return f"its lease runs to {_when(holder.expires_at)}"
    return None


@dataclass(frozen=True)
class LockTable:
    """The project's lock objects as read at one moment: who holds it (the oldest live lease,
    by creation time and then id, so every contender sees the same holder), and the lock
    objects to archive on the way (expired, or with a lease that cannot be honoured)."""

    holder: Holder | None
    expired: tuple[str, ...]
    malformed: tuple[tuple[Holder, str], ...]


def read_locks(bodies: list[dict[str, Any]], now: float, lease: float) -> LockTable:
    live: list[tuple[str, str, Holder]] = []
    expired: list[str] = []
    malformed: list[tuple[Holder, str]] = []
    for body in bodies:
        holder = _holder(body)
        if holder is None:
            continue
        problem = lease_problem(holder, now, lease)
        if problem is not None:
            malformed.append((holder, problem))
        elif holder.expires_at < now:
            expired.append(holder.id)
        else:
            live.append((holder.created_at, holder.id, holder))
    return LockTable(min(live)[2] if live else None, tuple(expired), tuple(malformed))


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
                 lease: float = LEASE, clock: Clock | None = None,
                 warn: Callable[[str], None] = lambda message: None,
                 waiting: Callable[[str], None] = lambda message: None) -> None:
        """``warn``: a lock that is not one evalspec wrote; ``waiting``: progress while the
        lock is held by another run (who holds it, and how long this one has waited)."""
        self.client = client
        self.warn = warn
        self.waiting = waiting
        self._warned: set[str] = set()
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
        start = self.clock.monotonic()
        deadline = start + max(0.0, timeout)
        delay = 0.5
        shown: str | None = None  # the holder last named while waiting
        told = start  # when the wait was last reported
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
            now = self.clock.monotonic()
            if holder is not None and holder.id != shown:
                shown, told = holder.id, now
                self.waiting(f"Waiting up to {_seconds(timeout)} for the lock of project "
                             f"'{self.project}': {holder.describe()}")
            elif now - told >= WAIT_REPORT:
                told = now
                self.waiting(f"Still waiting for the lock of project '{self.project}': "
                             f"{_seconds(now - start)} of {_seconds(timeout)}")
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
        """The live lock with the oldest unexpired lease; expired ones are archived, and so
        are ones whose lease cannot be honoured, with a warning."""
        bodies = [body async for body in self.client.list_evaluations(tags=[self.tag])]
        table = read_locks(bodies, self.clock.time(), self.lease)
        for holder, problem in table.malformed:
            if holder.id not in self._warned:
                self._warned.add(holder.id)
                self.warn(f"lock {holder.id} of project '{self.project}' is not a lock evalspec "
                          f"could have written ({problem}): taken as expired and archived")
        for lock_id in (*table.expired, *(h.id for h, _ in table.malformed)):
            await self._archive(lock_id)
        return table.holder

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


def _seconds(value: float) -> str:
    """A duration as people write it: 45s, 5m, 2m30s, 1h."""
    total = round(value)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "",
             f"{seconds}s" if seconds or not total else ""]
    return "".join(parts)


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
