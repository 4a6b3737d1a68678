"""The README's front door stays true: its main command works, CI runs its test command."""

from __future__ import annotations

import re
import shlex
import shutil

from tests.conftest import ROOT


def front_door() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## Set up and run", 1)[1]
    return re.findall(r"```sh\n(.+?)\n```", section.split("\n## ", 1)[0])


def test_the_main_command_applies_the_sweep_then_plans_nothing(run, tmp_path) -> None:
    main, _ = front_door()
    steps = [shlex.split(step) for step in main.split(" && ")]
    evalspec = [step[1:] for step in steps if step[0] == ".venv/bin/evalspec"]
    assert [step[0] for step in evalspec] == ["apply", "plan"]
    shutil.copytree(ROOT / "examples" / "sweep", tmp_path / "examples" / "sweep")
    applied = run(*evalspec[0], cwd=tmp_path)
    assert applied.code == 0, applied.err
    assert applied.out.splitlines()[-1] == "Apply complete: 8 done, 0 failed, 0 skipped."
    assert "Using the embedded local platform" in applied.err
    planned = run(*evalspec[1], cwd=tmp_path)
    assert (planned.code, planned.out) == (0, "No changes. The platform matches the specs.\n")


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = front_door()
    assert (ROOT / ".ci" / "run").read_text().splitlines()[-1] == tests
