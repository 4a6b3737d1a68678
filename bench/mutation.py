"""Mutation testing: how many hand-made bugs in the planner and apply does the suite miss?

Runs mutmut (pinned, installed on first use into a virtualenv of its own, ``.venv-mutation``
beside the project's: its dependencies, rich among them, must not change what the project's
own venv imports and so what the other benchmarks measure; never in CI's default path) over a
copy of the committed tree, so the working tree is left alone:

1. ``git archive HEAD`` into ``--workdir`` (default /tmp/evalspec-mutation), with a
   ``[tool.mutmut]`` section that mutates only ``--module`` files and runs the test files that
   exercise them (in process: the ``run`` fixture calls the CLI's ``main``, the platform runs on
   a thread);
2. ``mutmut run``: each mutant is one small change (an operator, a constant, a condition), and
   it is killed when a test fails. Tests that start ``python -m evalspec`` in a child process
   run the unmutated package (mutmut's trampolines need its configuration, which a child in
   a temporary directory cannot find), so they never kill a mutant;
3. prints killed / survived / other per module and the surviving mutants' names
   (``mutmut show NAME`` in the workdir shows the diff).

    python bench/mutation.py                                   # plan/diff.py and apply/execute.py
    python bench/mutation.py --module evalspec/spec/template.py --tests tests/test_template.py
    python bench/mutation.py --only 'evalspec.plan.diff.x__group*'    # one function's mutants

It takes a while: every mutant runs the tests that cover its function.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = "mutmut==3.8.1"
DEFAULT_MODULES = ["evalspec/plan/diff.py", "evalspec/apply/execute.py"]
DEFAULT_TESTS = ["tests/test_plan_apply.py", "tests/test_plan_format.py",
                 "tests/test_platform_faults.py", "tests/test_lock.py",
                 "tests/test_status_results.py", "tests/test_import.py", "tests/test_diff.py",
                 "tests/test_conformance.py"]


def ensure_mutmut(venv: Path) -> Path:
    """The python of ``venv``, made on first use with the project (tested pins) and mutmut."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    found = subprocess.run([str(python), "-m", "pip", "show", "mutmut"], capture_output=True,
                           text=True)
    if f"Version: {MUTMUT.split('==')[1]}" not in found.stdout:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-c",
                        str(ROOT / ".ci" / "constraints.txt"), "-e", f"{ROOT}[dev]", MUTMUT],
                       check=True)
    return python


def prepare(workdir: Path, modules: list[str], tests: list[str]) -> None:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(workdir)], input=archive, check=True)
    config = (
        "\n[tool.mutmut]\n"
        'source_paths = ["evalspec"]\n'
        f"only_mutate = {json.dumps(modules)}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
        # What the tests read besides the package and the tests themselves.
        'also_copy = ["examples", "schemas", "docs", "README.md", ".ci", "action.yml",'
        ' ".pre-commit-hooks.yaml"]\n'
    )
    pyproject = workdir / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(text + config, encoding="utf-8")
    # Tests import helpers as ``tests.conftest``: python -m pytest finds them from the current
    # directory, which mutmut takes off sys.path; as a package, pytest puts its parent there.
    (workdir / "tests" / "__init__.py").touch()


def results(python: Path, workdir: Path, env: dict[str, str]) -> dict[str, str]:
    listed = subprocess.run([str(python), "-m", "mutmut", "results", "--all", "true"],
                            cwd=workdir, env=env, capture_output=True, text=True)
    status = {}
    for line in listed.stdout.splitlines():
        name, _, outcome = line.strip().partition(": ")
        if name and outcome:
            status[name] = outcome
    return status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", dest="modules",
                        help="a file to mutate (repeatable; default: plan/diff.py and "
                        "apply/execute.py)")
    parser.add_argument("--tests", action="append",
                        help="a test file to run (repeatable; default: the plan/apply tests)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/evalspec-mutation"))
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv-mutation",
                        help="where mutmut is installed (default: .venv-mutation)")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", action="append", default=[], metavar="GLOB",
                        help="run only the mutants whose names match (repeatable), e.g. "
                        "'evalspec.plan.diff.x__group*'")
    args = parser.parse_args()
    modules, tests = args.modules or DEFAULT_MODULES, args.tests or DEFAULT_TESTS
    python = ensure_mutmut(args.venv)
    prepare(args.workdir, modules, tests)
    env = dict(os.environ)
    subprocess.run([str(python), "-m", "mutmut", "run", "--max-children",
                    str(args.max_children), *args.only], cwd=args.workdir, env=env)
    status = results(python, args.workdir, env)
    by_module: dict[str, Counter[str]] = {}
    for name, outcome in status.items():
        module = name.split(".x", 1)[0]
        by_module.setdefault(module, Counter())[outcome] += 1
    print(f"\n{'module':36} {'mutants':>8} {'killed':>7} {'survived':>9} {'other':>6} "
          f"{'not run':>8}")
    for module, counts in sorted(by_module.items()):
        total = sum(counts.values())
        skipped = counts["not checked"]
        other = total - counts["killed"] - counts["survived"] - skipped
        print(f"{module:36} {total:8d} {counts['killed']:7d} {counts['survived']:9d} "
              f"{other:6d} {skipped:8d}")
    survivors = sorted(n for n, o in status.items() if o == "survived")
    print(f"\nsurviving mutants ({len(survivors)}); see one with "
          f"'cd {args.workdir} && mutmut show NAME':")
    for name in survivors:
        print(f"  {name}")


if __name__ == "__main__":
    main()
