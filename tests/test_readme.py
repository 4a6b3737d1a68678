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


# Options every command that reads a project or the platform has, described once under the
# table instead of in each row.
SHARED_OPTIONS = {"--help", "-h", "--var", "--var-file", "--endpoint", "--no-color"}


def _commands(group, prefix=()):
    import click

    for name, command in group.commands.items():
        if command.hidden:
            continue
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def _readme_rows() -> dict[tuple[str, ...], set[str]]:
    """Each command in the README's table with the options its row names."""
    table = (ROOT / "README.md").read_text().split("## Commands", 1)[1].split("\n\n", 2)[1]
    rows: dict[tuple[str, ...], set[str]] = {}
    for line in table.splitlines()[2:]:
        cell = line.split(" | ", 1)[0]
        for usage in re.findall(r"`(evalspec [^`]+)`", cell):
            words = usage.replace("\\|", "|").split()[1:]
            name = tuple(w for w in words[:2] if re.fullmatch(r"[a-z][a-z-]*", w))
            name = name if len(name) == 2 and name[0] in ("state", "tasks") else name[:1]
            rows[name] = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", usage))
    return rows


def test_the_command_table_lists_every_command_with_every_option() -> None:
    """The README's table is checked against the CLI itself: a command or an option added
    without its row, or a row naming an option that does not exist, fails here."""
    from evalspec.cli import cli

    rows = _readme_rows()
    commands = dict(_commands(cli))
    assert sorted(rows) == sorted(commands)
    readme = (ROOT / "README.md").read_text()
    # The emulator's many settings are described in their own section.
    local = readme.split("## The local platform", 1)[1].split("\n## ", 1)[0]
    for name, command in commands.items():
        spellings = [{o for o in (*p.opts, *p.secondary_opts) if o.startswith("-")}
                     for p in command.params]
        listed = rows[name] | (set(re.findall(r"--[a-z][a-z-]*", local))
                               if name == ("emulator",) else set())
        # An option is listed under any of its spellings (-o or --out, --lock or --no-lock).
        missing = [sorted(s)[-1] for s in spellings if s and not s & (listed | SHARED_OPTIONS)]
        assert not missing, f"README lists {' '.join(name)} without {missing}"
        known = set().union(*spellings)
        assert rows[name] <= known, (
            f"README's row for {' '.join(name)} names {sorted(rows[name] - known)}")


def test_docs_name_every_report_format_and_no_file_outside_the_repository() -> None:
    from evalspec.cli import cli

    [fmt] = [p for p in cli.commands["report"].params if p.name == "fmt"]
    formats = (ROOT / "docs" / "report.md").read_text().split("## Formats", 1)[1]
    for choice in fmt.type.choices:
        assert f"\n- `{choice}`:" in formats, f"docs/report.md does not describe {choice}"
    # Paths the README points at exist in the repository (shared/ is not part of it).
    readme = (ROOT / "README.md").read_text()
    for path in re.findall(r"\(see `([\w./-]+)`\)|\]\(([\w./-]+)\)", readme):
        target = next(p for p in path if p)
        assert (ROOT / target.split("#")[0]).exists(), target
    assert "shared/" not in readme
