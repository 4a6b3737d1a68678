"""``evalspec status`` and ``evalspec results``: what the launched evaluations are doing."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import click

from evalspec.cli.plan_commands import endpoint_option
from evalspec.errors import EXIT_ERROR, EXIT_OK


def _connect(path: Path, endpoint: str | None) -> tuple[Any, Any]:
    from evalspec.client.config import Credentials, resolve_endpoint, sgp_client
    from evalspec.project import read_identity

    identity = read_identity(path)
    resolved = resolve_endpoint(endpoint, identity.endpoint)
    if resolved.is_local:
        click.echo("Using the embedded local platform (.evalspec/local.db in the project).",
                   err=True)
    return identity, sgp_client(resolved, Credentials.from_env(), identity.root)


@click.command()
@click.argument("path", required=False, default=".", type=click.Path(path_type=Path))
@endpoint_option
@click.option("--watch", is_flag=True, help="Refresh until every evaluation has finished.")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.05),
              metavar="SECONDS", help="Time between refreshes with --watch.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="A table per evaluation group, or a JSON document.")
def status(path: Path, endpoint: str | None, watch: bool, interval: float, fmt: str) -> int:
    """Show the project's evaluations: status, item progress and errors, by group.

    Reads what the project owns on the platform (only evalspec.yaml is needed, not valid
    specs). Exits 1 when any evaluation failed.

    \b
    Examples:
      evalspec status
      evalspec status --watch --interval 10
      evalspec status --format json | jq '.evaluations[] | select(.status == "failed")'
    """
    from evalspec.status import (
        progress_lines,
        read_statuses,
        render_json,
        render_text,
        summary_line,
    )

    identity, client = _connect(path, endpoint)
    terminal = sys.stdout.isatty()
    seen: dict[str, tuple[Any, ...]] = {}

    async def poll() -> list[Any]:
        while True:
            rows = await read_statuses(client, identity.project)
            if not watch or all(r.finished for r in rows):
                return rows
            if fmt == "text" and terminal:
                click.echo("\x1b[H\x1b[2J" + render_text(rows), nl=False)
                click.echo(f"Refreshing every {interval:g} s; Ctrl-C to stop.")
            else:  # a log: a line when something moved, with what moved
                changed = progress_lines(rows, seen)
                if changed:
                    click.echo("\n".join([f"{time.strftime('%H:%M:%S')} {summary_line(rows)}",
                                          *changed]), err=True)
            await asyncio.sleep(interval)

    async def run() -> list[Any]:
        try:
            return await poll()
        finally:
            await client.aclose()

    rows = asyncio.run(run())
    if fmt == "json":
        click.echo(render_json(identity.project, rows), nl=False)
    else:
        if watch and terminal:
            click.echo("\x1b[H\x1b[2J", nl=False)
        click.echo(render_text(rows), nl=False)
    return EXIT_ERROR if any(r.status == "failed" for r in rows) else EXIT_OK


@click.command()
@click.argument("name")
@click.argument("path", required=False, default=".", type=click.Path(path_type=Path))
@endpoint_option
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the JSONL here instead of standard output.")
def results(name: str, path: Path, endpoint: str | None, out: Path | None) -> int:
    """Export an evaluation's or a group's items with their task outputs as JSONL.

    NAME is an evaluation or group the project owns (a name, or an address such as
    EvaluationGroup/faq-sweep). An evaluation gives one line per item, as the platform returns
    it, with "evaluation_name" added; a group gives one line per row, joined across its
    members on the group's row identifier: {"row": ..., "evaluations": {member: item}}, and
    "missing" lists the members without that row.

    \b
    Examples:
      evalspec results capitals -o capitals.jsonl
      evalspec results faq-sweep examples/sweep -o sweep.jsonl
    """
    from evalspec.status import export_results

    identity, client = _connect(path, endpoint)

    async def run(stream: Any) -> tuple[str, int]:
        try:
            return await export_results(client, identity.project, name, stream)
        finally:
            await client.aclose()

    if out is None:
        address, rows = asyncio.run(run(sys.stdout))
    else:
        partial = out.with_name(out.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8") as stream:
                address, rows = asyncio.run(run(stream))
        except BaseException:
            partial.unlink(missing_ok=True)  # a failed export leaves nothing half-written
            raise
        partial.replace(out)
    click.echo(f"Exported {rows:,} rows of {address}" + (f" to {out}." if out else "."),
               err=True)
    return EXIT_OK


COMMANDS = [status, results]
