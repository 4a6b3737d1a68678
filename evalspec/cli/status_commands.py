"""``evalspec status``, ``results`` and ``state``: what the project launched and owns."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click

from evalspec.cli.plan_commands import endpoint_option
from evalspec.cli.run_async import run as run_async
from evalspec.cli.spec_commands import var_options
from evalspec.errors import EXIT_ERROR, EXIT_OK, UsageError
from evalspec.sanitize import one_line


def identity_options(fn: Any) -> Any:
    """PATH, --endpoint and the variables: what a command that reads only evalspec.yaml and
    the platform takes (the project's name may be templated from variables)."""
    fn = var_options(fn)
    fn = endpoint_option(fn)
    return click.argument("path", required=False, default=".",
                          type=click.Path(path_type=Path))(fn)


def _connect(path: Path, endpoint: str | None, variables: Any) -> tuple[Any, Any]:
    from evalspec.client.config import Credentials, resolve_endpoint, sgp_client
    from evalspec.spec.project import read_identity

    identity = read_identity(path, variables)
    resolved = resolve_endpoint(endpoint, identity.endpoint)
    if resolved.is_local:
        click.echo("Using the embedded local platform (.evalspec/local.db in the project).",
                   err=True)
    return identity, sgp_client(resolved, Credentials.from_env(), identity.root)


@click.command()
@identity_options
@click.option("--watch", is_flag=True, help="Refresh until every evaluation has finished.")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.05),
              metavar="SECONDS", help="Time between refreshes with --watch.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="A table per evaluation group, or a JSON document.")
def status(path: Path, endpoint: str | None, variables: Any, watch: bool, interval: float,
           fmt: str) -> int:
    """Show the project's evaluations: status, item progress and errors, by group.

    Reads what the project owns on the platform (only evalspec.yaml is needed, not valid
    specs). Exits 1 when any evaluation failed.

    \b
    Examples:
      evalspec status
      evalspec status --watch --interval 10
      evalspec status --format json | jq '.evaluations[] | select(.status == "failed")'
    """
    from evalspec.results.status import (
        progress_log,
        read_statuses,
        render_json,
        render_text,
    )

    identity, client = _connect(path, endpoint, variables)
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
                logged = progress_log(rows, seen)
                if logged:
                    click.echo(logged, err=True)
            await asyncio.sleep(interval)

    async def run() -> list[Any]:
        try:
            return await poll()
        finally:
            await client.aclose()

    rows = run_async(run())
    if fmt == "json":
        click.echo(render_json(identity.project, rows), nl=False)
    else:
        if watch and terminal:
            click.echo("\x1b[H\x1b[2J", nl=False)
        click.echo(render_text(rows), nl=False)
    return EXIT_ERROR if any(r.status == "failed" for r in rows) else EXIT_OK


@click.command()
@click.argument("name")
@identity_options
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the JSONL here instead of standard output.")
def results(name: str, path: Path, endpoint: str | None, variables: Any,
            out: Path | None) -> int:
    """Export an evaluation's or a group's items with their task outputs as JSONL.

    NAME is an evaluation or group the project owns (a name, or an address such as
    EvaluationGroup/faq-sweep). Every line has one shape: {"row": ..., "evaluations":
    {name: item}, "missing": [...]}. A group gives a line per row, joined across its members on
    the group's row identifier, "missing" listing the members without that row; an evaluation
    gives a line per item, "row" being its position. An item is {"item_id", "data" (with each
    task's output under its alias), "task_result_statuses", "task_errors"}; 'evalspec schema
    --results' prints the JSON Schema.

    \b
    Examples:
      evalspec results capitals -o capitals.jsonl
      evalspec results faq-sweep examples/sweep -o sweep.jsonl
    """
    from evalspec.results.status import export_results

    identity, client = _connect(path, endpoint, variables)

    async def run(stream: Any) -> tuple[str, int]:
        try:
            return await export_results(client, identity.project, name, stream)
        finally:
            await client.aclose()

    if out is None:
        address, rows = run_async(run(sys.stdout))
    else:
        partial = out.with_name(out.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8") as stream:
                address, rows = run_async(run(stream))
        except BaseException:
            partial.unlink(missing_ok=True)  # a failed export leaves nothing half-written
            raise
        partial.replace(out)
    click.echo(f"Exported {rows:,} rows of {address}" + (f" to {out}." if out else "."),
               err=True)
    return EXIT_OK


@click.command()
@click.argument("name")
@identity_options
@click.option("--baseline", metavar="MEMBER",
              help="The member the others are compared with. Default: the group's first.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]),
              default="text", show_default=True,
              help="A leaderboard per score, the JSON document, Markdown for a PR comment, or "
              "a self-contained HTML page with charts.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report here instead of standard output.")
@click.option("--cluster-by", metavar="COLUMN",
              help="Treat rows with the same value in this item column as one cluster "
              "(cluster-robust intervals and tests). Default: the group's cluster_by in the "
              "specs.")
@click.option("--by", "by", metavar="COLUMN",
              help="Repeat the comparison for each value of this item column (a channel, a "
              "difficulty), after the overall one.")
def report(name: str, path: Path, endpoint: str | None, variables: Any, baseline: str | None,
           fmt: str, out: Path | None, cluster_by: str | None, by: str | None) -> int:
    """Compare a group's members on every score: which wins, by how much, how sure.

    For each score column (metric outputs, judge choices as numbers) and each member: rows
    scored, mean and 95% interval; against the baseline, the paired difference on the rows
    both have, its interval, a paired t-test's p-value (Holm-corrected across members) and
    wins/ties/losses. Rows a member lacks are counted, not hidden. Rows that share a source
    (cluster_by on the group, or --cluster-by) get cluster-robust intervals and tests, with
    the design effect.

    \b
    Examples:
      evalspec report faq-judged
      evalspec report faq-judged --baseline faq-openai-gpt-4o-mini --format markdown
      evalspec report faq-judged --format json | jq '.scores[0].members[0].name'
      evalspec report faq-judged --format html -o report.html
      evalspec report faq-judged --cluster-by reference
      evalspec report faq-judged --by difficulty
    """
    from evalspec.results.report import build_report
    from evalspec.results.report_html import render_html
    from evalspec.results.report_render import render_json, render_markdown, render_text

    if by is not None and fmt == "html":
        raise UsageError("--by is not in the HTML report yet: use --format text, markdown or "
                         "json")
    identity, client = _connect(path, endpoint, variables)
    clustering = cluster_by or _group_cluster_by(path, name, variables)

    async def run() -> Any:
        try:
            return await build_report(client, identity.project, name, baseline, clustering, by)
        finally:
            await client.aclose()

    result = run_async(run())
    renderers = {"json": render_json, "markdown": render_markdown, "html": render_html}
    text = renderers.get(fmt, render_text)(result)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"Wrote the {fmt} report of {result.address} to {out}.", err=True)
    return EXIT_OK


def _group_cluster_by(path: Path, name: str, variables: Any) -> str | None:
    """The group's cluster_by in the specs; a warning, and no clustering, when they do not
    load (status and report read the platform, so they work while a spec is being edited)."""
    from evalspec.cli.spec_commands import build
    from evalspec.errors import SpecError

    try:
        state = build(path, variables)
    except SpecError as exc:
        click.echo(f"warning: the specs have {len(exc.problems)} problem(s), so a cluster_by "
                   "in them is not applied; pass --cluster-by to cluster rows", err=True)
        return None
    short = name.split("/", 1)[1] if name.startswith("EvaluationGroup/") else name
    group = next((g for g in state.of_kind("EvaluationGroup") if g.name == short), None)
    return group.spec.cluster_by if group is not None else None


@click.group()
def state() -> None:
    """What the project owns on the platform, like 'terraform state'.

    \b
    Examples:
      evalspec state list
      evalspec state list --format json | jq -r '.objects[] | select(.archived) | .id'
      evalspec state show Evaluation/capitals
    """


@state.command("list")
@identity_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="A table, or a JSON document.")
def state_list(path: Path, endpoint: str | None, variables: Any, fmt: str) -> int:
    """List every object the project owns: datasets, evaluations (archived ones included) and
    groups, with address, id and whether it is archived.

    \b
    Examples:
      evalspec state list
      evalspec state list examples/sweep --format json
    """
    from evalspec.plan.state import owned_objects, render_json, render_text

    identity, client = _connect(path, endpoint, variables)
    actual = run_async(_refresh(client, identity.project))
    for item in actual.unowned:
        click.echo(f"warning: {one_line(item.warning(identity.project))}", err=True)
    rows = owned_objects(actual)
    click.echo((render_json(identity.project, rows) if fmt == "json" else render_text(rows)),
               nl=False)
    return EXIT_OK


@state.command("show")
@click.argument("address")
@identity_options
def state_show(address: str, path: Path, endpoint: str | None, variables: Any) -> int:
    """Show the objects at ADDRESS as the platform has them (JSON): usually one; a duplicate
    or an archived object at the same address is shown too.

    \b
    Example:
      evalspec state show EvaluationGroup/faq-sweep
    """
    from evalspec.plan.state import show_address

    identity, client = _connect(path, endpoint, variables)
    actual = run_async(_refresh(client, identity.project))
    click.echo(show_address(actual, address, identity.project), nl=False)
    return EXIT_OK


@state.command("rm")
@click.argument("address")
@identity_options
@click.option("--auto-approve", is_flag=True, help="Do it without asking (for CI).")
def state_rm(address: str, path: Path, endpoint: str | None, variables: Any,
             auto_approve: bool) -> int:
    """Stop managing the live objects at ADDRESS, without archiving them.

    Removes evalspec's marks (the tag evalspec:<project>, evalspec.* tags and metadata, a
    question's evalspec:<project>/ name prefix) and changes nothing else: the object stays on
    the platform, and plan no longer sees it. Remove it from the specs too, or the next plan
    creates a new one at that address. Archived objects at the address keep their marks.

    \b
    Example:
      evalspec state rm Evaluation/legacy-baseline --auto-approve
    """
    from evalspec.apply.disown import disown

    identity, client = _connect(path, endpoint, variables)

    async def run() -> list[Any]:
        from evalspec.plan.refresh import refresh

        try:
            actual = await refresh(client, identity.project)
            live = [r for r in actual.objects if r.address == address and not r.archived]
            if not live:
                known = sorted({r.address for r in actual.objects})
                from evalspec.spec.template import suggest

                raise UsageError(f"no live object of project {identity.project!r} at "
                                 f"{address}{suggest(address, known)}")
            for remote in live:
                click.echo(one_line(f"{remote.address} ({remote.id}) will stay on the "
                                    "platform, no longer managed by evalspec"))
            if not auto_approve:
                from evalspec.cli.confirm import confirm

                confirm("state rm", "Remove evalspec's marks", flag="--auto-approve",
                        outcome="nothing was changed")
            for remote in live:
                await disown(client, remote, identity.project)
            return live
        finally:
            await client.aclose()

    removed = run_async(run())
    click.echo(f"Removed evalspec's marks from {len(removed)} object"
               f"{'s' if len(removed) != 1 else ''} at {one_line(address)}.")
    return EXIT_OK


async def _refresh(client: Any, project: str) -> Any:
    from evalspec.plan.refresh import refresh

    try:
        return await refresh(client, project)
    finally:
        await client.aclose()


COMMANDS = [status, results, report, state]
