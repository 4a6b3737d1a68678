"""``evalspec check``: the gates in the specs, held against the scores on the platform."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from evalspec.cli.plan_commands import connect, endpoint_option
from evalspec.cli.run_async import run as run_async
from evalspec.cli.spec_commands import _report_problems, load, project_options
from evalspec.errors import EXIT_ERROR, EXIT_OK, EvalspecError, SpecError
from evalspec.sanitize import one_line


@click.command()
@project_options
@endpoint_option
@click.option("--wait", is_flag=True,
              help="First wait until every evaluation the project owns has finished.")
@click.option("--interval", default=5.0, show_default=True, type=click.FloatRange(0.05),
              metavar="SECONDS", help="Time between looks with --wait.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="A line per gate, or a JSON document.")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Also write the verdicts and each gated group's report as Markdown (a "
              "pull-request comment).")
@click.option("--allow-partial", is_flag=True,
              help="Judge evaluations that have not finished (their pending rows count as "
              "lacking a score). Without it, check refuses until they finish.")
def check(path: Path, cli_vars: tuple[str, ...], var_files: tuple[Path, ...],
          endpoint: str | None, wait: bool, interval: float, fmt: str,
          markdown: Path | None, allow_partial: bool) -> int:
    """Hold the groups' scores to the gates in the specs; exit 1 when one fails.

    Gates live in evalspec.yaml (every group) or on an EvaluationGroup (that group), e.g.

    \b
      gates:
        - {score: rouge, min: 0.7}
        - {score: judge, no_regression_vs: faq-prod-model, alpha: 0.05}
        - {score: judge, no_regression_vs: {member: faq-prod-model, margin: 0.05}}
        - {score: rouge, better_than: {member: faq-prod-model, margin: 0.02}}
        - {score: rouge, max_missing_rows: 0}

    Each gate is printed as held or failed, with the figures it was judged on (docs/report.md).
    A gate holds only on evidence: a mean needs a score on every row, a comparison at least
    10 paired rows, and NaN never holds. While an evaluation a gate reads is still running,
    check refuses to judge (exit 1) unless --wait or --allow-partial is given.

    \b
    Examples:
      evalspec check --wait
      evalspec check examples/judge-sweep --var candidate=faq-anthropic-claude-3-5-sonnet
      evalspec check --format json | jq '.verdicts[] | select(.held | not)'
    """
    from evalspec.results.gates import Verdict, evaluate
    from evalspec.results.report import Report, read_scores
    from evalspec.results.status import FINISHED, progress_log, read_statuses

    try:
        state = load(path, cli_vars, var_files)
    except SpecError as exc:
        return _report_problems(exc, "text")
    clustering = {g.name: g.spec.cluster_by for g in state.of_kind("EvaluationGroup")}
    groups = [(g.name, [*state.config.gates, *g.spec.gates])
              for g in state.of_kind("EvaluationGroup")]
    groups = [(name, gates) for name, gates in groups if gates]
    if not groups:
        click.echo("No gates: add 'gates:' to evalspec.yaml or to an EvaluationGroup "
                   "(see 'evalspec check --help').", err=True)
        if markdown is not None:
            markdown.write_text(f"{MARKER}\n### evalspec check: no gates\n", encoding="utf-8")
        return EXIT_OK
    client, _ = connect(state, endpoint)

    reports: list[Report] = []

    async def run() -> list[Verdict]:
        try:
            seen: dict[str, tuple[Any, ...]] = {}
            while wait:
                rows = await read_statuses(client, state.project)
                if all(r.finished for r in rows):
                    break
                logged = progress_log(rows, seen)
                if logged:
                    click.echo(logged, err=True)
                await asyncio.sleep(interval)
            verdicts = []
            gathered = [(name, gates, await read_scores(client, state.project, name,
                                                        clustering.get(name)))
                        for name, gates in groups]
            unfinished = [f"{member} ({status})" for _, _, scores in gathered
                          for member, status in scores.status.items()
                          if status not in FINISHED]
            if unfinished and not allow_partial:
                raise EvalspecError(
                    "cannot judge the gates yet: evaluations still running: "
                    + ", ".join(dict.fromkeys(unfinished)) + ". Wait for them with "
                    "'evalspec check --wait' (or judge what is there with --allow-partial)")
            for _, gates, scores in gathered:
                verdicts += [evaluate(gate, scores) for gate in gates]
                reports.append(scores.compare())
            return verdicts
        finally:
            await client.aclose()

    verdicts = run_async(run())
    held = sum(1 for v in verdicts if v.held)
    failed = len(verdicts) - held
    if markdown is not None:
        markdown.write_text(_markdown(verdicts, reports, held, failed), encoding="utf-8")
    if fmt == "json":
        click.echo(json.dumps({"verdicts": [v.to_json() for v in verdicts], "held": held,
                               "failed": failed}, indent=2))
    else:
        group = None
        for verdict in verdicts:
            if verdict.group != group:
                group = verdict.group
                click.echo(one_line(group))
            mark = "held  " if verdict.held else "FAILED"
            click.echo(one_line(f"  {mark}  {verdict.gate}: {verdict.detail}"))
        noun = "gate" if len(verdicts) == 1 else "gates"
        click.echo(f"{len(verdicts)} {noun}: {held} held, {failed} failed.")
    return EXIT_ERROR if failed else EXIT_OK


MARKER = "<!-- evalspec-check -->"


def _markdown(verdicts: list[Any], reports: list[Any], held: int, failed: int) -> str:
    from evalspec.results.report_render import render_markdown
    from evalspec.sanitize import document, markdown_text

    lines = [MARKER, f"### evalspec check: {held} held, {failed} failed", ""]
    lines += [f"- {'✅ held' if v.held else '❌ **failed**'}: {markdown_text(v.gate)} "
              f"({markdown_text(v.detail)})" for v in verdicts]
    return document(lines) + "\n" + "\n".join(render_markdown(r) for r in reports)


COMMANDS = [check]
