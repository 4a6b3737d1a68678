"""The project's apply lock: two applies never run at once (both over a real socket)."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import re
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone

import httpx
import pytest

from evalspec.apply.lock import (
    LOCK_TAG_PREFIX,
    Clock,
    Holder,
    LockHeld,
    ProjectLock,
    _holder,
    parse_duration,
)
from evalspec.client.config import Credentials, Endpoint, sgp_client
from tests.test_plan_apply import ENV, apply

FORTY = """\
kind: Evaluation
name: ev-${{ matrix.n }}
matrix: {n: NUMBERS}
data: [{q: a}, {q: b}]
tasks:
  - task_type: chat_completion
    alias: answer
    configuration:
      model: openai/gpt-4o
      messages: [{role: user, content: item.q}]
""".replace("NUMBERS", str(list(range(40))))


def _evaluations(url: str, tags: str, include_archived: bool = True) -> list[dict]:
    params = {"tags": tags, "limit": 1000, "include_archived": str(include_archived).lower()}
    response = httpx.get(f"{url}/v5/evaluations", headers={"x-api-key": "k"}, params=params)
    return response.json()["items"]


@pytest.fixture
def slow_platform(tmp_path):
    """A platform with 20 ms per request: an apply of 40 evaluations takes a while."""
    from evalspec.platform.api import Settings
    from evalspec.platform.faults import Faults
    from evalspec.platform.server import start_background

    server = start_background(Settings(db=tmp_path / "slow.db", complete_after=0.3,
                                       faults=Faults(latency_ms=20)))
    yield server
    server.stop()


def test_two_concurrent_applies_create_each_evaluation_once(project, slow_platform) -> None:
    root = project({"specs/forty.yaml": FORTY})
    command = [sys.executable, "-m", "evalspec", "apply", str(root), "--endpoint",
               slow_platform.url, "--auto-approve", "--parallelism", "2",
               "--lock-timeout", "2m", "--format", "json"]
    environment = {**os.environ, **ENV}
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=environment) for _ in range(2)]
    outputs = [r.communicate(timeout=240) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    everything = _evaluations(slow_platform.url, "evalspec:demo")
    assert len(everything) == 40 and not any(e["archived_at"] for e in everything)
    summaries = sorted(json.loads(out.splitlines()[-1])["done"] for out, _ in outputs)
    assert summaries == [0, 40]  # the second planned after the first: nothing left to do
    locks = _evaluations(slow_platform.url, f"{LOCK_TAG_PREFIX}demo")
    assert len(locks) >= 2 and all(lock["archived_at"] for lock in locks)  # all released


def _client(url: str, tmp_path):
    return sgp_client(Endpoint(url, "test"), Credentials(api_key="k", account_id="default"),
                      tmp_path)


def test_a_held_lock_stops_apply_and_names_its_holder(project, platform, run,
                                                      tmp_path) -> None:
    root = project({"specs/forty.yaml": FORTY})

    async def scenario() -> tuple:
        client = _client(platform.url, tmp_path)
        held = ProjectLock(client, "demo", operation="destroy")  # any operation holds it
        await held.acquire(0)
        try:
            result = await asyncio.to_thread(
                run, "apply", str(root), "--endpoint", platform.url, "--auto-approve",
                env=ENV)
            waited_from = time.monotonic()
            waited = await asyncio.to_thread(
                run, "apply", str(root), "--endpoint", platform.url, "--auto-approve",
                "--lock-timeout", "1s", env=ENV)
            seconds = time.monotonic() - waited_from
            made = _evaluations(platform.url, "evalspec:demo")
            locks = [e["id"] for e in _evaluations(platform.url, f"{LOCK_TAG_PREFIX}demo")]
            unlocked = await asyncio.to_thread(  # --no-lock: for a platform that cannot hold it
                subprocess.run, [sys.executable, "-m", "evalspec", "apply", str(root),
                                 "--endpoint", platform.url, "--auto-approve", "--no-lock",
                                 "--target", "Evaluation/ev-0"],
                env={**os.environ, **ENV}, capture_output=True, text=True, timeout=120)
            lock = await client.get_evaluation(str(held.id))
            return held.run, lock, result, waited, seconds, made, unlocked, locks
        finally:
            await held.release()
            await client.aclose()

    holder_run, lock, result, waited, seconds, made, unlocked, locks = asyncio.run(scenario())
    # Seeing the lock held, the others made no lock object of their own (archived or not).
    assert locks == [lock["id"]]
    assert re.fullmatch("[0-9a-f]{12}", holder_run)  # each run its own id: a lost create
    assert lock["metadata"]["evalspec.lock.run"] == holder_run  # is found by it
    until = datetime.fromtimestamp(lock["metadata"]["evalspec.lock.expires_at"],
                                   timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    who = f"{getpass.getuser()}@{socket.gethostname()} pid {os.getpid()}"
    assert (result.code, result.out, result.err) == (1, "", (
        f"Error: the project 'demo' is locked: destroy by {who} (lock {lock['id']}, run "
        f"{holder_run}, since {lock['created_at']}; its lease runs to {until} UTC unless "
        "renewed). Wait for it to finish, or pass --lock-timeout to wait (e.g. "
        "--lock-timeout 10m)\n"))
    assert waited.code == 1 and 1.0 <= seconds < 10
    assert made == []  # nothing was planned or made while the lock was held
    assert unlocked.returncode == 0, unlocked.stderr
    assert [e["name"] for e in _evaluations(platform.url, "evalspec:demo")] == ["ev-0"]
    after = apply(run, root, platform.url)  # released: the next apply goes ahead
    assert after.code == 0 and after.out.splitlines()[-1] == (
        "Apply complete: 39 done, 0 failed, 0 skipped.")


def test_a_lock_whose_lease_ended_is_taken_over(project, platform, run, tmp_path) -> None:
    root = project({"specs/forty.yaml": FORTY})

    async def abandoned() -> str:  # an apply that was killed: its lease is not renewed
        client = _client(platform.url, tmp_path)
        dead = ProjectLock(client, "demo", lease=0.2)
        await dead.acquire(0)
        assert dead._renewing is not None
        dead._renewing.cancel()
        lock_id = dead.id
        await client.aclose()
        await asyncio.sleep(0.3)
        return str(lock_id)

    lock_id = asyncio.run(abandoned())
    result = apply(run, root, platform.url)
    assert result.code == 0, result.err
    [stale] = [e for e in _evaluations(platform.url, f"{LOCK_TAG_PREFIX}demo")
               if e["id"] == lock_id]
    assert stale["archived_at"]


def test_the_lease_is_renewed_while_the_lock_is_held(platform, tmp_path) -> None:
    async def scenario() -> tuple[float, float]:
        client = _client(platform.url, tmp_path)
        lock = ProjectLock(client, "demo", lease=0.6)
        async with lock.held(0):
            first = await client.get_evaluation(str(lock.id))
            await asyncio.sleep(0.5)
            later = await client.get_evaluation(str(lock.id))
        await client.aclose()
        return (first["metadata"]["evalspec.lock.expires_at"],
                later["metadata"]["evalspec.lock.expires_at"])

    first, later = asyncio.run(scenario())
    assert later > first


@pytest.mark.parametrize("text, seconds", [("0", 0), ("0s", 0), ("30s", 30), ("5m", 300),
                                           ("1.5h", 5400), ("12", 12)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["-5s", "nan", "soon", "m"])
def test_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_duration(text)
    assert str(refused.value) == f"'{text}' is not a duration such as 30s, 5m or 1h"


def test_a_bad_lock_timeout_is_a_usage_error(project, run) -> None:
    root = project({"specs/forty.yaml": FORTY})
    result = run("apply", str(root), "--lock-timeout", "soon")
    assert result.code == 1 and "'soon' is not a duration such as 30s, 5m or 1h" in result.err


def test_the_holders_lease_end_is_told_in_utc_whatever_the_local_zone(monkeypatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        described = Holder("evaluation_1", "r1", "me@host pid 1", "destroy", "then",
                           expires_at=3600.0).describe()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert described == ("destroy by me@host pid 1 (lock evaluation_1, run r1, since then; its "
                         "lease runs to 1970-01-01 01:00:00 UTC unless renewed)")


def test_a_holder_without_a_user_name_is_unknown(monkeypatch) -> None:
    """Some containers have no user name for the process's uid: the lock still names its
    host and process."""
    from evalspec.apply import lock

    def no_name() -> str:
        raise KeyError("getpwuid(): uid not found: 1000")

    monkeypatch.setattr(lock.getpass, "getuser", no_name)
    assert lock._who() == f"unknown@{socket.gethostname()} pid {os.getpid()}"


def test_a_lock_that_names_no_holder_is_still_held(project, platform, run, http) -> None:
    """A lock object with a lease but no holder written in it (made by another tool, or by
    hand) holds the lock all the same, and is told as '?'."""
    root = project({"specs/forty.yaml": FORTY})
    expires = round(time.time() + 60, 3)
    made = http.post("/v5/evaluations", json={
        "name": "held-by-hand", "data": [{"q": 1}], "tags": [f"{LOCK_TAG_PREFIX}demo"],
        "metadata": {"evalspec.lock.expires_at": expires}}).json()
    until = datetime.fromtimestamp(expires, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    result = apply(run, root, platform.url)
    assert (result.code, result.err) == (1, (
        f"Error: the project 'demo' is locked: apply by ? (lock {made['id']}, run ?, since "
        f"{made['created_at']}; its lease runs to {until} UTC unless renewed). Wait for it to "
        "finish, or pass --lock-timeout to wait (e.g. --lock-timeout 10m)\n"))


def test_of_two_contenders_at_once_one_holds_and_the_other_leaves_nothing(platform,
                                                                          tmp_path) -> None:
    async def race() -> tuple[list, list[str], list[str]]:
        client = _client(platform.url, tmp_path)
        first, second = ProjectLock(client, "demo"), ProjectLock(client, "demo")
        try:
            outcomes = await asyncio.gather(first.acquire(0), second.acquire(0),
                                            return_exceptions=True)
            live = await asyncio.to_thread(_evaluations, platform.url,
                                           f"{LOCK_TAG_PREFIX}demo", False)
            holders = [str(lock.id) for lock in (first, second) if lock.id is not None]
            await first.release()
            await second.release()
            return [type(o).__name__ for o in outcomes], holders, [e["id"] for e in live]
        finally:
            await client.aclose()

    outcomes, holders, live = asyncio.run(race())
    assert sorted(outcomes) == ["LockHeld", "NoneType"]
    assert live == holders  # the loser archived any lock object it made


def test_only_this_projects_live_locks_hold_it(platform, tmp_path) -> None:
    """Another project's lock does not hold this one; an object under the lock tag that is
    no lock evalspec wrote is passed over, and the lock behind it still holds."""
    async def scenario() -> tuple[str | None, str]:
        client = _client(platform.url, tmp_path)
        try:
            other = ProjectLock(client, "other")
            await other.acquire(0)
            ours = ProjectLock(client, "demo")
            await ours.acquire(0)  # the other project's lock is not ours to wait for
            taken = ours.id
            await ours.release()
            await client.create_evaluation({  # listed before the lock taken next
                "name": "not-a-lock", "data": [{"q": 1}], "tags": [f"{LOCK_TAG_PREFIX}demo"]})
            held = ProjectLock(client, "demo")
            await held.acquire(0)
            try:
                await ProjectLock(client, "demo").acquire(0)
                refused = ""
            except LockHeld as exc:
                refused = str(exc)
            await held.release()
            await other.release()
            return taken, refused.split(" (")[0]
        finally:
            await client.aclose()

    taken, refused = asyncio.run(scenario())
    assert taken is not None
    assert refused.startswith("the project 'demo' is locked: apply by ")


class FakeClock(Clock):
    """Time that moves only when the lock sleeps; each wait is recorded. After ``waits``
    waits, the next one never ends (until the lock cancels it)."""

    def __init__(self, start: float = 1_800_000_000.12345, waits: int | None = None) -> None:
        self.now, self.slept, self.waits = start, [], waits

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.waits is not None and len(self.slept) > self.waits:
            await asyncio.Event().wait()
        await asyncio.sleep(0)


async def _until(condition, seconds: float = 5.0) -> None:
    """Wait (really) until ``condition()`` holds; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the lock's renewals stopped"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("timeout, waits", [
    (40, [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 4.5]),  # doubling, at most 10 s, cut at the end
    (0.25, [0.25]),
    (0, []),
    (-5, []),  # a negative timeout is no timeout
])
def test_a_waiting_contender_looks_again_at_growing_intervals_until_its_timeout(
        platform, tmp_path, timeout, waits) -> None:
    async def scenario() -> tuple[list[float], int]:
        client = _client(platform.url, tmp_path)
        holder = ProjectLock(client, "demo")
        await holder.acquire(0)
        # Whole seconds, so the waits add up exactly; the holder's 120 s lease outlasts them.
        clock = FakeClock(start=float(int(time.time())))
        before = client.core.requests_sent
        try:
            with pytest.raises(LockHeld):
                await ProjectLock(client, "demo", clock=clock).acquire(timeout)
            return clock.slept, client.core.requests_sent - before
        finally:
            await holder.release()
            await client.aclose()

    slept, requests = asyncio.run(scenario())
    assert slept == waits
    assert requests == len(waits) + 1  # one look (a list of the lock objects) per wait, +1


def test_the_lease_is_written_and_renewed_every_third_of_it_to_now_plus_the_lease(
        platform, tmp_path) -> None:
    async def scenario() -> tuple[list[float], float, float, dict]:
        client = _client(platform.url, tmp_path)
        clock = FakeClock(waits=1)  # one renewal, then the next wait lasts until release
        lock = ProjectLock(client, "demo", lease=90, clock=clock)
        try:
            async with lock.held(0):
                created = (await client.get_evaluation(str(lock.id)))["metadata"]
                await _until(lambda: len(clock.slept) == 2)
                renewed = (await client.get_evaluation(str(lock.id)))["metadata"]
                lock_id = str(lock.id)
            after = await client.get_evaluation(lock_id, include_archived=True)
            return (clock.slept, created["evalspec.lock.expires_at"],
                    renewed["evalspec.lock.expires_at"], after)
        finally:
            await client.aclose()

    slept, created, renewed, after = asyncio.run(scenario())
    assert slept == [30.0, 30.0]
    assert created == 1_800_000_090.123  # now + lease, to the millisecond
    assert renewed == 1_800_000_120.123  # renewed a third of the lease later
    assert after["archived_at"]  # released: archived, the pending wait cancelled


def test_a_failed_renewal_is_shrugged_off_and_the_next_gets_through(platform, tmp_path,
                                                                    monkeypatch) -> None:
    from evalspec.client.errors import ServerError

    async def scenario() -> tuple[list[float], float]:
        client = _client(platform.url, tmp_path)
        update = client.update_evaluation
        failures = [ServerError("PATCH failed with 503", method="PATCH", path="/v5/x",
                                status_code=503)]

        async def flaky(evaluation_id: str, body: dict) -> None:
            if failures:
                raise failures.pop()
            await update(evaluation_id, body)

        monkeypatch.setattr(client, "update_evaluation", flaky)
        clock = FakeClock(waits=2)
        lock = ProjectLock(client, "demo", lease=90, clock=clock)
        try:
            async with lock.held(0):
                await _until(lambda: len(clock.slept) == 3)
                renewed = (await client.get_evaluation(str(lock.id)))["metadata"]
            return clock.slept, renewed["evalspec.lock.expires_at"]
        finally:
            await client.aclose()

    slept, renewed = asyncio.run(scenario())
    assert slept == [30.0, 30.0, 30.0]
    assert renewed == 1_800_000_150.123  # the second renewal's


def test_a_lock_object_archived_by_hand_is_released_without_complaint(platform,
                                                                      tmp_path) -> None:
    async def scenario() -> str | None:
        client = _client(platform.url, tmp_path)
        lock = ProjectLock(client, "demo")
        try:
            async with lock.held(0):
                await client.archive_evaluation(str(lock.id))
            await lock.release()  # a second release does nothing
            return lock.id
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) is None


def test_a_lock_whose_create_answer_is_lost_is_found_not_made_twice(tmp_path) -> None:
    """Every write is committed and its answer dropped: the contender looks its own lock
    object up by its run id instead of creating another."""
    from evalspec.platform.api import Settings
    from evalspec.platform.faults import Faults
    from evalspec.platform.server import start_background

    server = start_background(Settings(db=tmp_path / "lossy.db",
                                       faults=Faults(drop_rate=1.0, seed=7)))

    async def scenario() -> tuple[str | None, str, list[dict]]:
        client = _client(server.url, tmp_path)
        lock = ProjectLock(client, "demo")
        try:
            await lock.acquire(0)
            held = lock.id
            rows = [item["data"] async for item in client.list_evaluation_items(str(held))]
            await lock.release()
            return held, lock.run, rows
        finally:
            await client.aclose()

    try:
        held, run_id, rows = asyncio.run(scenario())
        made = _evaluations(server.url, f"{LOCK_TAG_PREFIX}demo")
    finally:
        server.stop()
    assert [e["id"] for e in made] == [held]
    assert made[0]["metadata"]["evalspec.lock.run"] == run_id
    assert rows == [{"lock": run_id}]  # a row, so the platform takes it; it runs nothing


def test_a_lock_without_a_creation_time_is_read_with_an_empty_since() -> None:
    holder = _holder({"id": "ev_1", "metadata": {"evalspec.lock.expires_at": 1.5}})
    assert holder == Holder("ev_1", "?", "?", "apply", "", 1.5)


def _hand_made_lock(http, name: str, expires_at: float) -> str:
    return http.post("/v5/evaluations", json={
        "name": name, "data": [{"q": 1}], "tags": [f"{LOCK_TAG_PREFIX}demo"],
        "metadata": {"evalspec.lock.run": name, "evalspec.lock.expires_at": expires_at},
    }).json()["id"]


def _refusal(platform, tmp_path, clock: Clock) -> str:
    async def scenario() -> str:
        client = _client(platform.url, tmp_path)
        lock = ProjectLock(client, "demo", clock=clock)
        try:
            await lock.acquire(0)
        except LockHeld as exc:
            return str(exc)
        else:
            await lock.release()
        finally:
            await client.aclose()
        return "taken"

    return asyncio.run(scenario())


def test_a_lease_holds_up_to_its_last_moment(platform, http, tmp_path) -> None:
    live = _hand_made_lock(http, "ending", 1_800_000_000.0)
    refused = _refusal(platform, tmp_path, FakeClock(start=1_800_000_000.0))
    assert refused.startswith(f"the project 'demo' is locked: apply by ? (lock {live}, run ")
    assert _refusal(platform, tmp_path, FakeClock(start=1_800_000_000.001)) == "taken"


def test_every_expired_lock_is_passed_over_not_only_the_first(platform, http,
                                                              tmp_path) -> None:
    # Listed oldest first: the expired lock comes before the live one. Had the look stopped
    # at it, the contender would have made a lock object of its own before seeing the live
    # one (and archived it again): only the expired lock may be archived.
    expired = _hand_made_lock(http, "expired", 1_799_999_999.0)
    live = _hand_made_lock(http, "live", 1_800_000_060.0)
    refused = _refusal(platform, tmp_path, FakeClock(start=1_800_000_000.0))
    assert refused.startswith(f"the project 'demo' is locked: apply by ? (lock {live}, run live")
    archived = [e["id"] for e in _evaluations(platform.url, f"{LOCK_TAG_PREFIX}demo")
                if e["archived_at"]]
    assert archived == [expired]


def test_a_lock_object_that_cannot_be_seen_is_told_as_another_run(platform, tmp_path,
                                                                  monkeypatch) -> None:
    """A contender whose own lock object is not listed (a platform slow to show new objects)
    has lost: nothing tells it who holds the lock."""
    async def scenario() -> str:
        client = _client(platform.url, tmp_path)
        create = client.create_evaluation

        async def unlisted(body: dict) -> dict:
            return await create({**body, "tags": []})

        monkeypatch.setattr(client, "create_evaluation", unlisted)
        try:
            await ProjectLock(client, "demo").acquire(0)
        except LockHeld as exc:
            return str(exc)
        finally:
            await client.aclose()
        return "taken"

    assert asyncio.run(scenario()) == (
        "the project 'demo' is locked: another run. Wait for it to finish, or pass "
        "--lock-timeout to wait (e.g. --lock-timeout 10m)")


def _lock_body(lock_id: str, created_at: str, expires_at: object, who: str = "me") -> dict:
    return {"id": lock_id, "created_at": created_at,
            "metadata": {"evalspec.lock.expires_at": expires_at, "evalspec.lock.who": who}}


def test_the_oldest_live_lease_holds_whatever_order_they_are_listed_in() -> None:
    from evalspec.apply.lock import read_locks

    old = _lock_body("evaluation_b", "2026-01-01T00:00:01Z", 200.0)
    new = _lock_body("evaluation_a", "2026-01-01T00:00:02Z", 200.0)
    twin = _lock_body("evaluation_0", "2026-01-01T00:00:01Z", 200.0)  # same time: lower id
    gone = _lock_body("evaluation_9", "2026-01-01T00:00:00Z", 99.0)  # older, but expired
    for bodies in ([new, old], [old, new], [new, gone, old]):
        table = read_locks(bodies, now=100.0, lease=120.0)
        assert table.holder is not None and table.holder.id == "evaluation_b"
    assert read_locks([new, old, twin], 100.0, 120.0).holder.id == "evaluation_0"
    assert read_locks([gone, new], 100.0, 120.0).expired == ("evaluation_9",)
    assert read_locks([gone], 100.0, 120.0).holder is None
    # A lease holds to its last moment.
    assert read_locks([gone], 99.0, 120.0).holder.id == "evaluation_9"


@pytest.mark.parametrize(("expires_at", "problem"), [
    ("nan", "its lease end is not a time"),
    ("inf", "its lease end is not a time"),
    ("-inf", "its lease end is not a time"),
    (1e300, "its lease runs to 9999-12-31 23:59:59 UTC"),
    ("1e300", "its lease runs to 9999-12-31 23:59:59 UTC"),
    (1000.0 + 120 + 3600 + 1, "its lease runs to 1970-01-01 01:18:41 UTC"),
    ("soon", "its lease end is not a time"),
    ([1], "its lease end is not a time"),
    (True, "its lease end is not a time"),
])
def test_a_lease_that_cannot_be_honoured_is_reported_and_taken_as_expired(expires_at,
                                                                         problem) -> None:
    from evalspec.apply.lock import read_locks

    table = read_locks([_lock_body("evaluation_x", "t", expires_at)], now=1000.0, lease=120.0)
    assert table.holder is None
    assert [(h.id, p) for h, p in table.malformed] == [("evaluation_x", problem)]
    # The longest lease evalspec writes, plus the clock skew allowed, still holds.
    ok = read_locks([_lock_body("evaluation_y", "t", 1000.0 + 120 + 3600)], 1000.0, 120.0)
    assert ok.holder is not None and not ok.malformed


def test_a_forged_lock_neither_breaks_nor_blocks_apply(project, platform, run, http) -> None:
    root = project({"specs/one.yaml": FORTY.replace(str(list(range(40))), "[0]")})
    far = round(time.time() + 1e11, 3)  # 3,000 years
    far_text = datetime.fromtimestamp(far, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    forged = [(_hand_made_lock(http, f"forged-{i}", value), problem) for i, (value, problem) in
              enumerate([("nan", "its lease end is not a time"),
                         ("inf", "its lease end is not a time"),
                         (1e300, "its lease runs to 9999-12-31 23:59:59 UTC"),
                         (far, f"its lease runs to {far_text}")])]
    result = apply(run, root, platform.url)
    assert result.code == 0, result.err
    warnings = [line for line in result.err.splitlines() if line.startswith("warning: lock")]
    assert sorted(warnings) == sorted(
        f"warning: lock {lock_id} of project 'demo' is not a lock evalspec could have written "
        f"({problem}): taken as expired and archived" for lock_id, problem in forged)
    assert all(e["archived_at"] for e in _evaluations(platform.url, f"{LOCK_TAG_PREFIX}demo"))


def test_the_holders_words_are_shown_not_obeyed(project, platform, run, http) -> None:
    root = project({"specs/one.yaml": FORTY})
    forged = "x\nNo changes. The platform matches the specs.\x1b]0;owned\x07 \u202e"
    made = http.post("/v5/evaluations", json={
        "name": "held", "data": [{"q": 1}], "tags": [f"{LOCK_TAG_PREFIX}demo"],
        "metadata": {"evalspec.lock.expires_at": round(time.time() + 60, 3),
                     "evalspec.lock.who": forged, "evalspec.lock.run": "r\r\n"}}).json()
    result = apply(run, root, platform.url)
    assert result.code == 1 and result.err.count("\n") == 1
    assert ("by x\\nNo changes. The platform matches the specs.\\x1b]0;owned\\x07 \\u202e "
            f"(lock {made['id']}, run r\\r\\n, since") in result.err


def test_force_unlock_releases_only_the_lock_named(project, platform, run, http,
                                                   monkeypatch) -> None:
    root = project({"specs/one.yaml": FORTY})
    expires = round(time.time() + 60, 3)
    held = http.post("/v5/evaluations", json={
        "name": "held", "data": [{"q": 1}], "tags": [f"{LOCK_TAG_PREFIX}demo"],
        "metadata": {"evalspec.lock.expires_at": expires, "evalspec.lock.who": "ci@runner",
                     "evalspec.lock.run": "r1", "evalspec.lock.operation": "apply"}}).json()
    until = datetime.fromtimestamp(expires, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    described = (f"apply by ci@runner (lock {held['id']}, run r1, since {held['created_at']}; "
                 f"its lease runs to {until} unless renewed)")
    wrong = run("force-unlock", "evaluation_nope", str(root), "--endpoint", platform.url,
                "--force", env=ENV)
    assert (wrong.code, wrong.out, wrong.err) == (1, "", (
        f"Error: no lock evaluation_nope in project 'demo' (its lock is {held['id']}); "
        "nothing was released\n"))
    unasked = run("force-unlock", held["id"], str(root), "--endpoint", platform.url, env=ENV)
    assert (unasked.code, unasked.err) == (1, (
        f"Lock {held['id']} of project 'demo': {described}\n"
        "Error: force-unlock needs confirmation: run it in a terminal, or pass --force\n"))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("click.prompt", lambda *a, **k: "no")
    declined = run("force-unlock", held["id"], str(root), "--endpoint", platform.url, env=ENV)
    assert (declined.code, declined.err.splitlines()[-1]) == (
        1, "Force-unlock cancelled: nothing was released.")
    assert not _evaluations(platform.url, f"{LOCK_TAG_PREFIX}demo")[0]["archived_at"]
    monkeypatch.setattr("click.prompt", lambda *a, **k: "yes")
    released = run("force-unlock", held["id"], str(root), "--endpoint", platform.url, env=ENV)
    assert (released.code, released.out) == (0, f"Released lock {held['id']} of project "
                                                 "'demo'.\n")
    assert _evaluations(platform.url, f"{LOCK_TAG_PREFIX}demo")[0]["archived_at"]
    again = run("force-unlock", held["id"], str(root), "--endpoint", platform.url, env=ENV)
    assert again.err == (f"Error: no lock {held['id']} in project 'demo' (no lock is held); "
                         "nothing was released\n")
    assert apply(run, root, platform.url).code == 0


def test_a_wait_for_the_lock_names_the_holder_and_keeps_saying_how_long(platform,
                                                                        tmp_path) -> None:
    async def scenario() -> list[str]:
        client = _client(platform.url, tmp_path)
        holder = ProjectLock(client, "demo")
        await holder.acquire(0)
        said: list[str] = []
        try:
            with pytest.raises(LockHeld):
                await ProjectLock(client, "demo", clock=FakeClock(start=float(int(time.time()))),
                                  waiting=said.append).acquire(40)
            return said
        finally:
            await holder.release()
            await client.aclose()

    said = asyncio.run(scenario())
    assert said[0].startswith("Waiting up to 40s for the lock of project 'demo': apply by ")
    # Looks at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 25.5, 35.5 s: a word at least every 10 s.
    assert said[1:] == [f"Still waiting for the lock of project 'demo': {s} of 40s"
                        for s in ("16s", "26s", "36s")]


def test_durations_read_as_people_write_them() -> None:
    from evalspec.apply.lock import _seconds

    assert [_seconds(v) for v in (0, 0.4, 45, 60, 150, 3600, 5400)] == [
        "0s", "0s", "45s", "1m", "2m30s", "1h", "1h30m"]
