"""Injected faults: seeded and reproducible, and a drop commits before it hangs up."""

from __future__ import annotations

import time

import httpx
import pytest

from evalspec.platform.api import Settings
from evalspec.platform.faults import Faults
from evalspec.platform.server import start_background

HEADERS = {"x-api-key": "k"}


@pytest.fixture
def faulty(tmp_path):
    servers = []

    def start(**faults):
        server = start_background(Settings(db=tmp_path / f"{len(servers)}.db",
                                           faults=Faults(**faults)))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def statuses(server, n: int) -> list[int]:
    with httpx.Client(base_url=server.url, headers=HEADERS) as client:
        return [client.get("/v5/evaluations").status_code for _ in range(n)]


def test_failures_are_seeded_and_reproducible(faulty) -> None:
    first = statuses(faulty(fail_rate=0.3, seed=7), 60)
    second = statuses(faulty(fail_rate=0.3, seed=7), 60)
    other = statuses(faulty(fail_rate=0.3, seed=8), 60)
    assert first == second and first != other
    assert set(first) == {200, 500, 503}
    assert 8 <= first.count(500) + first.count(503) <= 30


def test_rate_limit_answers_429_with_retry_after(faulty) -> None:
    server = faulty(rate_limit=5)
    with httpx.Client(base_url=server.url, headers=HEADERS) as client:
        responses = [client.get("/v5/evaluations") for _ in range(12)]
    limited = [r for r in responses if r.status_code == 429]
    assert limited, [r.status_code for r in responses]
    assert limited[0].headers["retry-after"] == "1"
    assert limited[0].json() == {"detail": "rate limit exceeded"}


def test_a_dropped_write_is_committed(faulty) -> None:
    server = faulty(drop_rate=1.0)
    with httpx.Client(base_url=server.url, headers=HEADERS) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/v5/evaluations", json={"name": "ghost", "data": [{}]})
        listed = client.get("/v5/evaluations").json()
    assert [e["name"] for e in listed["items"]] == ["ghost"]


def test_latency_delays_each_request(faulty) -> None:
    server = faulty(latency_ms=50)
    start = time.perf_counter()
    statuses(server, 4)
    assert time.perf_counter() - start >= 0.2
