"""How an evaluation's tasks on the platform compare with the specs' (used by the diff).

- :func:`tasks_match`: the platform's tasks still hold every value apply sent (drift behind an
  intact fingerprint shows otherwise);
- :func:`in_place_tasks`: the task changes the platform can make without replacing the
  evaluation (a contributor question added, a contributor task's configuration changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evalspec.plan.model import Change, TaskSync, deep_changes
from evalspec.plan.refresh import Remote
from evalspec.spec.aliases import task_alias
from evalspec.spec.payloads import Payload, digest, map_references


def covers(remote: Any, sent: Any) -> bool:
    """Whether ``remote`` holds everything ``sent`` had: the same lists, and in mappings the
    same values under every key sent (keys the platform adds, such as defaults, are not
    drift)."""
    if isinstance(sent, dict):
        return isinstance(remote, dict) and all(
            key in remote and covers(remote[key], value) for key, value in sent.items())
    if isinstance(sent, list):
        return (isinstance(remote, list) and len(remote) == len(sent)
                and all(covers(r, s) for r, s in zip(remote, sent, strict=True)))
    return type(remote) is type(sent) and remote == sent or (
        isinstance(sent, float) and isinstance(remote, int) and remote == sent)


def tasks_match(remote: Remote, sent: list[dict[str, Any]]) -> bool:
    """Whether an evaluation's tasks on the platform are still the ones apply sent: its
    fingerprint is a stamp anyone can leave in place while changing a task with
    ``PATCH /v5/evaluations/{id}/tasks/{alias}``. Without the tasks view there is nothing to
    compare, and the stamp is all there is."""
    tasks = remote.body.get("tasks")
    return tasks is None or tasks == sent or covers(tasks, sent)



CONTRIBUTOR = "contributor_evaluation.question"
RENAMED_REFERENCE = "a question or rubric it uses was renamed: its fingerprint is restamped"


def renamed_references(remote: Remote, payload: Payload, addresses: Mapping[str, str],
                       known: Mapping[str, str]) -> bool:
    """Whether the tasks are the platform's and only the addresses of the questions or
    rubrics they use moved (``lifecycle.moved_from``): the stamp recomputed with the
    addresses the platform has (``addresses``: id -> address) holds, so nothing else changed,
    and with the addresses the plan keeps them at (``known``: address -> id) it is the new
    fingerprint."""
    before = remote.body.get("tasks")
    if not isinstance(before, list) or payload.basis is None or before != payload.body["tasks"]:
        return False
    now = {remote_id: address for address, remote_id in known.items()}
    return (digest({"tasks": by_address(before, addresses), **payload.basis})
            == remote.fingerprint
            and digest({"tasks": by_address(before, now), **payload.basis})
            == payload.fingerprint)


def by_address(tasks: list[Any], addresses: Mapping[str, str]) -> list[Any]:
    """``tasks`` with the ids of the project's questions and rubrics written as their
    addresses, as an evaluation's fingerprint has them."""
    return map_references(tasks, lambda kind, value: addresses.get(value, value))


def in_place_tasks(remote: Remote, payload: Payload, addresses: Mapping[str, str]
                    ) -> tuple[TaskSync, list[str], list[Change]] | None:
    """The task changes the platform makes in place, when they are all the plan needs: the
    rows unchanged (the stamp, recomputed with the platform's tasks, still holds), no task
    removed or reordered, and each difference a contributor question task added at the end
    or a contributor task's configuration changed. None: the evaluation is replaced."""
    before = remote.body.get("tasks")
    after = payload.body["tasks"]
    if (not isinstance(before, list) or payload.basis is None or len(after) < len(before)
            or digest({"tasks": by_address(before, addresses), **payload.basis})
            != remote.fingerprint):
        return None
    added = after[len(before):]
    updated: list[tuple[str, dict[str, Any]]] = []
    for old, new in zip(before, after, strict=False):
        if old == new:
            continue
        if not (old.get("task_type") == new.get("task_type") == CONTRIBUTOR
                and task_alias(old) == task_alias(new)
                and {k: v for k, v in old.items() if k != "configuration"}
                == {k: v for k, v in new.items() if k != "configuration"}):
            return None
        updated.append((task_alias(new), new["configuration"]))
    if any(t.get("task_type") != CONTRIBUTOR for t in added) or not (added or updated):
        return None
    reasons = ([f"contributor question task{'s' if len(added) > 1 else ''} "
                f"{', '.join(task_alias(t) for t in added)} added: contributors answer on "
                "the existing items"] if added else [])
    reasons += [f"contributor task {alias} changed in place (refused once its work is "
                "claimed)" for alias, _ in updated]
    reasons.append("the evaluation, its items and their answers are kept")
    changes = [Change(f"tasks[{len(before) + i}]", None, task) for i, task in enumerate(added)]
    changes += [Change(f"tasks[{next(i for i, t in enumerate(before) if task_alias(t) == a)}]"
                       ".configuration", next(t for t in before if task_alias(t) == a)
                       .get("configuration"), config) for a, config in updated]
    return TaskSync(tuple(added), tuple(updated)), reasons, changes


def task_list_changes(before: list[Any], after: list[Any]) -> list[Change]:
    """How the tasks changed, each forcing replacement: field by field while the tasks line
    up (the same aliases in the same order); otherwise by alias, a task added or removed being
    one change of the whole task (``tasks[i]`` from None, or to None), so that the plan shows
    it as one line rather than the two lists."""
    aliases = [task_alias(t) for t in after]
    if [task_alias(t) for t in before] == aliases:
        return deep_changes(before, after, "tasks", True)
    old = {task_alias(t): t for t in before}
    changes: list[Change] = []
    for i, task in enumerate(after):
        alias = task_alias(task)
        changes += (deep_changes(old[alias], task, f"tasks[{i}]", True) if alias in old
                    else [Change(f"tasks[{i}]", None, task, True)])
    changes += [Change(f"tasks[{i}]", task, None, True) for i, task in enumerate(before)
                if task_alias(task) not in aliases]
    # The same tasks in another order: nothing above differs, yet the list does.
    return changes or deep_changes(before, after, "tasks", True)
