"""Commands that talk to the platform: ``plan`` (and, later, ``apply`` and ``destroy``)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from evalspec.cli.spec_commands import _report_problems, load, project_options
from evalspec.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, SpecError

if TYPE_CHECKING:
    from evalspec.client.sgp import SGPClient
    from evalspec.desired import DesiredState
    from evalspec.plan import Plan


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


def use_colour(no_color: bool) -> bool:
    return not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()


async def _make_plan(state: DesiredState, client: SGPClient, endpoint: str,
                     targets: tuple[str, ...]) -> Plan:
    from evalspec.plan import make_plan

    try:
        return await make_plan(state, client, endpoint, targets)
    finally:
        await client.aclose()


@click.command()
@project_options
@endpoint_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Human-readable, or the versioned JSON document.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also save the plan (JSON) to apply exactly it later.")
@click.option("--target", "targets", multiple=True, metavar="ADDR_OR_GLOB",
              help="Limit the plan to these addresses (and what they need). Repeatable.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 when there are no changes, 2 when there are.")
@click.option("--no-color", is_flag=True, help="No colour, even on a terminal.")
def plan(path: Path, cli_vars: tuple[str, ...], var_files: tuple[Path, ...],
         endpoint: str | None, fmt: str, out: Path | None, targets: tuple[str, ...],
         detailed_exitcode: bool, no_color: bool) -> int:
    """Show what apply would change on the platform to match the specs.

    Reads everything the project owns with a few paged list calls, compares it with the
    expanded specs and prints the actions: + create, ~ update, -/+ replace, - archive.
    Nothing is changed.

    \b
    Examples:
      evalspec plan --endpoint local
      evalspec plan -o plan.json --detailed-exitcode
      evalspec plan --target 'Evaluation/faq-*' --format json
    """
    from evalspec.plan.render_text import render_text

    try:
        state = load(path, cli_vars, var_files)
    except SpecError as exc:
        return _report_problems(exc, "text")
    client, url = connect(state, endpoint)
    result = asyncio.run(_make_plan(state, client, url, targets))
    if result.errors:
        for error in result.errors:
            click.echo(f"Error: {error}", err=True)
        return EXIT_ERROR
    document = json.dumps(result.to_json(), ensure_ascii=False)
    if out is not None:
        out.write_text(document + "\n", encoding="utf-8")
    if fmt == "json":
        click.echo(document)
    else:
        click.echo(render_text(result, use_colour(no_color)), nl=False)
        if out is not None:
            click.echo(f"\nSaved the plan to {out}; run 'evalspec apply {out}' to apply "
                       "exactly this plan.")
    return EXIT_CHANGES if detailed_exitcode and result.has_changes else EXIT_OK


COMMANDS = [plan]
