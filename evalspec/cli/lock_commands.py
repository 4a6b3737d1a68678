"""``evalspec force-unlock``: the way out when an apply's lock outlives the apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from evalspec.cli.run_async import run as run_async
from evalspec.cli.status_commands import _connect, identity_options
from evalspec.errors import EXIT_OK, EvalspecError
from evalspec.sanitize import one_line


async def _locks(path: Path, endpoint: str | None,
                 variables: Any) -> tuple[str, list[dict[str, Any]]]:
    from evalspec.apply.lock import LOCK_TAG_PREFIX

    identity, client = _connect(path, endpoint, variables)
    try:
        tag = f"{LOCK_TAG_PREFIX}{identity.project}"
        return identity.project, [body async for body in client.list_evaluations(tags=[tag])]
    finally:
        await client.aclose()


async def _release(path: Path, endpoint: str | None, variables: Any,
                   lock_id: str) -> None:
    _, client = _connect(path, endpoint, variables)
    try:
        await client.archive_evaluation(lock_id)
    finally:
        await client.aclose()


@click.command("force-unlock")
@click.argument("lock_id")
@identity_options
@click.option("--force", is_flag=True, help="Release without asking (for scripts).")
def force_unlock(lock_id: str, path: Path, endpoint: str | None, variables: Any,
                 force: bool) -> int:
    """Release the project's apply lock that a run left behind.

    An apply or destroy holds the project's lock on the platform until it ends; one that was
    killed leaves it until its lease (2 minutes) runs out. LOCK_ID is the id that the
    refused apply printed ("lock evaluation_..."): only that lock is released, so a lock taken
    since by another run is never released by mistake. It shows who holds the lock and asks
    for 'yes' (--force: without asking).

    Release a lock only when you know its run has ended: an apply still running under it
    is then no longer protected from a second one.

    \b
    Examples:
      evalspec force-unlock evaluation_3f2a9c
      evalspec force-unlock evaluation_3f2a9c evals/ --force
    """
    from evalspec.apply.lock import _holder

    project, bodies = run_async(_locks(path, endpoint, variables))
    found = next((b for b in bodies if str(b.get("id")) == lock_id), None)
    holder = _holder(found) if found is not None else None
    if holder is None:
        current = [h.id for h in map(_holder, bodies) if h is not None]
        held = (f"its lock is {', '.join(current)}" if current
                else "no lock is held")
        raise EvalspecError(f"no lock {one_line(lock_id)} in project '{project}' ({held}); "
                            "nothing was released")
    click.echo(f"Lock {holder.id} of project '{project}': {holder.describe()}", err=True)
    if not force:
        from evalspec.cli.confirm import confirm

        confirm("force-unlock", "Release it", flag="--force", outcome="nothing was released")
    run_async(_release(path, endpoint, variables, holder.id))
    click.echo(f"Released lock {holder.id} of project '{project}'.")
    return EXIT_OK


COMMANDS = [force_unlock]
