"""The ``evalspec`` command line: option parsing, and the one place errors become exit codes.

Commands live in sibling modules; each turns options into arguments for one application
function and hands the result to a renderer in :mod:`evalspec.spec.output`.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Sequence

import click

from evalspec import __version__
from evalspec.errors import EXIT_ERROR, EXIT_INTERRUPTED, EvalspecError, SpecError
from evalspec.sanitize import keep_lines

# httpx's package imports its own command line, httpx._main, which loads pygments and, where
# installed, rich: 10 to 90 ms of every evalspec command's start for a tool evalspec never
# runs. Marked absent, it is skipped (httpx falls back to a `main` that says how to get it).
# Nothing above imports httpx.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="evalspec")
@click.option("--debug", is_flag=True,
              help="Show tracebacks for internal errors, and each request retried.")
def cli(debug: bool) -> None:
    """Plan and apply LLM evaluations on Scale's GenAI Platform, as code.

    \b
    Start with:
      evalspec init my-evals && cd my-evals   a project to start from (specs, data,
                                              prompts, a CI workflow)
      evalspec validate                       check it offline
      evalspec plan                           what apply would change (here: the
                                              embedded local platform, no account)
      evalspec apply                          make it so, after you say yes
      evalspec status --watch                 follow the evaluations it launched
      evalspec schema > evalspec.schema.json  the JSON Schema for your editor
    """


def _register() -> None:
    from evalspec.cli import (
        apply_commands,
        check_commands,
        import_commands,
        lock_commands,
        plan_commands,
        platform_commands,
        spec_commands,
        status_commands,
        tasks_commands,
    )

    for command in (*spec_commands.COMMANDS, *import_commands.COMMANDS,
                    *plan_commands.COMMANDS, *apply_commands.COMMANDS,
                    *lock_commands.COMMANDS,
                    *status_commands.COMMANDS, *check_commands.COMMANDS,
                    *tasks_commands.COMMANDS,
                    *platform_commands.COMMANDS):
        cli.add_command(command)


_register()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: runs the CLI and maps every outcome to an exit code.

    Run as the program (no ``argv``), it ends with :func:`hard_exit`; called with ``argv``
    (tests, embedding), it raises SystemExit as usual."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("EVALSPEC_DEBUG") == "1"
    logged = _debug_log() if debug else None
    try:
        result = cli.main(args=args, prog_name="evalspec", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        code = EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        code = EXIT_ERROR
    except SpecError as exc:  # evalspec.yaml read by a command that does not list problems
        from evalspec.spec.output import problems_text

        if debug:
            traceback.print_exc()
        click.echo(problems_text(exc.problems, exc.warnings), err=True)
        code = exc.exit_code
    except EvalspecError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"Error: {keep_lines(str(exc))}", err=True)
        code = exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``evalspec render | head``): not an error worth a message.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if debug:
            traceback.print_exc()
        click.echo(
            f"Error: internal error: {type(exc).__name__}: {keep_lines(str(exc))}\n"
            "This is a bug in evalspec. Rerun with --debug for a traceback and report it.",
            err=True,
        )
        code = EXIT_ERROR
    finally:
        if logged is not None:
            logging.getLogger("evalspec").removeHandler(logged)
            logging.getLogger("evalspec").setLevel(logging.NOTSET)
    if argv is None and not _observed():
        hard_exit(code)
    sys.exit(code)


class _DebugFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # Messages carry what a server said: control characters are shown, not obeyed.
        return keep_lines(f"debug: {record.getMessage()}")


def _debug_log() -> logging.Handler:
    """Under --debug, evalspec's own log (the client's retries) goes to standard error."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_DebugFormatter())
    logger = logging.getLogger("evalspec")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return handler


def _observed() -> bool:
    """Whether a profiler or coverage watches this process: they write their results at
    exit, so the interpreter's own exit must run."""
    if sys.getprofile() is not None or sys.gettrace() is not None or "coverage" in sys.modules:
        return True
    # Python 3.12+: cProfile (and others) watch through sys.monitoring, not sys.setprofile.
    monitoring = getattr(sys, "monitoring", None)
    return monitoring is not None and any(
        monitoring.get_tool(tool) is not None for tool in range(6))


def hard_exit(code: int) -> None:
    """Flush and leave without the interpreter's teardown.

    Everything a command writes is written by the time it returns (files are closed by their
    ``with`` blocks, the platform's writes are committed), and evalspec registers no exit
    handlers. What the teardown would do is free every object one by one: for a plan of
    10,000 evaluations, 0.1 s spent on memory the operating system reclaims at once. mypy
    ends the same way."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing left to deliver
            pass
    os._exit(code)
