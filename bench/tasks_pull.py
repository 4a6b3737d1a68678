"""`evalspec tasks pull` against the approach of seed 000's sample script.

The emulator serves N synthetic tasks shaped like seed 000 (evalspec/platform/sample_tasks.py)
from its own process, with 5 ms of injected latency per request. Each client runs in a fresh
process against it and writes the same JSONL file:

- baseline: seed 000's approach, re-implemented here for a base URL: `requests.request` per
  page (a new connection each time), every task kept in a list, the file written at the end;
- `evalspec tasks pull --project ... -o FILE`.

Reported: wall time, CPU time and peak memory (max RSS) of each, for several N, so that memory
growth with N shows.

    python bench/tasks_pull.py [--tasks 10000] [--latency-ms 5]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from _common import EVALSPEC, emulator, measure

from evalspec.platform.sample_tasks import sample_tasks

PROJECT = "Support FAQ review"

BASELINE = """
import json, sys, requests
url, key, project, out = sys.argv[1:]
tasks, params, more = [], {"project_name": project}, True
while more:
    response = requests.request("GET", url + "/v2/tasks", params=params,
                                headers={"Accept": "application/json",
                                         "Authorization": "Bearer " + key})
    body = response.json()
    token = body.get("next_token")
    if token:
        params["next_token"] = token
    else:
        more = False
    tasks.extend(body["tasks"])
with open(out, "w+") as fh:
    for task in tasks:
        json.dump(task, fh)
        fh.write("\\n")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--latency-ms", default="5")
    args = parser.parse_args()
    sizes = sorted({args.tasks // 4, args.tasks})
    env = {"SCALE_API_KEY": "bench"}
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; emulator in its own "
          f"process with {args.latency_ms} ms latency; tasks shaped like seed 000\n")
    print(f"{'client':34} {'tasks':>7} {'wall s':>7} {'cpu s':>6} {'peak MiB':>9} "
          f"{'x baseline':>11}")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for size in sizes:
            source = root / f"tasks-{size}.jsonl"
            with source.open("w") as fh:
                for task in sample_tasks(size, pending_every=0):
                    fh.write(json.dumps(task) + "\n")
            with emulator(root / f"db-{size}.db", "--tasks", str(source), "--latency-ms",
                          args.latency_ms) as server:
                base_out, ours_out = root / f"base-{size}.jsonl", root / f"ours-{size}.jsonl"
                base = measure([sys.executable, "-c", BASELINE, server.url, "bench", PROJECT,
                                str(base_out)], root, env)
                ours = measure([*EVALSPEC, "tasks", "pull", "--project", PROJECT, "-o",
                                str(ours_out), "--endpoint", server.url], root, env)
            pulled = [json.loads(line)["task_id"] for line in ours_out.open()]
            expected = [json.loads(line)["task_id"] for line in base_out.open()]
            if pulled != expected or len(pulled) != size:
                raise SystemExit(f"the two clients disagree on {size} tasks")
            for label, (cpu, wall, peak) in (("baseline: seed 000 sample approach", base),
                                             ("evalspec tasks pull", ours)):
                print(f"{label:34} {size:7,d} {wall:7.2f} {cpu:6.2f} {peak:9d} "
                      f"{base[1] / wall:11.2f}")
            results[size] = (base, ours)
    (small_base, small_ours), (big_base, big_ours) = results[sizes[0]], results[sizes[-1]]
    print(f"\n{sizes[-1]:,} tasks: evalspec {big_base[1] / big_ours[1]:.2f}x faster (wall); "
          f"peak memory {big_ours[2]} MiB vs {big_base[2]} MiB")
    print(f"memory growth from {sizes[0]:,} to {sizes[-1]:,} tasks: evalspec "
          f"{big_ours[2] - small_ours[2]:+d} MiB, baseline {big_base[2] - small_base[2]:+d} MiB")


if __name__ == "__main__":
    main()
