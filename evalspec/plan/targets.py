"""Which actions a plan's ``--target`` patterns choose, and the patterns that choose nothing."""

from __future__ import annotations

import fnmatch

from evalspec.plan.model import Action


def unmatched(targets: list[str], addresses: list[str]) -> list[str]:
    """A --target that names no address is a mistake, not an empty plan ("No changes")."""
    from evalspec.spec.template import suggest

    known = sorted(set(addresses))
    return [f"--target {t}: no address in the specs or on the platform matches it"
            f"{suggest(t.rstrip('*'), known)}" for t in targets
            if not any(fnmatch.fnmatchcase(a, t) for a in known)]


def targeted(actions: list[Action], targets: list[str]) -> list[Action]:
    """Only actions whose address matches a target, plus what they depend on."""
    if not targets:
        return actions
    by_address = {a.address: a for a in actions}
    chosen: set[int] = set()  # ids of the actions taken
    pending = [a for a in actions if any(fnmatch.fnmatchcase(a.address, t) for t in targets)]
    while pending:
        action = pending.pop()
        # Not taken twice; taken again would only visit what it needs once more.
        if id(action) in chosen:  # pragma: no mutate
            continue
        chosen.add(id(action))
        pending.extend(by_address[d] for d in action.depends_on if d in by_address)
    return [a for a in actions if id(a) in chosen]
