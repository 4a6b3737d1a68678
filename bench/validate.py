"""Validate and render a project whose sweep expands to 10,000 evaluations.

Generates the project in a temporary directory (25 models x 20 temperatures x 20 seeds over a
shared 200-row JSONL Dataset, prompts from file://, one EvaluationGroup), then runs each command
in a fresh process and reports its CPU time (user + system) and peak memory (max RSS). The
baseline is the same interpreter running `evalspec --version` (start-up and imports).

    python bench/validate.py [--runs 3]

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
    runs = parser.parse_args().runs
    evalspec = [sys.executable, "-m", "evalspec"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root)
        commands = {
            "baseline: evalspec --version": [*evalspec, "--version"],
            "validate": [*evalspec, "validate"],
            "render --format json": [*evalspec, "render", "--format", "json"],
            "render --format yaml": [*evalspec, "render"],
        }
        out = subprocess.run([*evalspec, "validate"], cwd=root, capture_output=True, text=True)
        print(f"project: {out.stdout.strip()}")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, best of {runs} runs\n")
        print(f"{'command':32} {'cpu s':>7} {'wall s':>7} {'peak MiB':>9} {'x baseline':>11}")
        baseline = None
        results = {}
        for name, args in commands.items():
            best = min((measure(args, root) for _ in range(runs)), key=lambda r: r[0])
            results[name] = best
            baseline = baseline or best[0]
            cpu, wall, peak = best
            print(f"{name:32} {cpu:7.2f} {wall:7.2f} {peak:9d} {cpu / baseline:11.1f}")
        cpu = results["validate"][0]
        verdict = "met" if cpu < TARGET_CPU_SECONDS else "MISSED"
        print(f"\nvalidate: {cpu:.2f} s CPU = {cpu / TARGET_CPU_SECONDS:.0%} of the "
              f"{TARGET_CPU_SECONDS:.0f} s target ({verdict})")


if __name__ == "__main__":
    main()
