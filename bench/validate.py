"""Validate and render a project whose sweep expands to 10,000 evaluations.

Generates the project in a temporary directory (25 models x 20 temperatures x 20 seeds over a
shared 200-row JSONL Dataset, prompts from file://, one EvaluationGroup), then runs each command
in a fresh process and reports its CPU time (user + system) and peak memory (max RSS). The
baseline is the same interpreter running `evalspec --version` (start-up and imports).

    python bench/validate.py [--runs 3] [--sizes 10000 50000]

The first size gets every command; each further size is validated only, and the marginal cost
per 1,000 evaluations (CPU over start-up) is compared across sizes: equal means linear.

Target (DESIGN.md §11): validate under 2 s of CPU on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import measure

TARGET_CPU_SECONDS = 2.0

SPEC = """\
kind: Dataset
name: questions
key: id
items: file://../data/questions.jsonl
---
kind: Evaluation
name: q-${{ matrix.model | slug }}-t${{ matrix.temperature }}-s${{ matrix.seed }}
description: ${{ matrix.model }} at temperature ${{ matrix.temperature }}, seed ${{ matrix.seed }}
tags: [bench]
metadata: {model: "${{ matrix.model }}", temperature: "${{ matrix.temperature }}"}
matrix:
  model: ${{ vars.models }}
  temperature: ${{ vars.temperatures }}
  seed: ${{ vars.seeds }}
dataset: questions
tasks:
  - task_type: chat_completion
    alias: answer
    configuration:
      model: ${{ matrix.model }}
      temperature: ${{ matrix.temperature }}
      seed: ${{ matrix.seed }}
      max_tokens: 256
      messages:
        - {role: system, content: file://../prompts/system.txt}
        - {role: user, content: item.question}
  - task_type: metric
    alias: rouge
    configuration: {type: rougeL, candidate: item.answer, reference: item.reference}
---
kind: EvaluationGroup
name: all
members: ["q-*"]
row_identifier: id
"""


def make_project(root: Path, evaluations: int = 10_000) -> None:
    """25 models x 20 temperatures x (evaluations / 500) seeds."""
    models = [f"vendor{i % 5}/model-{i}" for i in range(25)]
    temperatures = [round(i * 0.05, 2) for i in range(20)]
    seeds = list(range(max(1, evaluations // 500)))
    (root / "specs").mkdir()
    (root / "data").mkdir()
    (root / "prompts").mkdir()
    (root / "evalspec.yaml").write_text(
        "project: bench\n"
        f"vars: {json.dumps({'models': models, 'temperatures': temperatures, 'seeds': seeds})}\n"
        f"policy: {{max_evaluations: {max(10_000, evaluations)}}}\n"
    )
    (root / "specs" / "sweep.yaml").write_text(SPEC)
    (root / "prompts" / "system.txt").write_text("You are a careful assistant.\n" * 20)
    with (root / "data" / "questions.jsonl").open("w") as fh:
        for i in range(200):
            fh.write(json.dumps({"id": f"q{i}", "question": f"Question {i}?",
                                 "reference": f"Answer {i}."}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    args = parser.parse_args()
    runs, sizes = args.runs, args.sizes
    evalspec = [sys.executable, "-m", "evalspec"]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, best of {runs} runs\n")
    print(f"{'command':32} {'cpu s':>7} {'wall s':>7} {'peak MiB':>9} {'x baseline':>11}")
    marginal: dict[int, float] = {}
    baseline = None
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            make_project(root, size)
            commands = {"validate": [*evalspec, "validate"]}
            if size == sizes[0]:
                commands = {"baseline: evalspec --version": [*evalspec, "--version"],
                            **commands,
                            "render --format json": [*evalspec, "render", "--format", "json"],
                            "render --format yaml": [*evalspec, "render"]}
            out = subprocess.run([*evalspec, "validate"], cwd=root, capture_output=True,
                                 text=True)
            print(f"-- {out.stdout.strip()}")
            for name, command in commands.items():
                cpu, wall, peak = min((measure(command, root) for _ in range(runs)),
                                      key=lambda r: r[0])
                baseline = baseline or cpu
                print(f"{name:32} {cpu:7.2f} {wall:7.2f} {peak:9d} {cpu / baseline:11.1f}")
                if name == "validate":
                    marginal[size] = cpu - baseline
    print()
    for size, extra in marginal.items():
        print(f"validate {size:,}: {extra:.2f} s CPU over start-up = "
              f"{1000 * extra / size:.3f} s per 1,000 evaluations")
    first = sizes[0]
    cpu = marginal[first] + (baseline or 0)
    verdict = "met" if cpu < TARGET_CPU_SECONDS else "MISSED"
    print(f"validate {first:,}: {cpu:.2f} s CPU = {cpu / TARGET_CPU_SECONDS:.0%} of the "
          f"{TARGET_CPU_SECONDS:.0f} s target ({verdict})")
    for size in sizes[1:]:
        ratio = (marginal[size] / size) / (marginal[first] / first)
        print(f"per-evaluation cost at {size:,} / at {first:,} = {ratio:.2f} (1.00 is linear)")


if __name__ == "__main__":
    main()
