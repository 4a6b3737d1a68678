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
