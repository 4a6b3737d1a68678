"""``evalspec tasks``: human annotation results from Scale's v2 Tasks API."""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from evalspec.cli.run_async import run as run_async
from evalspec.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EvalspecError, UsageError
from evalspec.sanitize import keep_lines

STATUSES = ("pending", "completed", "canceled", "error")


@click.group()
def tasks() -> None:
    """Human annotation results from Scale's v2 Tasks API.

    \b
    Examples:
      evalspec tasks pull --project "Support FAQ review" --status completed -o tasks.jsonl
      evalspec tasks summary tasks.jsonl --format html -o report.html
    """


def _timestamp(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An ISO 8601 date or date-time, sent as the full date-time the v2 API documents
    (a date is midnight UTC; a time without a zone is UTC)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date-time, for example "
                                 "2025-01-31 or 2025-01-31T12:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _root() -> Path:
    from evalspec.spec.project import find_root

    try:
        return find_root(Path.cwd()).parent
    except (UsageError, OSError):
        return Path.cwd()


def _client(endpoint: str | None) -> Any:
    from evalspec.client.config import (
        V2_PRODUCTION_URL,
        Credentials,
        Endpoint,
        resolve_endpoint,
        tasks_client,
    )

    value = endpoint or os.environ.get("EVALSPEC_TASKS_ENDPOINT")
    resolved = (resolve_endpoint(value, None, {}) if value
                else Endpoint(V2_PRODUCTION_URL, "default"))
    if resolved.is_local:
        click.echo("Using the embedded local platform (v2 tasks from .evalspec/tasks.jsonl).",
                   err=True)
    return tasks_client(resolved, Credentials.from_env(), _root())


@tasks.command()
@click.option("--project", "project_name", metavar="NAME", help="Tasks of the project NAME.")
@click.option("--project-id", metavar="ID", help="Tasks of the project with this id.")
@click.option("--batch", "batch_name", metavar="NAME", help="Tasks of the batch NAME.")
@click.option("--batch-id", metavar="ID", help="Tasks of the batch with this id.")
@click.option("--status", type=click.Choice(STATUSES), help="Only tasks with this status.")
@click.option("--completed-after", metavar="TIME", callback=_timestamp,
              help="Only tasks completed after TIME (ISO 8601).")
@click.option("--completed-before", metavar="TIME", callback=_timestamp,
              help="Only tasks completed before TIME (ISO 8601).")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The JSONL file to write, one task per line.")
@click.option("--resume", is_flag=True, help="Continue an interrupted pull into the same file.")
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
@click.option("--endpoint", metavar="URL|local",
              help="The v2 API. Default: EVALSPEC_TASKS_ENDPOINT, then https://api.scale.com. "
              "'local' serves .evalspec/tasks.jsonl from the embedded platform.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="The summary as a line on stderr, or a JSON document "
              "on stdout.")
def pull(project_name: str | None, project_id: str | None, batch_name: str | None,
         batch_id: str | None, status: str | None, completed_after: str | None,
         completed_before: str | None, out: Path, resume: bool, force: bool,
         endpoint: str | None, fmt: str) -> int:
    """Download v2 tasks to a JSONL file, page by page, resumably.

    Give a project or a batch (or both). SCALE_API_KEY is the Bearer token. Each page is
    written as it arrives, so memory stays flat however many tasks there are; if the pull
    stops (Ctrl-C, a network failure), run the same command with --resume to continue with
    no duplicates and no gaps.

    \b
    Examples:
      evalspec tasks pull --project "Support FAQ review" --status completed -o tasks.jsonl
      evalspec tasks pull --batch-id batch_123 --completed-after 2025-01-01 -o jan.jsonl
      evalspec tasks pull --batch-id batch_123 --completed-after 2025-01-01 -o jan.jsonl --resume
      evalspec tasks pull --project "Support FAQ review" -o tasks.jsonl --format json
    """
    from evalspec.client.errors import APIStatusError
    from evalspec.results.tasks_pull import prepare
    from evalspec.results.tasks_pull import pull as run_pull
    from evalspec.sanitize import one_line
    from evalspec.spec.template import suggest

    if project_name and project_id or batch_name and batch_id:
        raise UsageError("give a project by name or by id, and a batch by name or by id, "
                         "not both")
    query = {k: v for k, v in {
        "project_name": project_name, "project_id": project_id, "batch_name": batch_name,
        "batch_id": batch_id, "status": status, "completed_after": completed_after,
        "completed_before": completed_before}.items() if v is not None}
    if not any(k in query for k in ("project_name", "project_id", "batch_name", "batch_id")):
        raise UsageError("say which tasks: --project NAME, --project-id ID, --batch NAME or "
                         "--batch-id ID")
    state = prepare(out, query, resume=resume, force=force)
    client = _client(endpoint)
    started, first = time.monotonic(), state.tasks
    terminal = sys.stderr.isatty()

    def progress(current: Any) -> None:
        if terminal:
            rate = (current.tasks - first) / max(time.monotonic() - started, 1e-6)
            click.echo(f"\r\x1b[KPulled {_count(current.tasks, 'task')} in "
                       f"{_count(current.pages, 'page')} "
                       f"({rate:,.0f} tasks/s)", nl=False, err=True)

    async def go() -> Any:
        try:
            return await run_pull(client, out, state, progress)
        except APIStatusError as exc:
            if exc.status_code != 404 or not project_name:
                raise
            try:  # a misspelt project: the nearest name the account has
                names = await client.project_names()
            except EvalspecError:
                raise exc from None
            raise EvalspecError(f"{exc}{suggest(project_name, names)}") from None
        finally:
            await client.aclose()

    try:
        final = run_async(go())
    except (KeyboardInterrupt, EvalspecError) as exc:
        from evalspec.results.tasks_pull import state_path

        if terminal:
            click.echo("\r\x1b[K", nl=False, err=True)
        saved = _load_quietly(state_path(out))
        if saved is None or not saved.pages:  # nothing pulled: leave nothing behind
            state_path(out).unlink(missing_ok=True)
            if not resume:
                out.unlink(missing_ok=True)
            if isinstance(exc, KeyboardInterrupt):
                click.echo("Interrupted before the first page; nothing was written.", err=True)
                return EXIT_INTERRUPTED
            click.echo(f"Error: {keep_lines(str(exc))}", err=True)
            return EXIT_ERROR
        done = f"{saved.tasks:,} tasks are in {out}"
        if isinstance(exc, KeyboardInterrupt):
            click.echo(f"Interrupted: {done}. Continue with the same command and --resume.",
                       err=True)
            return EXIT_INTERRUPTED
        click.echo(f"Error: {keep_lines(str(exc))}", err=True)
        click.echo(f"The pull stopped: {done}. Continue with the same command and --resume.",
                   err=True)
        return EXIT_ERROR
    if terminal:
        click.echo("\r\x1b[K", nl=False, err=True)
    seconds = time.monotonic() - started
    if not final.tasks:
        selectors = ", ".join(f"{k} {v!r}" if k.endswith(("name", "id")) else f"{k} {v}"
                              for k, v in query.items())
        click.echo(f"No tasks matched {one_line(selectors)}: the file is empty.", err=True)
    if fmt == "json":
        from evalspec.sanitize import json_text

        click.echo(json_text({"format_version": 1, "out": str(out), "tasks": final.tasks,
                              "pages": final.pages, "seconds": round(seconds, 3)}))
        return EXIT_OK
    click.echo(f"Pulled {_count(final.tasks, 'task')} in {_count(final.pages, 'page')} to {out} "
               f"({seconds:.1f} s).", err=True)
    return EXIT_OK


@tasks.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown", "html"]),
              default="text", show_default=True,
              help="A table, a JSON document, Markdown for a comment, or an HTML report.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
def summary(file: Path, fmt: str, out: Path | None) -> int:
    """Summarise pulled tasks: annotation means, pairwise preferences, Likert ratings.

    Per source and model, the count and mean (with a 95% confidence interval) of every
    numeric message annotation; from turn annotations, pairwise win rates
    (selected_model_id) with 95% Wilson intervals and the distribution of likert_value.
    Tasks that are not completed, text annotations, unknown roles and broken lines are
    counted with the reason, never fatal. The HTML report is one file with inline SVG
    charts; it fetches nothing.

    \b
    Examples:
      evalspec tasks summary tasks.jsonl
      evalspec tasks summary tasks.jsonl --format markdown >> "$GITHUB_STEP_SUMMARY"
      evalspec tasks summary tasks.jsonl --format html -o report.html
    """
    from evalspec.results import tasks_report
    from evalspec.results.tasks_summary import summarise

    if not file.is_file():
        raise UsageError(f"{file}: no such file")
    result = summarise(file)
    if fmt == "json":
        import json

        text = json.dumps(result.to_json(), indent=2) + "\n"
    else:
        text = {"text": tasks_report.render_text, "markdown": tasks_report.render_markdown,
                "html": tasks_report.render_html}[fmt](result)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"Wrote the {fmt} summary of {result.tasks:,} tasks to {out}.", err=True)
    return EXIT_OK


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _load_quietly(path: Path) -> Any:
    import json

    from evalspec.results.tasks_pull import PullState

    try:
        return PullState(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


COMMANDS = [tasks]
