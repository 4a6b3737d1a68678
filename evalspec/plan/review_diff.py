"""How a Question or a Rubric of the specs compares with the platform's (used by the diff).

- Question: the platform changes only a question's name, so different content (type, prompt,
  configuration, conditions) replaces it; keys the platform adds to a configuration are not a
  difference. A rename (``lifecycle.moved_from``) is an update.
- Rubric: title and tags are updated in place; criteria changed or added are updated in place
  too (each change is a new version of the criterion, the rubric keeps its id); criteria
  removed replace the rubric, as the platform cannot delete a criterion. Criteria are paired
  by title (:func:`pair_criteria`), so that moving one in the specs never rewrites another
  criterion, and the ratings given under it, in place. The list endpoint shows each
  criterion's title and weight only: those are compared, and the fingerprint tag says whether
  the rest is what apply wrote.
"""

from __future__ import annotations

from typing import Any

from evalspec.plan.model import Change
from evalspec.plan.refresh import Remote
from evalspec.plan.task_changes import covers
from evalspec.spec.payloads import Payload, question_content

Outcome = tuple[str, list[str], list[Change]]  # (action, reasons, changes)


def question(payload: Payload, remote: Remote) -> Outcome | None:
    """None: nothing to do; else "update" (rename, restore) or "replace"."""
    wanted = question_content(payload.body)
    actual = question_content(remote.body)
    if not covers(actual, wanted) or set(actual) - set(wanted) - {"configuration"}:
        changes = [Change(key, actual.get(key), wanted.get(key), True)
                   for key in sorted(set(wanted) | set(actual))
                   if not covers(actual.get(key), wanted.get(key))
                   or (key not in wanted and actual.get(key))]
        return "replace", ["content changed: the platform changes only a question's name"], \
            changes
    changes = ([Change("name", remote.body.get("name"), payload.body["name"])]
               if remote.body.get("name") != payload.body["name"] else [])
    if remote.archived:
        return "restore", ["archived"], changes
    return ("update", [], changes) if changes else None


def _summary(criteria: Any) -> list[dict[str, Any]]:
    return [{"title": c.get("title"), "weight": c.get("weight")}
            for c in criteria if isinstance(c, dict)] if isinstance(criteria, list) else []


def pair_criteria(current: list[dict[str, Any]], wanted: list[dict[str, Any]]
                  ) -> tuple[list[int | None], list[int]]:
    """For each wanted criterion, the index of the platform's criterion it updates (None: a
    new one), and the platform's criteria nothing pairs with (removed). Paired by title
    first; the criteria left over on both sides are paired in order, as a renamed title."""
    free: dict[Any, list[int]] = {}
    for index, criterion in enumerate(current):
        free.setdefault(criterion.get("title"), []).append(index)
    pairs: list[int | None] = [None] * len(wanted)
    for i, criterion in enumerate(wanted):
        same = free.get(criterion.get("title"))
        if same:
            pairs[i] = same.pop(0)
    used = {p for p in pairs if p is not None}
    left = [i for i in range(len(current)) if i not in used]
    for i in range(len(wanted)):
        if pairs[i] is None and left:
            pairs[i] = left.pop(0)
    return pairs, left


def rubric(payload: Payload, remote: Remote, tag_changes: list[Change]) -> Outcome | None:
    """None: nothing to do; else "update" or "replace". ``tag_changes``: the user's tags and
    title as the diff found them."""
    body = payload.body
    current = _summary(remote.body.get("criteria"))
    wanted = _summary(body["criteria"])
    pairs, removed = pair_criteria(current, wanted)
    paired = [None if c is None else current[c] for c in pairs]  # what each wanted one updates
    differs = [i for i, c in enumerate(paired) if c is None or c != wanted[i]]
    changes = list(tag_changes)
    if remote.body.get("title") != body["title"]:
        changes.append(Change("title", remote.body.get("title"), body["title"]))
    drifted = remote.fingerprint == payload.fingerprint and bool(differs or removed)
    if remote.fingerprint != payload.fingerprint or drifted:
        if removed:
            titles = [current[c]["title"] for c in removed]
            return "replace", [f"criteria removed ({', '.join(map(str, titles))}): the "
                               "platform cannot delete a criterion"], changes + [
                Change("criteria", current, wanted, True)]
        if not differs and pairs != list(range(len(pairs))):
            return "update", ["criteria reordered in the specs: the platform keeps each "
                              "criterion, and the ratings given under it, in its place"], changes
        shown = differs or [i for i, c in enumerate(body["criteria"]) if "annotations" in c]
        # (when only the fingerprint differs, the list's titles and weights agree: what
        # changed can only be annotations, which the list does not show)
        criteria = [Change(f"criteria[{i}]", paired[i], body["criteria"][i]) for i in shown]
        reason = ("criteria changed on the platform" if drifted else
                  "criteria changed: each change is a new version of the criterion")
        return "update", [reason], changes + criteria
    return ("update", [], changes) if changes else None
