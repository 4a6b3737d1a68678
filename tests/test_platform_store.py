"""The local platform's store: creates arriving together share one COMMIT, and none of them
is answered before it is stored. A second connection to the file sees only what is committed."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from evalspec.platform.store import Store


def _stored_names(path) -> list[str]:
    with sqlite3.connect(path) as other:
        return [row[0] for row in other.execute("SELECT name FROM objects ORDER BY seq")]


def _evaluation(name: str) -> dict:
    return {"id": f"evaluation_{name}", "name": name, "tags": ["t"]}


def test_units_begun_together_share_a_commit_and_fail_alone(tmp_path) -> None:
    path = tmp_path / "p.db"
    store = Store(path)
    inside: list[list[str]] = []

    async def write(name: str, fail: bool = False) -> list[str]:
        async with store.unit() as db:
            store.insert(db, "a", "evaluation", _evaluation(name))
            inside.append(_stored_names(path))
            if fail:
                raise ValueError(name)
        return _stored_names(path)  # what a response sent now would vouch for

    async def together() -> list[object]:
        return await asyncio.gather(write("a"), write("b", fail=True), write("c"),
                                    return_exceptions=True)

    first, failed, last = asyncio.run(together())
    assert inside == [[], [], []]  # one transaction: none was committed before the others began
    assert (first, last) == (["a", "c"], ["a", "c"])
    assert isinstance(failed, ValueError)
    store.close()
    assert _stored_names(path) == ["a", "c"]


def test_a_transaction_commits_the_shared_one_first(tmp_path) -> None:
    path = tmp_path / "p.db"
    store = Store(path)

    async def main() -> None:
        async def write() -> None:
            async with store.unit() as db:
                store.insert(db, "a", "evaluation", _evaluation("shared"))

        pending = asyncio.ensure_future(write())
        await asyncio.sleep(0)  # the unit has run and waits for its commit
        with store.transaction() as db:  # BEGIN inside the open one would fail
            store.insert(db, "a", "evaluation", _evaluation("alone"))
        assert _stored_names(path) == ["shared", "alone"]
        await pending

    asyncio.run(main())
    assert [e["name"] for e in store.list("a", "evaluation", limit=10).items] == [
        "shared", "alone"]


def test_a_failed_commit_fails_every_unit_in_it_and_the_store_goes_on(tmp_path) -> None:
    path = tmp_path / "p.db"
    store = Store(path)
    # A deferred foreign key is checked at COMMIT: the one way to make a commit fail here.
    store._db.executescript(
        "PRAGMA foreign_keys = ON; CREATE TABLE parent (id TEXT PRIMARY KEY);"
        "CREATE TABLE child (parent TEXT REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);")

    async def write(name: str, orphan: bool = False) -> None:
        async with store.unit() as db:
            store.insert(db, "a", "evaluation", _evaluation(name))
            if orphan:
                db.execute("INSERT INTO child VALUES ('nobody')")

    async def together() -> list[object]:
        return await asyncio.gather(write("a"), write("b", orphan=True), return_exceptions=True)

    results = asyncio.run(together())
    assert [type(r) for r in results] == [sqlite3.IntegrityError] * 2
    assert _stored_names(path) == []
    asyncio.run(write("later"))
    assert _stored_names(path) == ["later"]
    with pytest.raises(sqlite3.IntegrityError):
        asyncio.run(write("orphaned", orphan=True))
    assert _stored_names(path) == ["later"]
