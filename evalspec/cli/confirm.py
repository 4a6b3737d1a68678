"""The one way commands ask before they change something: 'yes' or nothing happens."""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from evalspec.errors import EXIT_ERROR, EXIT_INTERRUPTED, UsageError


def confirm(command: str, question: str, *, flag: str, outcome: str) -> None:
    """Return once 'yes' is typed at ``question``. Anything else prints
    '<Command> cancelled: <outcome>.' and ends the command (exit 1; Ctrl-C: 130). Outside a
    terminal there is no one to ask: ``flag`` is how to go ahead without asking."""
    if not sys.stdin.isatty():
        raise UsageError(f"{command} needs confirmation: run it in a terminal, or pass {flag}")
    pressed: list[int] = []

    def interrupt(signum: int, frame: Any) -> None:
        pressed.append(signum)
        raise KeyboardInterrupt

    # The prompt may wait inside an event loop, whose own SIGINT handler only cancels the main
    # task and leaves the prompt waiting for a line: for the prompt's duration, the first
    # Ctrl-C ends it.
    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        answer = click.prompt(f"\n{question}? Only 'yes' will be accepted", default="",
                              show_default=False, err=True)
    except click.Abort:  # Ctrl-C, or the input ended
        answer = None
    finally:
        signal.signal(signal.SIGINT, previous)
    if answer == "yes":
        return
    click.echo(f"{'' if answer is not None else chr(10)}{command.capitalize()} cancelled: "
               f"{outcome}.", err=True)
    raise click.exceptions.Exit(EXIT_INTERRUPTED if pressed else EXIT_ERROR)
