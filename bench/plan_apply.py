"""Plan and apply at scale against the emulator with 20 ms of injected latency.

(a) plan over 10,000 owned evaluations (bench/validate.py's sweep: 25 models x 20 temperatures
    x 20 seeds over a 200-row dataset, one group over all of them), already applied, so the
    plan is empty. `evalspec plan` runs in its own process; its wall time and peak memory are
    measured, and the refresh is repeated in this process to count its round trips. Baseline:
    what a tool that GETs each object would do, over the same objects on the same emulator,
    one GET at a time (the target's baseline) and 16 at a time (evalspec's connection limit).
(b) apply of 1,000 creates at --parallelism 16 (10 models x 10 temperatures x 10 seeds, 10
    inline rows each) on a fresh emulator: the execution phase is timed in this process
    (plan made first, untimed), against the ideal rate parallelism / latency = 800/s; the whole
    `evalspec apply` command is timed too.
(c) peak memory (max RSS) of the `evalspec plan` process in (a).

The emulator always runs in its own process, but it shares this machine's cores with the client.

    python bench/plan_apply.py [--runs 3] [--latency-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import EVALSPEC, cpu_seconds, emulator, measure
from validate import make_project

from evalspec.client.config import Credentials, Endpoint, sgp_client
from evalspec.client.sgp import SGPClient
from evalspec.plan.refresh import refresh

ENV = {"SGP_API_KEY": "bench", "SGP_ACCOUNT_ID": "default"}
PARALLELISM = 16

CREATES_SPEC = """\
kind: Evaluation
name: c-${{ matrix.model | slug }}-t${{ matrix.temperature }}-s${{ matrix.seed }}
tags: [bench]
matrix:
  model: [%s]
  temperature: [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
  seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
data: %s
tasks:
  - task_type: chat_completion
    alias: answer
    configuration:
      model: ${{ matrix.model }}
      temperature: ${{ matrix.temperature }}
      seed: ${{ matrix.seed }}
      messages: [{role: user, content: item.question}]
"""


def client_for(url: str) -> SGPClient:
    return sgp_client(Endpoint(url, "bench"), Credentials("bench", "default"), Path("."),
                      max_connections=PARALLELISM)


async def refresh_round_trips(url: str, project: str) -> tuple[int, int, float]:
    client = client_for(url)
    try:
        start = time.perf_counter()
        actual = await refresh(client, project)
        return actual.round_trips, len(actual.objects), time.perf_counter() - start
    finally:
        await client.aclose()


async def get_each(url: str, project: str, concurrency: int) -> tuple[int, float]:
    """The baseline: one GET per owned object (ids known beforehand, as in a state file)."""
    client = client_for(url)
    try:
        actual = await refresh(client, project)
        gate = asyncio.Semaphore(concurrency)
        paths = {"Evaluation": "/v5/evaluations/{}?views=tasks",
                 "EvaluationGroup": "/v5/evaluation-groups/{}?views=members",
                 "Dataset": "/v5/datasets/{}"}

        async def get(kind: str, object_id: str) -> None:
            async with gate:
                await client.core.request("GET", paths[kind].format(object_id))

        start = time.perf_counter()
        await asyncio.gather(*(get(o.kind, o.id) for o in actual.objects))
        return len(actual.objects), time.perf_counter() - start
    finally:
        await client.aclose()


FLOOR = """\
import asyncio, sys, httpx
URL = sys.argv[1]
READS = [("/v5/evaluations", {"views": "tasks", "include_archived": "true"}),
         ("/v5/evaluation-groups", {"views": ["members", "row_identifiers"]}),
         ("/v5/datasets", {"include_archived": "true"}),
         ("/v5/rubrics", {}), ("/v5/questions", {"include_archived": "true"})]
async def read(client, path, params):
    query = {**params, "limit": 1000}
    if path != "/v5/questions":  # questions have no tags: all are read
        query["tags"] = "evalspec:bench"
    while True:
        page = (await client.get(path, params=query)).json()
        if not page["items"] or page.get("has_more") is False:
            return
        query["starting_after"] = page["items"][-1]["id"]
async def main():
    async with httpx.AsyncClient(base_url=URL, headers={"x-api-key": "bench"},
                                 timeout=300) as client:
        await asyncio.gather(*(read(client, p, q) for p, q in READS))
asyncio.run(main())
"""


def bench_plan(tmp: Path, runs: int, latency: str, evaluations: int = 10_000) -> None:
    root = tmp / "sweep"
    root.mkdir()
    make_project(root, evaluations)
    db = tmp / "plan.db"
    with emulator(db) as server:
        cpu, wall, _ = measure([*EVALSPEC, "apply", "--endpoint", server.url, "--auto-approve",
                                "--parallelism", str(PARALLELISM)], root, ENV)
        print(f"seeded with `evalspec apply` (no latency): {wall:.1f} s wall, {cpu:.1f} s "
              "client CPU")
    with emulator(db, "--latency-ms", latency) as server:
        trips, objects, refresh_wall = asyncio.run(refresh_round_trips(server.url, "bench"))
        plans, floors = [], []
        for _ in range(runs):  # alternating, so a slow spell of this shared machine hits both
            plans.append(measure([*EVALSPEC, "plan", "--endpoint", server.url,
                                  "--detailed-exitcode"], root, ENV))
            floors.append(measure([sys.executable, "-c", FLOOR, server.url], root))
        cpu, wall, peak = min(plans, key=lambda r: r[1])
        floor_cpu, floor_wall, floor_peak = min(floors, key=lambda r: r[1])
        if evaluations > 10_000:  # a GET per object would take many minutes: plan alone
            print(f"\n(a) plan over {objects - 2:,} owned evaluations, {latency} ms latency: "
                  f"{trips} round trips; refresh alone {refresh_wall:.2f} s; plan {wall:.2f} s "
                  f"wall, {cpu:.2f} s CPU, {peak} MiB peak; floor {floor_wall:.2f} s "
                  f"({wall / floor_wall:.2f}x)")
            return
        gets, sequential = asyncio.run(get_each(server.url, "bench", 1))
        _, concurrent = asyncio.run(get_each(server.url, "bench", PARALLELISM))
    evaluations = objects - 2
    print(f"\n(a) plan over {evaluations:,} owned evaluations + 1 dataset + 1 group, "
          f"{latency} ms latency, best of {runs}")
    print(f"{'':40} {'round trips':>12} {'wall s':>8} {'x faster':>9}")
    rows = [("baseline: GET each object, one at a time", gets, sequential),
            (f"GET each object, {PARALLELISM} at a time", gets, concurrent),
            ("evalspec refresh alone (in process)", trips, refresh_wall),
            ("evalspec plan (whole command)", trips, wall)]
    for label, count, seconds in rows:
        print(f"{label:40} {count:12,d} {seconds:8.2f} {sequential / seconds:9.1f}")
    limit = evaluations // 1000 + 5
    print(f"round trips: {trips} (target <= N/1000 + 5 = {limit}: "
          f"{'met' if trips <= limit else 'MISSED'})")
    print(f"whole plan {sequential / wall:.1f}x faster than GETting each object (target >= 20x: "
          f"{'met' if sequential / wall >= 20 else 'MISSED'}); {concurrent / wall:.1f}x faster "
          f"than {PARALLELISM} GETs at a time; plan CPU {cpu:.2f} s")
    print(f"floor (a plain httpx script: the same five paged reads and json.loads, in its own "
          f"process): {floor_wall:.2f} s wall, {floor_cpu:.2f} s CPU, {floor_peak} MiB; "
          f"plan / floor = {wall / floor_wall:.2f}x (issue 12's goal <= 1.25x)")
    print(f"\n(c) peak memory of that plan: {peak} MiB (target < 500 MiB: "
          f"{'met' if peak < 500 else 'MISSED'})")


async def execute_timed(url: str, root: Path) -> tuple[int, float, float, list[dict]]:
    """evalspec's execution phase: count, wall s, client CPU s, and the bodies it sent."""
    from evalspec.apply.execute import execute
    from evalspec.plan.planner import make_plan
    from evalspec.spec.desired import build

    client = client_for(url)
    try:
        plan = await make_plan(build(root), client, url)
        bodies = [a.desired["body"] for a in plan.actions if a.desired]
        cpu, start = time.process_time(), time.perf_counter()
        outcomes = await execute(plan, client, parallelism=PARALLELISM)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        failed = [o for o in outcomes if o.status != "done"]
        if failed:
            raise SystemExit(f"apply failed: {failed[0]}")
        return len(outcomes), wall, cpu, bodies
    finally:
        await client.aclose()


def sdk_creates(url: str, bodies: list[dict]) -> tuple[float, float]:
    """The baseline: the same creates with scale-gp-beta and a 16-thread pool (wall, CPU)."""
    from concurrent.futures import ThreadPoolExecutor

    from scale_gp_beta import SGPClient

    client = SGPClient(base_url=url, api_key="bench", account_id="default", max_retries=2)
    try:
        cpu, start = time.process_time(), time.perf_counter()
        with ThreadPoolExecutor(PARALLELISM) as pool:
            list(pool.map(lambda body: client.evaluations.create(evaluation=body), bodies))
        return time.perf_counter() - start, time.process_time() - cpu
    finally:
        client.close()


def bench_apply(tmp: Path, latency: str) -> None:
    root = tmp / "creates"
    (root / "specs").mkdir(parents=True)
    (root / "evalspec.yaml").write_text("project: creates\n")
    rows = json.dumps([{"id": f"q{i}", "question": f"Question {i}?"} for i in range(10)])
    models = ", ".join(f"vendor/model-{i}" for i in range(10))
    (root / "specs" / "creates.yaml").write_text(CREATES_SPEC % (models, rows))
    ideal = PARALLELISM / (int(latency) / 1000)
    with emulator(tmp / "creates.db", "--latency-ms", latency) as server:
        server_cpu = cpu_seconds(server.pid)
        count, wall, client_cpu, bodies = asyncio.run(execute_timed(server.url, root))
        server_cpu = cpu_seconds(server.pid) - server_cpu
    with emulator(tmp / "creates-sdk.db", "--latency-ms", latency) as server:
        sdk_cpu_start = cpu_seconds(server.pid)
        sdk_wall, sdk_cpu = sdk_creates(server.url, bodies)
        sdk_server_cpu = cpu_seconds(server.pid) - sdk_cpu_start
    with emulator(tmp / "creates-cli.db", "--latency-ms", latency) as server:
        _, command_wall, _ = measure([*EVALSPEC, "apply", "--endpoint", server.url,
                                      "--auto-approve", "--parallelism", str(PARALLELISM)],
                                     root, ENV)
    rate = count / wall
    print(f"\n(b) apply of {count:,} creates at --parallelism {PARALLELISM}, {latency} ms "
          "latency")
    print(f"execution phase: {wall:.2f} s = {rate:.0f} creates/s = {rate / ideal:.0%} of the "
          f"ideal {ideal:.0f}/s (target >= 80 %: {'met' if rate / ideal >= 0.8 else 'MISSED'}); "
          f"emulator CPU {server_cpu:.2f} s")
    print(f"whole `evalspec apply` command (start-up, plan, execution): {command_wall:.2f} s")
    sdk_rate = len(bodies) / sdk_wall
    print(f"baseline, scale-gp-beta with a {PARALLELISM}-thread pool, the same {len(bodies):,} "
          f"bodies: {sdk_wall:.2f} s = {sdk_rate:.0f} creates/s; client CPU per create: "
          f"evalspec {1000 * client_cpu / count:.2f} ms, SDK {1000 * sdk_cpu / len(bodies):.2f} "
          f"ms; evalspec / SDK throughput = {rate / sdk_rate:.2f} (issue 12's goal >= 1.0)")
    ceiling = count / server_cpu  # creates per second of emulator CPU
    print(f"emulator ceiling {ceiling:.0f} creates per CPU second (SDK run: "
          f"{len(bodies) / sdk_server_cpu:.0f}); evalspec reached {rate / ceiling:.0%} of it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", default="20")
    parser.add_argument("--only", choices=["plan", "apply"])
    parser.add_argument("--evaluations", type=int, default=10_000,
                        help="the plan's sweep size (above 10,000: no GET-per-object baseline)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; emulator in its own "
          "process, SQLite in WAL mode on a temporary file")
    with tempfile.TemporaryDirectory() as tmp:
        if args.only != "apply":
            bench_plan(Path(tmp), args.runs, args.latency_ms, args.evaluations)
        if args.only != "plan":
            bench_apply(Path(tmp), args.latency_ms)


if __name__ == "__main__":
    main()
