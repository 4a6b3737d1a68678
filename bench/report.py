"""evalspec report over a large group: 10 members x 10,000 rows, one metric score each.

A project with a 10,000-row dataset and a matrix of 10 models (a chat task and a rouge1
metric per row) is applied to an emulator in its own process (--complete-after 0, so the items
are done at once); then `evalspec report GROUP --format json` runs in its own process and its
wall time, CPU time and peak memory (max RSS) are measured. Baseline, in the same run: the same
process exporting the same group with `evalspec results` (the row join that holds every
member's items) to /dev/null.

    python bench/report.py [--rows 10000] [--members 10]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from _common import EVALSPEC, emulator, measure

ENV = {"SGP_API_KEY": "bench", "SGP_ACCOUNT_ID": "default"}


def make_project(root: Path, rows: int, members: int) -> None:
    (root / "specs").mkdir(parents=True)
    (root / "data").mkdir()
    with (root / "data" / "rows.jsonl").open("w") as out:
        for i in range(rows):
            out.write(json.dumps({"id": f"r{i}", "question": f"question {i}",
                                  "reference": f"the answer to question {i} is {i % 97}"})
                      + "\n")
    (root / "evalspec.yaml").write_text(
        "project: bench-report\npolicy: {max_evaluations: 100}\nvars:\n  models: "
        + json.dumps([f"vendor/model-{m}" for m in range(members)]) + "\n")
    (root / "specs" / "group.yaml").write_text("""\
kind: Dataset
name: rows
items: file://../data/rows.jsonl
---
kind: Evaluation
name: ev-${{ matrix.model | slug }}
matrix: {model: "${{ vars.models }}"}
dataset: rows
tasks:
  - task_type: chat_completion
    alias: answer
    configuration: {model: "${{ matrix.model }}", messages: [{role: user, content: item.question}]}
  - task_type: metric
    alias: score
    configuration: {type: rouge1, candidate: item.answer, reference: item.reference}
---
kind: EvaluationGroup
name: all
members: ["ev-*"]
row_identifier: id
""")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        make_project(root, args.rows, args.members)
        with emulator(Path(tmp) / "e.db", "--complete-after", "0") as server:
            env = {**ENV, "EVALSPEC_ENDPOINT": server.url}
            measure([*EVALSPEC, "apply", str(root), "--auto-approve"], root, env)
            results = measure([*EVALSPEC, "results", "all", str(root), "-o", os.devnull],
                              root, env)
            report = measure([*EVALSPEC, "report", "all", str(root), "--format", "json"],
                             root, env)
    print(f"group of {args.members} members x {args.rows:,} rows "
          f"({args.members * args.rows:,} items, a rouge1 score each)")
    for name, (cpu, wall, rss) in (("evalspec report", report), ("evalspec results", results)):
        print(f"  {name:<17} {wall:6.2f} s wall, {cpu:6.2f} s CPU, {rss:5d} MiB peak")
    print(f"  report / results: {report[1] / results[1]:.2f}x the time, "
          f"{report[2] / results[2]:.2f}x the peak memory")


if __name__ == "__main__":
    main()
