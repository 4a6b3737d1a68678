"""Commands that talk to the platform: ``plan``, ``show``, ``apply`` and ``destroy``."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from evalspec.cli.run_async import run as run_async
from evalspec.cli.spec_commands import _report_problems, _warn, load, project_options
from evalspec.errors import (
    EXIT_CHANGES,
    EXIT_ERROR,
    EXIT_OK,
    SpecError,
    UsageError,
)
from evalspec.sanitize import json_text, one_line

if TYPE_CHECKING:
    from evalspec.client.sgp import SGPClient
    from evalspec.plan.model import Plan
    from evalspec.spec.objects import DesiredState


def endpoint_option(fn: Any) -> Any:
    return click.option(
        "--endpoint", metavar="URL|local",
        help="Platform to use: an https URL, or 'local' for the embedded platform. "
        "Default: EVALSPEC_ENDPOINT, SGP_CLIENT_BASE_URL, evalspec.yaml, then production "
        "when SGP_API_KEY is set.")(fn)


def connect(state: DesiredState, option: str | None) -> tuple[SGPClient, str]:
    from evalspec.client.config import Credentials, resolve_endpoint, sgp_client

    endpoint = resolve_endpoint(option, state.config.endpoint)
    if endpoint.is_local:
        click.echo("Using the embedded local platform (.evalspec/local.db in the project).",
                   err=True)
    return sgp_client(endpoint, Credentials.from_env(), state.root), endpoint.url


def replace_option(fn: Any) -> Any:
    return click.option(
        "--replace", "replace", multiple=True, metavar="ADDR_OR_GLOB",
        help="Replace these evaluations although their specs did not change: run them again "
        "as new evaluations (the old ones are archived). Repeatable.")(fn)


def _replace_addresses(state: DesiredState, patterns: tuple[str, ...]) -> frozenset[str]:
    """The evaluations ``--replace`` names; a pattern that names none is a mistake."""
    import fnmatch

    evaluations = [o.address for o in state.of_kind("Evaluation")]
    chosen: set[str] = set()
    for pattern in patterns:
        found = [a for a in evaluations if fnmatch.fnmatchcase(a, pattern)
                 or fnmatch.fnmatchcase(a, f"Evaluation/{pattern}")]
        if not found:
            raise UsageError(f"--replace {pattern}: no evaluation in the specs has this "
                             "address (evaluations are replaced; groups and datasets are "
                             "updated in place)")
        chosen.update(found)
    return frozenset(chosen)


def _more_warnings(result: Plan, shown: Collection[str]) -> None:
    """The plan's warnings not shown yet (those about the platform: specs' came with load)."""
    for warning in result.warnings:
        if warning not in shown:
            click.echo(f"warning: {one_line(warning)}", err=True)


def _spec_warnings(state: DesiredState) -> frozenset[str]:
    return frozenset(str(w) for w in state.warnings)


def use_colour(no_color: bool, environ: Mapping[str, str] | None = None,
               terminal: bool | None = None) -> bool:
    """Colour on stdout, by the common conventions, first that applies: ``--no-color``; a
    non-empty NO_COLOR (no-color.org) turns it off; a non-empty FORCE_COLOR (force-color.org)
    turns it on, terminal or not; TERM=dumb turns it off; otherwise a terminal has it."""
    env = os.environ if environ is None else environ
    if no_color or env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    if env.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty() if terminal is None else terminal


def _early_reader(path: Path, endpoint: str | None, variables: Any
                  ) -> tuple[SGPClient, str, str] | None:
    """A client, URL and project name for a remote platform when evalspec.yaml and the
    environment already name both, so its reads can start while the specs load. None for the
    embedded platform (reading it early would create its database for specs that may not be
    valid) and whenever something is missing: the usual order then reports it."""
    from evalspec.client.config import Credentials, resolve_endpoint, sgp_client
    from evalspec.errors import EvalspecError
    from evalspec.spec.project import read_identity

    try:
        identity = read_identity(path, variables)
        resolved = resolve_endpoint(endpoint, identity.endpoint)
        if resolved.is_local:
            return None
        client = sgp_client(resolved, Credentials.from_env(), identity.root)
    except EvalspecError:
        return None
    return client, resolved.url, identity.project


def _load_for_plan(path: Path, cli_vars: tuple[str, ...],
                   var_files: tuple[Path, ...]) -> DesiredState:
    import evalspec.plan.planner  # noqa: F401

    return load(path, cli_vars, var_files)


async def _load_and_plan(path: Path, cli_vars: tuple[str, ...], var_files: tuple[Path, ...],
                         endpoint: str | None, targets: tuple[str, ...],
                         replace: tuple[str, ...]) -> tuple[DesiredState, Plan]:
    """Load the specs and plan; on a remote platform the refresh runs while the specs load
    (it only reads, and is cancelled if they turn out invalid)."""
    from evalspec.plan.refresh import PLAN_FIELDS, refresh  # light: client and tags
    from evalspec.spec.project import VariableInputs

    early = _early_reader(path, endpoint, VariableInputs(var_files=var_files, cli_vars=cli_vars))
    refreshing = asyncio.create_task(refresh(early[0], early[2], PLAN_FIELDS)) if early else None
    client = early[0] if early else None
    # The specs load in a thread beside the reads. A short GIL switch interval hands the event
    # loop the interpreter soon after an answer arrives, so the next page is asked for at once:
    # 0.5 ms instead of 5 ms made a 10,000-evaluation plan 5 % faster (bench/README.md).
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        # The planner's imports (the spec models among them) happen in the loading thread,
        # after the reads have gone out.
        state = await asyncio.to_thread(_load_for_plan, path, cli_vars, var_files)
        from evalspec.plan.planner import make_plan

        _warn(state, "text")
        replaced = _replace_addresses(state, replace)
        client, url = (early[0], early[1]) if early else connect(state, endpoint)
        return state, await make_plan(state, client, url, targets, replace=replaced,
                                      refreshing=refreshing)
    finally:
        sys.setswitchinterval(interval)
        if refreshing is not None and not refreshing.done():
            refreshing.cancel()
            await asyncio.gather(refreshing, return_exceptions=True)
        if client is not None:
            await client.aclose()


def _refuse_link(out: Path) -> None:
    if out.is_symlink():
        raise UsageError(f"-o {one_line(str(out))}: is a symbolic link; refusing to write the "
                         "plan through it (remove it, or name another file)")


def _save(out: Path, text: str) -> None:
    """Write the saved plan, never through a symbolic link: one committed in a pull request
    would have plan overwrite whatever it points at."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    _refuse_link(out)
    try:
        descriptor = os.open(out, flags, 0o644)
    except OSError as exc:
        raise UsageError(f"-o {out}: cannot write the plan: {exc.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


@click.command()
@project_options
@endpoint_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "github"]),
              default="text", show_default=True,
              help="Human-readable, the versioned JSON document, Markdown for a PR comment, "
              "or github: the text plan, with spec problems as GitHub annotations that mark "
              "the pull request's diff.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the plan (JSON) to apply exactly it later.")
@click.option("--target", "targets", multiple=True, metavar="ADDR_OR_GLOB",
              help="Limit the plan to these addresses (and what they need). Repeatable.")
@replace_option
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when there are no changes, 2 when there are.")
@click.option("--no-color", is_flag=True, help="No colour, even on a terminal.")
def plan(path: Path, cli_vars: tuple[str, ...], var_files: tuple[Path, ...],
         endpoint: str | None, fmt: str, out: Path | None, targets: tuple[str, ...],
         replace: tuple[str, ...],
         detailed_exitcode: bool, no_color: bool) -> int:
    """Show what apply would change on the platform to match the specs.

    Reads everything the project owns with a few paged list calls, compares it with the
    expanded specs and prints the actions: + create, ~ update (or restore), -/+ replace,
    - archive. Nothing is changed. Save the plan with -o and 'evalspec apply FILE' applies
    exactly it, or refuses if the platform changed since.

    \b
    Examples:
      evalspec plan --endpoint local
      evalspec plan -o plan.json --detailed-exitcode
      evalspec plan --format markdown > plan.md   # a pull-request comment
      evalspec plan --target 'Evaluation/faq-*' --format json
    """
    from evalspec.plan.render_text import render_text

    if out is not None:
        _refuse_link(out)  # before the platform is read, not after
    try:
        state, result = run_async(_load_and_plan(path, cli_vars, var_files, endpoint,
                                                   targets, replace))
    except SpecError as exc:
        return _report_problems(exc, "github" if fmt == "github" else "text")
    if result.errors:
        for error in result.errors:
            click.echo(f"Error: {one_line(error)}", err=True)
        return EXIT_ERROR
    document = json_text(result.to_json())
    if out is not None:
        _save(out, document + "\n")
    if fmt == "json":
        click.echo(document)
    elif fmt == "markdown":
        from evalspec.plan.render_markdown import render_markdown

        click.echo(render_markdown(result), nl=False)
    else:
        _more_warnings(result, _spec_warnings(state))
        click.echo(render_text(result, use_colour(no_color)), nl=False,
                   color=use_colour(no_color))
        if out is not None:
            click.echo(f"\nSaved the plan to {out}; run 'evalspec apply {out}' to apply "
                       "exactly this plan.")
    return EXIT_CHANGES if detailed_exitcode and result.has_changes else EXIT_OK


@click.command()
@click.argument("planfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True,
              help="Human-readable, the JSON document, or Markdown for a PR comment.")
@click.option("--no-color", is_flag=True, help="No colour, even on a terminal.")
def show(planfile: Path, fmt: str, no_color: bool) -> int:
    """Show a plan saved with 'plan -o', without reading the platform.

    Every format names the project and the endpoint the plan was made for; apply refuses
    the plan unless both are the ones your configuration names.

    \b
    Examples:
      evalspec show plan.json
      evalspec show plan.json --format markdown > plan.md
    """

    from evalspec.plan.render_markdown import render_markdown
    from evalspec.plan.render_text import render_text
    from evalspec.plan.saved import load_plan

    saved = load_plan(planfile)
    if fmt == "json":
        click.echo(json_text(saved.to_json()))
    elif fmt == "markdown":
        click.echo(render_markdown(saved), nl=False)
    else:
        click.echo(f"Plan for project {one_line(repr(saved.project))} on "
                   f"{one_line(saved.endpoint)}\n")
        click.echo(render_text(saved, use_colour(no_color)), nl=False,
                   color=use_colour(no_color))
    return EXIT_OK


COMMANDS = [plan, show]
