"""Export v2 tasks to JSONL as the pages arrive, resumably.

The output holds one task per line, exactly as the API returned it. Beside it,
``FILE.pull-state.json`` records the query, the number of bytes of the output that hold
complete pages, and the token of the next page; it is rewritten (atomically) after each page
is written and synced, and removed when the last page is in. Resuming truncates the output to
the recorded length (dropping a page that was being written when the pull stopped) and asks for
the recorded page again, so a resumed pull has neither duplicates nor gaps.

Memory is one page (at most 100 tasks), whatever the number of tasks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from evalspec.client.sgp import TasksClient
from evalspec.errors import EvalspecError

STATE_SUFFIX = ".pull-state.json"
STATE_VERSION = 1


@dataclass(frozen=True)
class PullState:
    query: dict[str, str]
    next_token: str | None = None
    offset: int = 0  # bytes of the output holding complete pages
    tasks: int = 0
    pages: int = 0
    version: int = STATE_VERSION


def state_path(out: Path) -> Path:
    return out.with_name(out.name + STATE_SUFFIX)


def _save(path: Path, state: PullState) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(asdict(state)), encoding="utf-8")
    os.replace(temporary, path)


def _damage(doc: Any) -> str | None:
    """What is wrong with a pull-state document (it is a file anyone can edit)."""
    if not isinstance(doc, dict):
        return f"expected a JSON object, found {type(doc).__name__}"
    unknown = sorted(set(doc) - set(PullState.__dataclass_fields__))
    if unknown:
        return f"unknown field {unknown[0]!r}"
    query = doc.get("query")
    if not isinstance(query, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in query.items()):
        return "query must be an object of strings"
    if not isinstance(doc.get("next_token"), (str, type(None))):
        return "next_token must be a string or null"
    for name in ("offset", "tasks", "pages", "version"):
        value = doc.get(name, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return f"{name} must be a whole number of 0 or more, found {json.dumps(value)[:40]}"
    return None


def _load(path: Path, out: Path) -> PullState:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalspecError(f"nothing to resume: {out} has no interrupted pull "
                            f"({path.name} is missing)") from None
    except (OSError, ValueError, RecursionError) as exc:
        raise EvalspecError(f"{path}: cannot read the pull state: {exc}") from None
    damage = _damage(doc)
    if damage is not None:
        raise EvalspecError(f"{path}: cannot read the pull state: {damage}; pull again "
                            "without --resume (and --force)")
    state = PullState(**doc)
    if state.version != STATE_VERSION:
        raise EvalspecError(f"{path}: written by another version of evalspec; pull again "
                            "without --resume")
    return state


def _describe(query: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(query.items())) or "(none)"


def prepare(out: Path, query: dict[str, str], *, resume: bool, force: bool) -> PullState:
    """The state to start from; refuses to overwrite or to mix two different queries."""
    path = state_path(out)
    if resume:
        state = _load(path, out)
        if state.query != query:
            raise EvalspecError(f"cannot resume: {out} was pulled with {_describe(state.query)}, "
                                f"not {_describe(query)}")
        size = out.stat().st_size if out.exists() else -1
        if size < state.offset:
            raise EvalspecError(f"cannot resume: {out} is shorter than the {state.offset:,} "
                                "bytes already pulled; pull again without --resume")
        return state
    if path.exists() and not force:
        raise EvalspecError(f"{out} is an interrupted pull: continue it with --resume, or "
                            "start over with --force")
    if out.exists() and not force:
        raise EvalspecError(f"{out} exists; pass --force to overwrite it")
    return PullState(query)


async def pull(client: TasksClient, out: Path, state: PullState,
               on_page: Callable[[PullState], None] = lambda state: None) -> PullState:
    """Fetch pages from ``state`` on, appending each to ``out``; returns the final state."""
    path = state_path(out)
    with out.open("r+b" if state.offset else "wb") as fh:
        fh.truncate(state.offset)
        fh.seek(state.offset)
        _save(path, state)
        async for tasks, next_token in client.pages(dict(state.query), state.next_token):
            chunk = b"".join(_line(task) for task in tasks)
            fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
            state = replace(state, next_token=next_token, offset=state.offset + len(chunk),
                            tasks=state.tasks + len(tasks), pages=state.pages + 1)
            if next_token:
                _save(path, state)
            on_page(state)
    path.unlink(missing_ok=True)
    return state


def _line(task: Any) -> bytes:
    return (json.dumps(task, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
