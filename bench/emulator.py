"""How fast the local platform serves creates and 1,000-item list pages.

Starts `evalspec emulator` in its own process on a temporary database (no injected latency),
then drives it with evalspec's async client from this process:

1. creates of 1,000 evaluations (each with 10 rows and a chat_completion task) at
   parallelism 16;
2. reads of the 1,000-item list page (``views=tasks``), sequentially and 4 at a time.

Reported: requests per second, milliseconds per request, and the emulator process's CPU
seconds (from /proc). The later benchmarks need about parallelism / latency = 16 / 20 ms =
800 creates per second (apply) and a handful of list pages (plan); the ratios say how much
headroom the emulator leaves.

    python bench/emulator.py [--creates 1000] [--pages 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import cpu_seconds, emulator

from evalspec.client.config import Credentials, Endpoint, sgp_client

NEEDED_CREATES_PER_SECOND = 16 / 0.020


def body(i: int) -> dict:
    return {
        "name": f"bench-{i}", "tags": ["evalspec:bench"],
        "metadata": {"evalspec.address": f"Evaluation/bench-{i}"},
        "data": [{"id": f"q{j}", "question": f"Question {j}?"} for j in range(10)],
        "tasks": [{"task_type": "chat_completion", "alias": "answer", "configuration": {
            "model": "openai/gpt-4o", "temperature": 0.2,
            "messages": [{"role": "user", "content": "item.question"}]}}],
    }


async def run(url: str, pid: int, creates: int, pages: int) -> None:
    client = sgp_client(Endpoint(url, "bench"), Credentials(api_key="bench"), Path("."),
                        max_connections=16)
    gate = asyncio.Semaphore(16)

    async def create(i: int) -> None:
        async with gate:
            await client.create_evaluation(body(i))

    cpu0, start = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(*(create(i) for i in range(creates)))
    create_wall, create_cpu = time.perf_counter() - start, cpu_seconds(pid) - cpu0

    params = {"tags": "evalspec:bench", "views": "tasks", "limit": 1000}

    async def page() -> int:
        result = await client.core.request("GET", "/v5/evaluations", params=params)
        return len(result["items"])

    assert await page() == min(creates, 1000)
    results = {}
    for label, concurrency in (("list page, 1 at a time", 1), ("list page, 4 at a time", 4)):
        cpu0, start = cpu_seconds(pid), time.perf_counter()
        for _ in range(pages // concurrency):
            await asyncio.gather(*(page() for _ in range(concurrency)))
        done = (pages // concurrency) * concurrency
        results[label] = (done, time.perf_counter() - start, cpu_seconds(pid) - cpu0)
    await client.aclose()

    print(f"{'request':28} {'count':>6} {'per s':>8} {'ms each':>8} {'server CPU ms':>14} "
          f"{'server ceiling/s':>17}")
    rows = [("create (parallelism 16)", creates, create_wall, create_cpu), *(
        (label, count, wall, cpu) for label, (count, wall, cpu) in results.items())]
    for label, count, wall, cpu in rows:
        print(f"{label:28} {count:6d} {count / wall:8.1f} {1000 * wall / count:8.2f} "
              f"{1000 * cpu / count:14.2f} {count / cpu:17.0f}")
    rate, ceiling = creates / create_wall, creates / create_cpu
    print(f"\ncreates: measured {rate:.0f}/s with client and server sharing the machine = "
          f"{rate / NEEDED_CREATES_PER_SECOND:.2f}x the {NEEDED_CREATES_PER_SECOND:.0f}/s that "
          f"apply needs at parallelism 16 and 20 ms;\n         the server alone would serve "
          f"{ceiling:.0f}/s per CPU second = {ceiling / NEEDED_CREATES_PER_SECOND:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, emulator(Path(tmp) / "bench.db") as server:
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; emulator pid "
              f"{server.pid}, SQLite in WAL mode on a temporary file\n")
        asyncio.run(run(server.url, server.pid, args.creates, args.pages))


if __name__ == "__main__":
    main()
