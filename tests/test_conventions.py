"""What every command shares: --help with an example, --version, shell completion."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest

from evalspec import __version__
from evalspec.cli import cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
    return found


@pytest.mark.parametrize("command", _commands(cli), ids=" ".join)
def test_every_command_has_help_with_an_example(command, run) -> None:
    result = run(*command, "--help")
    assert result.code == 0
    assert result.out.startswith(f"Usage: evalspec {' '.join(command)} ")
    assert "Example" in result.out, f"evalspec {' '.join(command)} --help shows no example"


def test_version(run) -> None:
    assert run("--version").out == f"evalspec, version {__version__}\n"


def test_shell_completion(run) -> None:
    script = run("completion", "bash").out
    assert "_EVALSPEC_COMPLETE=bash_complete" in script
    completed = subprocess.run(
        [sys.executable, "-m", "evalspec"], capture_output=True, text=True,
        env={**os.environ, "COMP_WORDS": "evalspec pl", "COMP_CWORD": "1",
             "_EVALSPEC_COMPLETE": "bash_complete"})
    assert completed.stdout.split() == ["plain,plan"]


@pytest.mark.parametrize(("flag", "environ", "terminal", "colour"), [
    (False, {}, True, True),
    (False, {}, False, False),
    (True, {}, True, False),                                  # --no-color
    (False, {"NO_COLOR": "1"}, True, False),
    (False, {"NO_COLOR": ""}, True, True),                    # empty: not set (no-color.org)
    (False, {"TERM": "dumb"}, True, False),
    (False, {"FORCE_COLOR": "1"}, False, True),               # force-color.org: a pipe too
    (False, {"FORCE_COLOR": ""}, False, False),
    (False, {"FORCE_COLOR": "1", "TERM": "dumb"}, False, True),
    (False, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, True, False),  # asked not to: not
    (True, {"FORCE_COLOR": "1"}, True, False),
])
def test_colour_follows_the_conventions(flag, environ, terminal, colour) -> None:
    from evalspec.cli.plan_commands import use_colour

    assert use_colour(flag, environ, terminal) is colour


def test_force_color_colours_a_plan_in_a_pipe(workdir, run) -> None:
    root = workdir("quickstart")
    plain = run("plan", str(root), "--endpoint", "local")
    forced = run("plan", str(root), "--endpoint", "local", env={"FORCE_COLOR": "1"})
    assert "\x1b[" not in plain.out and "\x1b[32m" in forced.out
