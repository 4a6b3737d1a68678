"""make_plan: refresh the actual state, read what item-level sync needs, and diff."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Collection, Iterable
from typing import Any

from evalspec.client.sgp import SGPClient
from evalspec.plan.diff import ARCHIVE_REASON, diff
from evalspec.plan.model import Plan
from evalspec.plan.refresh import PLAN_FIELDS, ActualState, refresh
from evalspec.spec.objects import DesiredState
from evalspec.spec.payloads import build_payloads


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
    except BaseException:
        refreshing.cancel()
        raise
    actual = await refreshing
    # Keyed datasets whose items changed are synced item by item: read their current items.
    wanted = {p.address: p.fingerprint for p in payloads if p.kind == "Dataset"}
    keyed = {o.address for o in state.of_kind("Dataset") if o.spec.key is not None}
    items: dict[str, list[dict[str, Any]]] = {}
    for remote in actual.objects:
        if (remote.kind == "Dataset" and not remote.archived and remote.address in keyed
                and remote.fingerprint != wanted.get(remote.address)):
            items[remote.id] = [i async for i in client.list_dataset_items(remote.id)]
    return diff(state, payloads, actual, endpoint, dataset_items=items, targets=targets,
                protected=protected, archive_reason=archive_reason, replace=replace)
