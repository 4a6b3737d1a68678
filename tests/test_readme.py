"""The README's front door stays true: its main command works, CI runs its test command."""

from __future__ import annotations

import re
import shlex

import pytest

from tests.conftest import ROOT, copy_example


def front_door() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## Set up and run", 1)[1]
    return re.findall(r"```sh\n(.+?)\n```", section.split("\n## ", 1)[0])


def test_the_main_command_applies_the_sweep_then_plans_nothing(run, tmp_path) -> None:
    main, _ = front_door()
    steps = [shlex.split(step) for step in main.split(" && ")]
    evalspec = [step[1:] for step in steps if step[0] == ".venv/bin/evalspec"]
    assert [step[0] for step in evalspec] == ["apply", "plan"]
    copy_example("sweep", tmp_path / "examples" / "sweep")
    applied = run(*evalspec[0], cwd=tmp_path)
    assert applied.code == 0, applied.err
    assert applied.out.splitlines()[-1] == "Apply complete: 8 done, 0 failed, 0 skipped."
    assert "Using the embedded local platform" in applied.err
    planned = run(*evalspec[1], cwd=tmp_path)
    assert (planned.code, planned.out) == (0, "No changes. The platform matches the specs.\n")


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = front_door()
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in lines  # then the floors and the other Pythons, the same way
    assert 'suite python3 .ci/floors.txt .venv-floors' in lines


def test_example_copies_leave_out_what_a_user_left_behind(tmp_path) -> None:
    # The first command leaves examples/sweep/.evalspec/local.db behind; a test's copy starts
    # from the example as committed, or the apply above would find nothing to do.
    import subprocess

    examples = tmp_path / "examples"
    (examples / "demo" / "specs").mkdir(parents=True)
    (examples / "demo" / "evalspec.yaml").write_text("project: demo\n")
    (examples / "demo" / "specs" / "a.yaml").write_text("kind: Dataset\n")
    for step in (["init", "-q"], ["add", "."]):
        subprocess.run(["git", *step], cwd=examples, check=True, capture_output=True)
    (examples / "demo" / ".evalspec").mkdir()
    (examples / "demo" / ".evalspec" / "local.db").write_text("state")
    (examples / "demo" / "plan.json").write_text("{}")
    copied = copy_example("demo", tmp_path / "copy", examples)
    assert sorted(str(p.relative_to(copied)) for p in copied.rglob("*")) == [
        "evalspec.yaml", "specs", "specs/a.yaml"]
    (examples / ".git").rename(examples / "not-git")  # outside git: all but .evalspec/
    copied = copy_example("demo", tmp_path / "copy2", examples)
    assert sorted(str(p.relative_to(copied)) for p in copied.rglob("*")) == [
        "evalspec.yaml", "plan.json", "specs", "specs/a.yaml"]


@pytest.mark.parametrize("constraints", ["constraints.txt", "constraints-3.10.txt"])
def test_ci_installs_a_tested_version_of_every_dependency_within_its_bounds(constraints) -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    from packaging.requirements import Requirement

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [Requirement(r) for r in
                [*pyproject["dependencies"], *pyproject["optional-dependencies"]["dev"]]]
    pins = {}
    for line in (ROOT / ".ci" / constraints).read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower().replace("_", "-")] = version
    for requirement in declared:
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not pinned in .ci/{constraints}"
        assert requirement.specifier.contains(pins[name]), (
            f"{name}=={pins[name]} is outside pyproject's {requirement.specifier}")
        if not name.startswith("types-"):  # stubs follow their package
            assert "<" in str(requirement.specifier), f"{name} has no upper bound"
    run = (ROOT / ".ci" / "run").read_text()
    assert "-c .ci/constraints.txt" in run
    # Every Python the package claims is tried, 3.10 with its own pins.
    for minor in ("3.10", "3.12", "3.13"):
        assert minor in run.split("for minor in", 1)[1].split(";", 1)[0]
    assert '.ci/constraints-$minor.txt' in run
    assert "-c .ci/constraints.txt" in front_door()[0]
