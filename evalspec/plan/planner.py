"""make_plan: refresh the actual state, read what item-level sync needs, and diff."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
from collections.abc import Collection, Iterable
from typing import Any

from evalspec.client.sgp import SGPClient
from evalspec.plan.diff import ARCHIVE_REASON, diff
from evalspec.plan.model import Plan
from evalspec.plan.refresh import PLAN_FIELDS, ActualState, refresh
from evalspec.plan.saved import specs_digest
from evalspec.spec.objects import DesiredState
from evalspec.spec.payloads import build_payloads, canonical, recorded_version


async def make_plan(state: DesiredState, client: SGPClient, endpoint: str,
                    targets: Iterable[str] = (), protected: Collection[str] = (),
                    archive_reason: str = ARCHIVE_REASON, replace: Collection[str] = (),
                    refreshing: asyncio.Task[ActualState] | None = None) -> Plan:
    """The plan that makes the platform match ``state``. ``refreshing`` is a refresh of the
    project already under way (started while the specs loaded); by default one starts here."""
    gc_was_enabled = gc.isenabled()
    gc.disable()  # tens of MB of JSON become objects without cycles: the GC only costs here
    try:
        return await _make_plan(state, client, endpoint, targets, protected, archive_reason,
                                replace, refreshing)
    finally:
        if gc_was_enabled:
            gc.freeze()  # the plan lives on: later collections need not walk it again
            gc.enable()


async def _make_plan(state: DesiredState, client: SGPClient, endpoint: str,
                     targets: Iterable[str], protected: Collection[str],
                     archive_reason: str, replace: Collection[str],
                     refreshing: asyncio.Task[ActualState] | None) -> Plan:
    # The reads wait on the network while the payloads are built: overlap them.
    if refreshing is None:
        # The kept fields save memory: whole bodies make the same plan.
        reading = refresh(client, state.project, PLAN_FIELDS)  # pragma: no mutate
        refreshing = asyncio.create_task(reading)
    try:
        payloads = await asyncio.to_thread(build_payloads, state)
        made_from = await asyncio.to_thread(specs_digest, state, payloads)
    except BaseException:
        refreshing.cancel()
        raise
    actual = await refreshing
    # Keyed datasets whose items changed are synced item by item: read their current items.
    # A dataset whose version moved since apply recorded it (its items were changed through
    # the API) has its items read and compared with the specs' rows.
    wanted = {p.address: p for p in payloads if p.kind == "Dataset"}
    keyed = {o.address for o in state.of_kind("Dataset") if o.spec.key is not None}
    items: dict[str, list[dict[str, Any]]] = {}
    checked: dict[str, bool] = {}
    for remote in actual.objects:
        payload = wanted.get(remote.address)
        if remote.kind != "Dataset" or remote.archived or payload is None:
            continue
        changed = remote.fingerprint != payload.fingerprint
        moved = (recorded_version(remote.body.get("tags"))
                 != remote.body.get("current_version_num"))
        if (changed and remote.address in keyed) or (moved and not changed):
            items[remote.id] = [i async for i in client.list_dataset_items(remote.id)]
        if moved and not changed:
            checked[remote.id] = same_rows([i.get("data") for i in items[remote.id]],
                                           payload.body["data"])
    plan = diff(state, payloads, actual, endpoint, dataset_items=items, checked=checked,
                targets=targets, protected=protected, archive_reason=archive_reason,
                replace=replace)
    creates = [a.address for a in plan.actions if a.action == "create" and a.kind == "Evaluation"]
    elsewhere = (await owned_elsewhere(client, state.project, creates[0])
                 if creates and not actual.objects else None)
    warnings = plan.warnings + ((elsewhere,) if elsewhere else ())
    return dataclasses.replace(plan, specs_digest=made_from, warnings=warnings)


async def owned_elsewhere(client: SGPClient, project: str, address: str) -> str | None:
    """When the project owns nothing yet, one cheap read (the evaluations named like the
    first one it creates) for the case of a renamed ``project:``: objects at these addresses
    under another evalspec project, which apply would leave live beside the copies."""
    seen = 0
    async for body in client.list_evaluations(name=address.split("/", 1)[1], page_size=100):
        metadata = body.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        other = metadata.get("evalspec.project")
        if metadata.get("evalspec.address") == address and isinstance(other, str) and (
                other != project):
            return (f"{address} exists in evalspec project {other!r} ({body.get('id')}) and "
                    f"project {project!r} owns nothing yet: if 'project:' was renamed, apply "
                    "creates everything again and leaves those objects live. To move them to "
                    f"this project instead: evalspec import --take-over --evaluation "
                    f"{body.get('id')} (or --group NAME for a sweep)")
        seen += 1
        if seen >= 100:  # pragma: no mutate - a bound on the read, not on the answer
            break
    return None


def same_rows(found: list[Any], rows: list[dict[str, Any]]) -> bool:
    """Whether a dataset's items hold exactly these rows, in any order."""
    return sorted(map(canonical, found)) == sorted(map(canonical, rows))
