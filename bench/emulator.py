"""How fast the local platform serves creates and 1,000-item list pages.

Starts `evalspec emulator` in its own process on a temporary database (no injected latency),
then drives it with evalspec's async client from this process:

1. creates of 1,000 evaluations (each with 10 rows and a chat_completion task) at
   parallelism 16;
2. reads of the 1,000-item list page (``views=tasks``), sequentially and 4 at a time.

Reported: requests per second, milliseconds per request, and the emulator process's CPU
seconds (from /proc). The same run measures a baseline first: the evalspec package of another
commit (``--baseline``, by default the last one before stored JSON texts) served on uvicorn's
plain stack (asyncio's loop and h11), and prints this tree's figures as ratios of it.

The later benchmarks need about parallelism / latency = 16 / 20 ms = 800 creates per second
(apply) and a handful of list pages (plan); the ceilings say how much headroom the emulator
leaves.

    python bench/emulator.py [--creates 1000] [--pages 40] [--baseline REV | --no-baseline]
    python bench/emulator.py --instructions [--creates 300]

Server CPU time on a shared machine moves by a fifth between runs of the same build.
``--instructions`` counts instead what does not move: the user-space instructions each
emulator executes per create, under valgrind's callgrind (kernel time is not counted; the
same build gives the same count to within 0.1 %). It is about 50 times slower.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, cpu_seconds, emulator, free_port, served

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


BASELINE = "7552f40"  # the last commit before stored JSON texts, uvloop and httptools


async def run(url: str, pid: int, creates: int, pages: int
              ) -> dict[str, tuple[int, float, float]]:
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

    results = {}
    if not pages:
        await client.aclose()
        return {"create (parallelism 16)": (creates, create_wall, create_cpu)}
    assert await page() == min(creates, 1000)
    for label, concurrency in (("list page, 1 at a time", 1), ("list page, 4 at a time", 4)):
        cpu0, start = cpu_seconds(pid), time.perf_counter()
        for _ in range(pages // concurrency):
            await asyncio.gather(*(page() for _ in range(concurrency)))
        done = (pages // concurrency) * concurrency
        results[label] = (done, time.perf_counter() - start, cpu_seconds(pid) - cpu0)
    await client.aclose()
    return {"create (parallelism 16)": (creates, create_wall, create_cpu), **results}


def table(title: str, rows: dict[str, tuple[int, float, float]]) -> None:
    print(f"{title}\n{'request':28} {'count':>6} {'per s':>8} {'ms each':>8} "
          f"{'server CPU ms':>14} {'server ceiling/s':>17}")
    for label, (count, wall, cpu) in rows.items():
        print(f"{label:28} {count:6d} {count / wall:8.1f} {1000 * wall / count:8.2f} "
              f"{1000 * cpu / count:14.2f} {count / cpu:17.0f}")
    count, wall, cpu = rows["create (parallelism 16)"]
    rate, ceiling = count / wall, count / cpu
    print(f"creates: measured {rate:.0f}/s with client and server sharing the machine = "
          f"{rate / NEEDED_CREATES_PER_SECOND:.2f}x the {NEEDED_CREATES_PER_SECOND:.0f}/s that "
          f"apply needs at parallelism 16 and 20 ms;\n         the server alone would serve "
          f"{ceiling:.0f}/s per CPU second = {ceiling / NEEDED_CREATES_PER_SECOND:.2f}x\n")


def compare(before: dict[str, tuple[int, float, float]],
            after: dict[str, tuple[int, float, float]]) -> None:
    print(f"{'this tree / baseline':28} {'per CPU s':>10} {'per s':>8}")
    for label, (count, wall, cpu) in after.items():
        old_count, old_wall, old_cpu = before[label]
        per_cpu = (count / cpu) / (old_count / old_cpu)
        per_wall = (count / wall) / (old_count / old_wall)
        print(f"{label:28} {per_cpu:9.2f}x {per_wall:7.2f}x")


def baseline_source(rev: str, into: Path) -> Path:
    """The evalspec package as it was at ``rev``, unpacked under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "evalspec"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def instructions(db: Path, creates: int, source: Path | None = None) -> float:
    """User-space instructions the emulator executes per create, counted by callgrind after
    50 creates to warm it up (the baseline on its plain stack, as in the timed rounds)."""
    out = db.with_suffix(".callgrind")
    with emulator(db, source=source, plain_stack=source is not None,
                  under=["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"],
                  env={"PYTHONHASHSEED": "0"}, startup=180) as server:
        asyncio.run(run(server.url, server.pid, 50, 0))
        subprocess.run(["callgrind_control", "--zero", str(server.pid)],
                       check=True, capture_output=True)
        asyncio.run(run(server.url, server.pid, creates, 0))
        subprocess.run(["callgrind_control", "--dump", str(server.pid)],
                       check=True, capture_output=True)
    for line in Path(f"{out}.1").read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1]) / creates
    raise SystemExit(f"no totals in {out}.1")


def count_instructions(creates: int, baseline: str | None) -> None:
    print(f"python {sys.version.split()[0]}; user-space instructions per create, counted by "
          f"callgrind over {creates} creates at parallelism 16 after 50 to warm up\n")
    with tempfile.TemporaryDirectory() as tmp:
        after = instructions(Path(tmp) / "after.db", creates)
        if baseline is not None:
            source = baseline_source(baseline, Path(tmp))
            before = instructions(Path(tmp) / "before.db", creates, source)
            print(f"baseline: {baseline} on asyncio + h11 {before:14,.0f}")
        print(f"this tree {'':24} {after:14,.0f}")
        if baseline is not None:
            print(f"this tree / baseline: {before / after:.2f}x the creates per instruction")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=1000)
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--baseline", default=BASELINE, metavar="REV",
                        help=f"the commit to compare with (default {BASELINE})")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--rounds", type=int, default=3,
                        help="baseline and this tree alternate this many times (the best shown)")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions under callgrind instead of timing (needs "
                             "valgrind; --creates 300 is plenty: the count does not move)")
    args = parser.parse_args()
    if args.instructions:
        if shutil.which("callgrind_control") is None:
            parser.error("--instructions needs valgrind (Debian: apt-get install valgrind)")
        count_instructions(args.creates, None if args.no_baseline else args.baseline)
        return
    if 0 < args.pages < 8:
        parser.error("--pages: 0, or at least 8 (a process's CPU time is read in 10 ms ticks)")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; each emulator in its own "
          f"process, SQLite in WAL mode on a temporary file; the best of {args.rounds} "
          "alternating rounds\n")
    runs: dict[str, list[dict[str, tuple[int, float, float]]]] = {
        "before": [], "after": [], "floor": []}
    with tempfile.TemporaryDirectory() as tmp:
        source = None if args.no_baseline else baseline_source(args.baseline, Path(tmp))
        for round_ in range(args.rounds):
            if source is not None:
                with emulator(Path(tmp) / f"before-{round_}.db", source=source,
                              plain_stack=True) as server:
                    runs["before"].append(
                        asyncio.run(run(server.url, server.pid, args.creates, args.pages)))
            with emulator(Path(tmp) / f"after-{round_}.db") as server:
                runs["after"].append(
                    asyncio.run(run(server.url, server.pid, args.creates, args.pages)))
            port = free_port()
            with served([sys.executable, str(ROOT / "bench" / "_floor_app.py"), str(port)],
                        port) as server:
                runs["floor"].append(asyncio.run(run(server.url, server.pid, args.creates, 0)))
    after = best(runs["after"])
    if source is not None:
        before = best(runs["before"])
        table(f"baseline: {args.baseline} on asyncio + h11", before)
    table("this tree", after)
    if source is not None:
        compare(before, after)
    _, _, floor_cpu = best(runs["floor"])["create (parallelism 16)"]
    count, _, cpu = after["create (parallelism 16)"]
    print(f"\nframework floor (bench/_floor_app.py: FastAPI + uvicorn on the same stack, the "
          f"same request model, no storage):\n  {1000 * floor_cpu / count:.2f} ms server CPU "
          f"per create; this tree's create costs {cpu / floor_cpu:.2f}x that")


def best(rounds: list[dict[str, tuple[int, float, float]]]
         ) -> dict[str, tuple[int, float, float]]:
    """Per request kind, the round with the least server CPU: on a shared machine a round
    is only ever slowed by others, so the least is the steadiest figure (as timeit holds)."""
    return {label: min((r[label] for r in rounds), key=lambda x: x[2]) for label in rounds[0]}


if __name__ == "__main__":
    main()
