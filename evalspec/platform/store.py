"""SQLite storage for the local platform: JSON documents with cursor-ordered listing.

Every object (evaluation, dataset, group, dataset item, evaluation item) is one row of
``objects``: its id, account, kind, optional parent (a dataset for its items), name, soft-delete
time, and the JSON body. ``seq`` orders objects by creation and is what cursors page over;
``tags`` lets tag filters (all given tags) run in SQL.

One connection, serialised by a lock: writes from concurrent requests never interleave, and
WAL mode keeps the file consistent if the process dies mid-write.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent TEXT,
    name TEXT,
    archived_at TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_by_kind ON objects (account, kind, seq);
CREATE INDEX IF NOT EXISTS objects_by_parent ON objects (parent, kind, seq);
CREATE TABLE IF NOT EXISTS tags (
    object_seq INTEGER NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (tag, object_seq)
);
"""

PREFIXES = {
    "evaluation": "evaluation",
    "dataset": "dataset",
    "dataset.item": "dataset_item",
    "evaluation.item": "evaluation_item",
    "evaluation_group": "evaluation_group",
    "evaluation_group.member": "member",
}


def now() -> str:
    """The platform's timestamp format: ISO 8601 in UTC with a Z."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_id(kind: str) -> str:
    return f"{PREFIXES[kind]}_{uuid.uuid4().hex[:24]}"


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    has_more: bool


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work; nothing else runs on the database meanwhile."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- writes (call inside a transaction) ---------------------------------------------------
    def insert(self, db: sqlite3.Connection, account: str, kind: str, body: dict[str, Any],
               parent: str | None = None) -> dict[str, Any]:
        cursor = db.execute(
            "INSERT INTO objects (id, account, kind, parent, name, archived_at, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (body["id"], account, kind, parent, body.get("name"), body.get("archived_at"),
             json.dumps(body, separators=(",", ":"))),
        )
        self._set_tags(db, cursor.lastrowid, body.get("tags"))
        return body

    def save(self, db: sqlite3.Connection, body: dict[str, Any]) -> dict[str, Any]:
        row = db.execute("SELECT seq FROM objects WHERE id = ?", (body["id"],)).fetchone()
        db.execute(
            "UPDATE objects SET name = ?, archived_at = ?, body = ? WHERE seq = ?",
            (body.get("name"), body.get("archived_at"),
             json.dumps(body, separators=(",", ":")), row[0]),
        )
        db.execute("DELETE FROM tags WHERE object_seq = ?", (row[0],))
        self._set_tags(db, row[0], body.get("tags"))
        return body

    @staticmethod
    def _set_tags(db: sqlite3.Connection, seq: int | None, tags: Sequence[str] | None) -> None:
        if tags:
            db.executemany("INSERT OR IGNORE INTO tags (object_seq, tag) VALUES (?, ?)",
                           [(seq, t) for t in dict.fromkeys(tags)])

    # -- reads --------------------------------------------------------------------------------
    def get(self, account: str, kind: str, object_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM objects WHERE id = ? AND account = ? AND kind = ?",
                (object_id, account, kind),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def get_many(self, account: str, kind: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = list(ids[start:start + 500])
                marks = ",".join("?" * len(chunk))
                for (body,) in self._db.execute(
                    f"SELECT body FROM objects WHERE account = ? AND kind = ? AND id IN ({marks})",
                    (account, kind, *chunk),
                ):
                    obj = json.loads(body)
                    found[obj["id"]] = obj
        return found

    def children(self, parent: str, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM objects WHERE parent = ? AND kind = ? ORDER BY seq",
                (parent, kind),
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def list(
        self,
        account: str,
        kind: str,
        *,
        limit: int,
        starting_after: str | None = None,
        ending_before: str | None = None,
        descending: bool = False,
        include_archived: bool = False,
        name: str | None = None,
        tags: Sequence[str] = (),
        parent: str | None = None,
        where: Any = None,
    ) -> Page | None:
        """One page in creation order (or reversed); None when a cursor id is unknown.

        ``where`` is an optional predicate on the decoded body, for filters SQL cannot express.
        """
        clauses = ["account = ?", "kind = ?"]
        args: list[Any] = [account, kind]
        if not include_archived:
            clauses.append("archived_at IS NULL")
        if name:
            clauses.append("instr(lower(name), lower(?)) > 0")
            args.append(name)
        if parent is not None:
            clauses.append("parent = ?")
            args.append(parent)
        for tag in dict.fromkeys(tags):
            clauses.append("seq IN (SELECT object_seq FROM tags WHERE tag = ?)")
            args.append(tag)
        base = " AND ".join(clauses)
        with self._lock:
            cursor_clause, cursor_args = "", []
            forward = ending_before is None
            cursor_id = starting_after if forward else ending_before
            if cursor_id is not None:
                row = self._db.execute("SELECT seq FROM objects WHERE id = ? AND account = ?",
                                       (cursor_id, account)).fetchone()
                if row is None:
                    return None
                after = forward != descending
                cursor_clause = f" AND seq {'>' if after else '<'} ?"
                cursor_args = [row[0]]
            scan_desc = descending if forward else not descending
            order = "DESC" if scan_desc else "ASC"
            sql = f"SELECT body FROM objects WHERE {base}{cursor_clause} ORDER BY seq {order}"
            if where is None:
                total = self._db.execute(f"SELECT COUNT(*) FROM objects WHERE {base}",
                                         args).fetchone()[0]
                rows = self._db.execute(sql + " LIMIT ?", (*args, *cursor_args, limit + 1))
                items = [json.loads(r[0]) for r in rows]
            else:
                every = [json.loads(r[0]) for r in self._db.execute(
                    f"SELECT body FROM objects WHERE {base}", args)]
                total = sum(1 for obj in every if where(obj))
                items = []
                for (body,) in self._db.execute(sql, (*args, *cursor_args)):
                    obj = json.loads(body)
                    if where(obj):
                        items.append(obj)
                        if len(items) > limit:
                            break
        has_more = len(items) > limit
        items = items[:limit]
        if not forward:
            items.reverse()
        return Page(items, total, has_more)
