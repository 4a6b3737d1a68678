"""SQLite storage for the local platform: JSON documents with cursor-ordered listing.

Every object (evaluation, dataset, group, dataset item, evaluation item) is one row of
``objects``: its id, account, kind, optional parent (a dataset for its items), name, soft-delete
time, and its body as two JSON texts: ``public``, the keys a response shows, and ``private``,
the platform's bookkeeping (keys starting with ``_``). Pages are built by splicing the public
texts together, so listing never decodes and re-encodes what it sends. A kind may keep one key
last in its public text (an evaluation's ``tasks``, which only some views show); ``cut`` is
where that key starts, so a response without it is a slice. ``seq`` orders objects by creation
and is what cursors page over; ``tags`` lets tag filters (all given tags) run in SQL.

One connection, serialised by a lock: writes from concurrent requests never interleave, and
WAL mode keeps the file consistent if the process dies mid-write. ``seq`` is the rowid, one
past the largest so far: objects are never deleted (archiving is a soft delete), so it only
grows; databases made before kept AUTOINCREMENT, which also only grows.

Commits are not flushed to disk (``synchronous=OFF``): this is a platform for development and
tests, and a commit survives the process being killed (the operating system holds the
write); only an operating system crash or a power cut could lose the last writes. Flushing
cost about a fifth of the storage's CPU per create (measured on the store alone; the figures
are in bench/README.md).
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent TEXT,
    name TEXT,
    archived_at TEXT,
    public TEXT NOT NULL,
    cut INTEGER NOT NULL,
    private TEXT NOT NULL
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
    "question": "question",
    "rubric": "rubric",
    "rubric_criteria": "criteria",
}

TAIL_KEYS = {"evaluation": "tasks"}  # shown only in some views: kept last, at ``cut``

_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


class NotJSON(ValueError):
    """A value JSON cannot carry (NaN, an infinity, a lone UTF-16 surrogate): Python's JSON
    reader, which FastAPI uses for request bodies, accepts them, and nothing stored may hold
    one. Its message is the answer's detail."""


def dumps(value: Any) -> str:
    """Compact JSON text, as stored and sent."""
    try:
        text = _encode(value)
        text.encode("utf-8")  # a lone surrogate ("\ud800" in the body) has no UTF-8 form
    except UnicodeEncodeError:
        raise NotJSON("the body holds a lone UTF-16 surrogate, which UTF-8 cannot carry"
                      ) from None
    except ValueError:
        raise NotJSON("the body holds NaN or Infinity, which JSON cannot carry") from None
    return text


def now() -> str:
    """The platform's timestamp format: ISO 8601 in UTC with a Z."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


_ids = random.Random()  # seeded from the OS once; an id needs to be unique, not secret


def new_id(kind: str) -> str:
    """The kind's prefix and 24 random hex digits (uuid4 asked the OS for them each time)."""
    return f"{PREFIXES[kind]}_{_ids.getrandbits(96):024x}"


@dataclass(frozen=True, slots=True)
class Stored:
    """One object as stored: its public JSON text and its bookkeeping, decoded."""

    public: str
    cut: int
    private: dict[str, Any]

    @classmethod
    def of(cls, kind: str, body: dict[str, Any]) -> Stored:
        """``body`` as it would be stored."""
        return cls(*_split(kind, body))

    def head(self, tail: bool) -> str:
        """The public text without its closing brace, with or without the kind's tail key."""
        return self.public[:-1] if tail else self.public[:self.cut]

    def tail(self) -> Any:
        """The value of the kind's tail key alone (None when there is none)."""
        if self.cut == len(self.public) - 1:
            return None
        return json.loads(self.public[self.public.index(":", self.cut) + 1:-1])

    def body(self) -> dict[str, Any]:
        return {**json.loads(self.public), **self.private}


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    has_more: bool


@dataclass(frozen=True)
class TextPage:
    items: list[Stored]
    total: int
    has_more: bool


def _split(kind: str, body: dict[str, Any]) -> tuple[str, int, dict[str, Any]]:
    """The public text of ``body``, where its tail key starts, and its private keys."""
    tail = TAIL_KEYS.get(kind)
    public: dict[str, Any] = {}
    private: dict[str, Any] = {}
    for key, value in body.items():  # one pass: this runs for every object written
        if key[:1] == "_":
            private[key] = value
        elif key != tail:
            public[key] = value
    text = dumps(public)
    cut = len(text) - 1
    if tail is not None and tail in body:
        text = f'{text[:-1]}{"," if public else ""}"{tail}":{dumps(body[tail])}}}'
    return text, cut, private


def _row(kind: str, body: dict[str, Any]) -> tuple[str, int, str]:
    text, cut, private = _split(kind, body)
    return text, cut, dumps(private)


def _stored(row: tuple[str, int, str]) -> Stored:
    return Stored(row[0], row[1], json.loads(row[2]))


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        # A store nobody closed (an app built and dropped) closes its database when collected:
        # Python 3.13 warns of a connection left open, and a warning is an error in the tests.
        weakref.finalize(self, self._db.close)
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=OFF")  # see the module's docstring
            self._migrate()
            self._db.executescript(_SCHEMA)

    def _migrate(self) -> None:
        """Databases written before the public/private split kept one ``body`` text."""
        columns = [row[1] for row in self._db.execute("PRAGMA table_info(objects)")]
        if "body" not in columns:
            return
        with self.transaction() as db:
            db.execute("ALTER TABLE objects RENAME TO objects_v1")
            db.execute("DROP INDEX objects_by_kind")  # their names are needed again
            db.execute("DROP INDEX objects_by_parent")
            for statement in _SCHEMA.split(";")[:3]:  # the table and its indexes, in this
                db.execute(statement.replace("IF NOT EXISTS ", ""))  # transaction
            for seq, object_id, account, kind, parent, name, archived_at, text in db.execute(
                    "SELECT seq, id, account, kind, parent, name, archived_at, body "
                    "FROM objects_v1 ORDER BY seq").fetchall():
                body = json.loads(text)
                if kind == "evaluation":  # responses now add it, from the evaluation's status
                    body.pop("status_reason", None)
                db.execute("INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (seq, object_id, account, kind, parent, name, archived_at,
                            *_row(kind, body)))
            db.execute("DROP TABLE objects_v1")

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
        self.add(db, account, kind, body, parent)
        return body

    def add(self, db: sqlite3.Connection, account: str, kind: str, body: dict[str, Any],
            parent: str | None = None) -> Stored:
        """``insert``, returning the object as stored (for a response made from its text)."""
        stored = Stored.of(kind, body)
        cursor = db.execute(
            "INSERT INTO objects (id, account, kind, parent, name, archived_at, public, cut, "
            "private) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (body["id"], account, kind, parent, body.get("name"), body.get("archived_at"),
             stored.public, stored.cut, dumps(stored.private)),
        )
        self._set_tags(db, cursor.lastrowid, body.get("tags"))
        return stored

    def save(self, db: sqlite3.Connection, body: dict[str, Any]) -> dict[str, Any]:
        seq, kind = db.execute("SELECT seq, kind FROM objects WHERE id = ?",
                               (body["id"],)).fetchone()
        db.execute(
            "UPDATE objects SET name = ?, archived_at = ?, public = ?, cut = ?, private = ? "
            "WHERE seq = ?",
            (body.get("name"), body.get("archived_at"), *_row(kind, body), seq),
        )
        db.execute("DELETE FROM tags WHERE object_seq = ?", (seq,))
        self._set_tags(db, seq, body.get("tags"))
        return body

    @staticmethod
    def _set_tags(db: sqlite3.Connection, seq: int | None, tags: Sequence[str] | None) -> None:
        if tags:
            db.executemany("INSERT OR IGNORE INTO tags (object_seq, tag) VALUES (?, ?)",
                           [(seq, t) for t in dict.fromkeys(tags)])

    # -- reads --------------------------------------------------------------------------------
    def get_stored(self, account: str, kind: str, object_id: str) -> Stored | None:
        with self._lock:
            row = self._db.execute(
                "SELECT public, cut, private FROM objects WHERE id = ? AND account = ? "
                "AND kind = ?", (object_id, account, kind)).fetchone()
        return _stored(row) if row else None

    def get(self, account: str, kind: str, object_id: str) -> dict[str, Any] | None:
        stored = self.get_stored(account, kind, object_id)
        return stored.body() if stored else None

    def get_many_stored(self, account: str, kind: str, ids: Sequence[str]) -> dict[str, Stored]:
        found: dict[str, Stored] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                chunk = list(ids[start:start + 500])
                marks = ",".join("?" * len(chunk))
                for object_id, *row in self._db.execute(
                    "SELECT id, public, cut, private FROM objects WHERE account = ? AND kind = ? "
                    f"AND id IN ({marks})", (account, kind, *chunk),
                ):
                    found[object_id] = _stored(row)
        return found

    def get_many(self, account: str, kind: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {k: v.body() for k, v in self.get_many_stored(account, kind, ids).items()}

    def children(self, parent: str, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT public, cut, private FROM objects WHERE parent = ? AND kind = ? "
                "ORDER BY seq", (parent, kind),
            ).fetchall()
        return [_stored(r).body() for r in rows]

    def list(self, account: str, kind: str, **query: Any) -> Page | None:
        """One page of decoded bodies (see ``page``); None when a cursor id is unknown."""
        page = self.page(account, kind, **query)
        if page is None:
            return None
        return Page([s.body() for s in page.items], page.total, page.has_more)

    def page(
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
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> TextPage | None:
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
            columns = "public, cut, private"
            sql = f"SELECT {columns} FROM objects WHERE {base}{cursor_clause} ORDER BY seq {order}"
            if where is None:
                total = self._db.execute(f"SELECT COUNT(*) FROM objects WHERE {base}",
                                         args).fetchone()[0]
                rows = self._db.execute(sql + " LIMIT ?", (*args, *cursor_args, limit + 1))
                items = [_stored(r) for r in rows]
            else:
                every = self._db.execute(f"SELECT {columns} FROM objects WHERE {base}", args)
                total = sum(1 for r in every if where(_stored(r).body()))
                items = []
                for r in self._db.execute(sql, (*args, *cursor_args)):
                    stored = _stored(r)
                    if where(stored.body()):
                        items.append(stored)
                        if len(items) > limit:
                            break
        has_more = len(items) > limit
        items = items[:limit]
        if not forward:
            items.reverse()
        return TextPage(items, total, has_more)
