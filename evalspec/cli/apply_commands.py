"""``evalspec apply`` and ``evalspec destroy``: a plan made under the project's lock, shown,
confirmed, executed, and reported in the plan's own units."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from evalspec.cli.plan_commands import (
    _more_warnings,
    _replace_addresses,
    _spec_warnings,
    connect,
    endpoint_option,
    replace_option,
    use_colour,
)
from evalspec.cli.run_async import run as run_async
from evalspec.cli.spec_commands import _report_problems, _warn, load, project_options
from evalspec.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, SpecError, UsageError
from evalspec.sanitize import one_line

if TYPE_CHECKING:
    from evalspec.client.sgp import SGPClient
    from evalspec.plan.model import Plan


def _describe(outcome: Any) -> str:
    words = {"create": "created", "update": "updated", "replace": "replaced",
             "restore": "restored", "archive": "archived", "archive old": "archived the old one"}
    if outcome.status == "done":
        text = f"{outcome.address}: {words.get(outcome.action, outcome.action)}"
        return one_line(text + (f" ({outcome.remote_id})" if outcome.remote_id else ""))
    return one_line(f"{outcome.address}: {outcome.action} {outcome.status}: {outcome.detail}")


@dataclass(frozen=True)
class LockSettings:
    project: str
    timeout: float | None  # None: --no-lock
    operation: str = "apply"


def lock_option(fn: Any) -> Any:
    fn = click.option(
        "--lock/--no-lock", "use_lock", default=True, show_default=True,
        help="Take the project's lock on the platform (--no-lock: for a platform that "
        "cannot hold it; two applies may then run at once).")(fn)
    return click.option(
        "--lock-timeout", default="0s", show_default=True, metavar="DURATION",
        callback=_duration,
        help="How long to wait for another apply of this project to finish (30s, 5m). "
        "Two applies never run at once: the second waits, then fails naming the first.")(fn)


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> float:
    from evalspec.apply.lock import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


async def _run(client: SGPClient, make: Callable[[], Awaitable[Plan]], *, confirm: bool,
               show: bool, parallelism: int, fmt: str, no_color: bool, lock: LockSettings,
               shown_warnings: Collection[str] = ()) -> tuple[Plan, list[Any], bool]:
    """Take the project's lock, make a plan, show it, ask, execute it; releases the lock and
    closes the client. The plan is made under the lock: it sees what an apply before did."""
    from evalspec.apply.lock import ProjectLock

    held = ProjectLock(client, lock.project, operation=lock.operation,
                       warn=lambda message: click.echo(f"warning: {one_line(message)}",
                                                       err=True),
                       waiting=lambda message: click.echo(one_line(message), err=True))
    try:
        if lock.timeout is not None:
            await held.acquire(lock.timeout)
        return await _planned(client, make, confirm=confirm, show=show, parallelism=parallelism,
                              fmt=fmt, no_color=no_color, shown_warnings=shown_warnings,
                              command=lock.operation)
    finally:
        try:
            await held.release()
        finally:
            await client.aclose()


async def _planned(client: SGPClient, make: Callable[[], Awaitable[Plan]], *, confirm: bool,
                   show: bool, parallelism: int, fmt: str, no_color: bool,
                   shown_warnings: Collection[str], command: str
                   ) -> tuple[Plan, list[Any], bool]:
    import signal

    from evalspec.apply.execute import execute
    from evalspec.plan.render_text import render_text

    result = await make()
    if fmt == "text":
        _more_warnings(result, shown_warnings)
    if result.errors or not result.actions:
        return result, [], False
    if show and fmt == "text":
        click.echo(render_text(result, use_colour(no_color)), nl=False,
                   color=use_colour(no_color))
    if confirm:
        from evalspec.cli.confirm import confirm as ask

        question = (f"Archive all of these in project {one_line(repr(result.project))}"
                    if command == "destroy" else
                    f"Apply these changes to project {one_line(repr(result.project))}")
        ask(command, question, flag="--auto-approve (for CI)", outcome="nothing was changed")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)

    bar = None
    if fmt == "text" and sys.stdout.isatty():
        from evalspec.cli.progress import ProgressBar

        total = len(result.actions) + sum(1 for a in result.actions
                                          if a.action == "replace" and a.remote_id)
        bar = ProgressBar(sys.stdout, total)
        bar.show()
    colour = use_colour(no_color)

    def report(outcome: Any) -> None:
        if fmt == "json":
            click.echo(json.dumps({"event": "action", "address": outcome.address,
                                   "action": outcome.action, "status": outcome.status,
                                   "detail": outcome.detail,
                                   "remote_id": outcome.remote_id}))
            return
        text = _describe(outcome)
        if colour and outcome.status != "done":
            text = click.style(text, fg="red" if outcome.status == "failed" else "yellow")
        if bar is None:
            click.echo(text, color=colour)
        else:
            bar.report(text, outcome.status == "done")

    try:
        outcomes = await execute(result, client, parallelism=parallelism, on_event=report,
                                 stop=stop)
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        if bar is not None:
            bar.close()
    return result, outcomes, stop.is_set()


def plan_units(outcomes: list[Any]) -> tuple[dict[str, int], int]:
    """Counts of done, failed and skipped in the plan's own units, and the old objects that
    replacements archived. A replace is one action in the plan but two steps in apply (the new
    object, then ``archive old``): it is done only when both are."""
    olds = {o.address: o for o in outcomes if o.action == "archive old"}
    counts = {"done": 0, "failed": 0, "skipped": 0}
    for outcome in outcomes:
        if outcome.action == "archive old":
            continue
        status = outcome.status
        old = olds.get(outcome.address) if outcome.action == "replace" else None
        if status == "done" and old is not None and old.status != "done":
            status = old.status
        counts[status] += 1
    return counts, sum(1 for o in olds.values() if o.status == "done")


def _finish(result: Plan, outcomes: list[Any], interrupted: bool, fmt: str,
            command: str = "apply") -> int:
    if result.errors:
        for error in result.errors:
            click.echo(f"Error: {one_line(error)}", err=True)
        return EXIT_ERROR
    if not result.actions and fmt == "json":  # NDJSON readers get a summary event, not prose
        click.echo(json.dumps({"event": "summary", "done": 0, "failed": 0, "skipped": 0,
                               "interrupted": False, "replaced_archived": 0}))
        return EXIT_OK
    if not result.actions:
        click.echo("No changes. The platform matches the specs.")
        return EXIT_OK
    if not outcomes and not interrupted:
        return EXIT_ERROR
    counts, archived_old = plan_units(outcomes)
    if fmt == "json":
        click.echo(json.dumps({"event": "summary", **counts, "interrupted": interrupted,
                               "replaced_archived": archived_old}))
    else:
        word = ("interrupted" if interrupted else "incomplete"
                if counts["failed"] or counts["skipped"] else "complete")
        olds = (f"; {archived_old} replaced object{'s' if archived_old != 1 else ''} archived"
                if archived_old else "")
        click.echo(f"{command.capitalize()} {word}: {counts['done']} done, "
                   f"{counts['failed']} failed, {counts['skipped']} skipped{olds}.")
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_ERROR if counts["failed"] or counts["skipped"] else EXIT_OK


def _saved_plan(path: Path, endpoint: str | None, project_dir: Path,
                cli_vars: tuple[str, ...], var_files: tuple[Path, ...]
                ) -> tuple[SGPClient, Callable[[], Awaitable[Plan]], str]:
    """A saved plan is untrusted (a pull request can edit it): the endpoint and the project
    come from the user's own configuration, the plan must have been made from the project's
    specs as they are now, and it is checked on its own before any request and against the
    platform before the first write (evalspec/plan/saved.py)."""
    from evalspec.client.config import Credentials, resolve_endpoint, sgp_client
    from evalspec.plan.refresh import refresh
    from evalspec.plan.saved import (
        StalePlan,
        UntrustedPlan,
        items_to_check,
        load_plan,
        specs_digest,
        stale_reasons,
        structural_problems,
        untrusted_ids,
    )
    from evalspec.spec.payloads import build_payloads
    from evalspec.spec.project import VariableInputs, read_identity

    saved = load_plan(path)
    try:
        identity = read_identity(project_dir, VariableInputs(var_files=var_files,
                                                             cli_vars=cli_vars))
    except UsageError as exc:
        raise UsageError(f"{exc}. A saved plan is applied to the project it was made for: "
                         "run apply inside it, or pass --project-dir PATH") from None
    resolved = resolve_endpoint(endpoint, identity.endpoint)
    if resolved.url != saved.endpoint:
        raise StalePlan(f"the plan was made for endpoint {one_line(saved.endpoint)}, not "
                        f"{resolved.url} (from {resolved.source})")
    if identity.project != saved.project:
        raise StalePlan(f"the plan was made for project {one_line(repr(saved.project))}, "
                        f"this is project {identity.project!r} (in {identity.root})")
    state = load(identity.root, cli_vars, var_files)
    if specs_digest(state, build_payloads(state)) != saved.specs_digest:
        raise StalePlan(f"{one_line(str(path))} was made from other specs than the project in "
                        f"{identity.root} has now (a spec, a data file or a variable differs); "
                        "nothing was changed. Make the plan again from these specs: "
                        f"evalspec plan -o {one_line(str(path))}")
    problems = structural_problems(saved)
    if problems:
        raise UntrustedPlan(_refusal(path, problems))
    if resolved.is_local:
        click.echo("Using the embedded local platform (.evalspec/local.db in the project).",
                   err=True)
    client = sgp_client(resolved, Credentials.from_env(), identity.root)

    async def make() -> Plan:
        actual = await refresh(client, identity.project)
        reasons = stale_reasons(saved, actual)
        if reasons:
            raise StalePlan("plan is stale: " + "; ".join(reasons)
                            + ". Run 'evalspec plan' again.")
        items: dict[str, set[str]] = {}
        for dataset in items_to_check(saved):
            items[dataset] = {str(i["id"]) async for i in client.list_dataset_items(dataset)}
        wrong = untrusted_ids(saved, actual, items)
        if wrong:
            raise UntrustedPlan(_refusal(path, wrong))
        return saved

    return client, make, identity.project


def _refusal(path: Path, problems: list[str]) -> str:
    shown = problems[:10] + ([f"and {len(problems) - 10} more"] if len(problems) > 10 else [])
    return (f"{one_line(str(path))} cannot be applied; nothing was changed. The plan does "
            "not match the platform or this project (was it edited?):\n"
            + "\n".join(f"  {p}" for p in shown) + "\nRun 'evalspec plan' again.")


@click.command()
@project_options
@endpoint_option
@click.option("--auto-approve", is_flag=True, help="Apply without asking (for CI).")
@click.option("--parallelism", default=8, show_default=True, type=click.IntRange(1, 64),
              help="How many independent actions run at once.")
@click.option("--target", "targets", multiple=True, metavar="ADDR_OR_GLOB",
              help="Limit the changes to these addresses (and what they need). Repeatable.")
@replace_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Lines for people, or NDJSON events for programs.")
@click.option("--no-color", is_flag=True, help="No colour, even on a terminal.")
@lock_option
@click.option("--project-dir", type=click.Path(path_type=Path), default=".",
              show_default=True, metavar="PATH",
              help="With a PLANFILE: the project the plan was made for (its directory, a "
              "directory inside it, or its evalspec.yaml). Its project name and endpoint "
              "must be the plan's.")
def apply(path: Path, cli_vars: tuple[str, ...], var_files: tuple[Path, ...],
          endpoint: str | None, auto_approve: bool, parallelism: int,
          targets: tuple[str, ...], replace: tuple[str, ...], fmt: str, no_color: bool,
          lock_timeout: float, use_lock: bool, project_dir: Path) -> int:
    """Change the platform to match the specs, or apply a saved plan exactly.

    With a project PATH it plans first and shows the plan; on a terminal it asks for 'yes',
    elsewhere it needs --auto-approve. With a PLANFILE saved by 'plan -o' it re-reads the
    platform, refuses if anything the plan touches changed since ("plan is stale"), and
    otherwise applies exactly that plan without asking. The endpoint and the project come
    from your configuration (--endpoint, the environment, the evalspec.yaml found from
    --project-dir), never from the file: a plan made for another is refused, and so is one
    whose ids are not this project's objects at the addresses it shows, and one made from
    other specs than the project's as they are now (pass the plan's --var and --var-file
    again).

    Failed actions are reported and what depends on them is skipped; running apply again
    converges. Ctrl-C stops starting new actions and waits for those in flight.

    --replace ADDR runs an evaluation again whose specs did not change: a new evaluation
    replaces it (groups are repointed, the old one archived), like Terraform's -replace.

    Apply holds the project's lock on the platform from before it plans until it ends, so
    two applies of one project never run at once: the second waits up to --lock-timeout for
    the first to finish, then plans what is left.

    \b
    Examples:
      evalspec apply --endpoint local
      evalspec plan -o plan.json && evalspec apply plan.json
      evalspec apply plan.json --project-dir evals/   # the plan of the project in evals/
      evalspec apply --auto-approve --format json | jq -c 'select(.status != "done")'
      evalspec apply --auto-approve --lock-timeout 10m   # CI: wait for a running apply
      evalspec apply --replace Evaluation/capitals       # run it again
    """
    if path.is_file() and path.suffix == ".json":
        try:
            client, make, project = _saved_plan(path, endpoint, project_dir, cli_vars,
                                                var_files)
        except SpecError as exc:  # evalspec.yaml itself is broken
            return _report_problems(exc, "text")
        confirm, shown = False, frozenset[str]()
    else:
        if project_dir != Path("."):
            raise UsageError("--project-dir goes with a saved plan (apply PLANFILE "
                             "--project-dir PATH); for a project, pass its PATH")
        try:
            state = load(path, cli_vars, var_files)
        except SpecError as exc:
            return _report_problems(exc, "text")
        _warn(state, "text")
        replaced = _replace_addresses(state, replace)
        client, url = connect(state, endpoint)

        async def make() -> Plan:
            from evalspec.plan.planner import make_plan

            return await make_plan(state, client, url, targets, replace=replaced)

        confirm, project = not auto_approve, state.project
        shown = _spec_warnings(state)
    result, outcomes, interrupted = run_async(_run(
        client, make, confirm=confirm, show=True, parallelism=parallelism, fmt=fmt,
        no_color=no_color, lock=LockSettings(project, lock_timeout if use_lock else None),
        shown_warnings=shown))
    return _finish(result, outcomes, interrupted, fmt)


@click.command()
@project_options
@endpoint_option
@click.option("--auto-approve", is_flag=True, help="Archive without asking (for CI).")
@click.option("--parallelism", default=8, show_default=True, type=click.IntRange(1, 64),
              help="How many archives run at once.")
@click.option("--target", "targets", multiple=True, metavar="ADDR_OR_GLOB",
              help="Archive only these addresses. Repeatable.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Lines for people, or NDJSON events for programs.")
@click.option("--no-color", is_flag=True, help="No colour, even on a terminal.")
@lock_option
def destroy(path: Path, cli_vars: tuple[str, ...], var_files: tuple[Path, ...],
            endpoint: str | None, auto_approve: bool, parallelism: int,
            targets: tuple[str, ...], fmt: str, no_color: bool, lock_timeout: float,
            use_lock: bool) -> int:
    """Archive everything the project owns on the platform (or only --target addresses).

    Plans the archive of every owned evaluation, group, dataset, question and rubric, shows
    it, and asks for 'yes' (or --auto-approve). Objects without the project's ownership marks
    are never touched.

    \b
    Examples:
      evalspec destroy --endpoint local
      evalspec destroy --target 'Evaluation/faq-*' --auto-approve --format json
    """
    import dataclasses

    try:
        state = load(path, cli_vars, var_files)
    except SpecError as exc:
        return _report_problems(exc, "text")
    client, url = connect(state, endpoint)
    empty = dataclasses.replace(state, objects=[])
    protected = {o.address for o in state.objects if o.spec.lifecycle.protect}

    async def make() -> Plan:
        from evalspec.plan.diff import DESTROY_REASON
        from evalspec.plan.planner import make_plan

        return await make_plan(empty, client, url, targets, protected=protected,
                               archive_reason=DESTROY_REASON)

    result, outcomes, interrupted = run_async(_run(
        client, make, confirm=not auto_approve, show=True, parallelism=parallelism,
        fmt=fmt, no_color=no_color,
        lock=LockSettings(state.project, lock_timeout if use_lock else None, "destroy"),
        shown_warnings=_spec_warnings(state)))
    return _finish(result, outcomes, interrupted, fmt, "destroy")


COMMANDS = [apply, destroy]
