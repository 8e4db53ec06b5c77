"""The database layer: group commit through `write`, one-hop reads, change listeners."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from solo.db import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "solo.db")
    await database.open(create=True)
    async with database.transaction() as conn:
        await conn.execute("CREATE TABLE notes (key TEXT PRIMARY KEY, n INTEGER)")
        await conn.execute("CREATE TABLE parents (id INTEGER PRIMARY KEY)")
        await conn.execute(
            "CREATE TABLE children (id INTEGER PRIMARY KEY,"
            " parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)"
        )
    yield database
    await database.close()


def insert(key: str, n: int = 0):  # type: ignore[no-untyped-def]
    def run(conn: sqlite3.Connection) -> int:
        return conn.execute("INSERT OR IGNORE INTO notes VALUES (?, ?)", (key, n)).rowcount

    return run


async def keys(db: Database) -> list[str]:
    return [row[0] for row in await db.fetchall("SELECT key FROM notes ORDER BY key")]


async def test_concurrent_writes_share_one_commit_and_each_gets_its_result(db: Database) -> None:
    commits: list[frozenset[object]] = []
    await db.watch("notes", "key", commits.append)
    results = await asyncio.gather(*(db.write(insert(f"k{n:02}")) for n in range(20)))
    assert results == [1] * 20
    assert len(commits) == 1 and len(commits[0]) == 20  # one transaction for all twenty
    assert db.version("notes") == 1
    for n in range(3):
        await db.write(insert(f"s{n}"))
    assert db.version("notes") == 4  # one after another: one commit each


async def test_a_duplicate_within_one_batch_is_stored_once(db: Database) -> None:
    results = await asyncio.gather(db.write(insert("same", 1)), db.write(insert("same", 2)))
    assert sorted(results) == [0, 1]
    assert await db.fetchval("SELECT n FROM notes WHERE key = 'same'") == 1


async def test_a_failing_write_fails_alone_and_leaves_nothing(db: Database) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO notes VALUES ('broken', 0)")
        raise ValueError("bad input")

    outcomes = await asyncio.gather(
        db.write(insert("a")), db.write(broken), db.write(insert("b")), return_exceptions=True
    )
    assert outcomes[0] == 1 and outcomes[2] == 1
    assert isinstance(outcomes[1], ValueError)
    assert await keys(db) == ["a", "b"]


async def test_a_batch_whose_commit_fails_is_retried_one_by_one(db: Database) -> None:
    def orphan(conn: sqlite3.Connection) -> None:
        # Valid until COMMIT, which the deferred foreign key refuses: the whole batch fails.
        conn.execute("INSERT INTO children (parent) VALUES (42)")

    outcomes = await asyncio.gather(
        db.write(insert("a")), db.write(orphan), db.write(insert("b")), return_exceptions=True
    )
    assert outcomes[0] == 1 and outcomes[2] == 1
    assert isinstance(outcomes[1], sqlite3.IntegrityError)
    assert await keys(db) == ["a", "b"]
    assert await db.fetchval("SELECT COUNT(*) FROM children") == 0


async def test_a_caller_that_goes_away_does_not_undo_its_write(db: Database) -> None:
    task = asyncio.ensure_future(db.write(insert("kept")))
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await db.write(insert("next"))
    assert await keys(db) == ["kept", "next"]


async def test_writes_and_transactions_take_turns(db: Database) -> None:
    async def in_transaction(key: str) -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO notes VALUES (?, 0)", (key,))
            await asyncio.sleep(0.01)

    await asyncio.gather(in_transaction("t1"), db.write(insert("w")), in_transaction("t2"))
    assert await keys(db) == ["t1", "t2", "w"]


async def test_fetch_functions(db: Database) -> None:
    await db.executemany("INSERT INTO notes VALUES (?, ?)", [("a", 1), ("b", 2)])
    row_id = await db.execute("INSERT INTO notes VALUES ('c', 3)")
    assert row_id == 3
    rows = await db.fetchall("SELECT key, n FROM notes ORDER BY key")
    assert [(row["key"], row["n"]) for row in rows] == [("a", 1), ("b", 2), ("c", 3)]
    one = await db.fetchone("SELECT n FROM notes WHERE key = ?", ("b",))
    assert one is not None and one["n"] == 2
    assert await db.fetchone("SELECT n FROM notes WHERE key = ?", ("z",)) is None
    assert await db.fetchval("SELECT SUM(n) FROM notes") == 6
    assert await db.fetchval("SELECT n FROM notes WHERE key = :k", {"k": "c"}) == 3
    total = await db.read(lambda conn: conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0])
    assert total == 3


async def test_reads_are_read_only(db: Database) -> None:
    with pytest.raises(sqlite3.OperationalError):
        await db.fetchall("INSERT INTO notes VALUES ('x', 0) RETURNING key")


async def test_listeners_hear_of_committed_changes_only(db: Database) -> None:
    heard: list[frozenset[object]] = []
    await db.watch("notes", "key", heard.append)
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO notes VALUES ('gone', 0)")
            raise RuntimeError("undo")
    assert heard == [] and db.version("notes") == 0
    await db.execute("INSERT INTO notes VALUES ('a', 0)")
    await db.execute("UPDATE notes SET key = 'b' WHERE key = 'a'")
    await db.execute("DELETE FROM notes")
    assert heard == [frozenset({"a"}), frozenset({"a", "b"}), frozenset({"b"})]
    assert db.version("notes") == 3
    with pytest.raises(ValueError):
        await db.watch("notes; DROP TABLE notes", "key", heard.append)


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
async def test_a_transaction_cancelled_at_its_start_leaves_none_open(
    db: Database, turns: int
) -> None:
    """A worker cancelled while its BEGIN is on the writer thread (shutdown, a cancelled
    request): the BEGIN still runs there, and must be rolled back, or every later transaction
    fails with "cannot start a transaction within a transaction"."""
    started = asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as conn:
            started.set()
            await conn.execute("INSERT INTO notes VALUES ('cancelled', 0)")
            await asyncio.sleep(10)

    task = asyncio.create_task(writer())
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO notes VALUES ('after', 0)")
    assert await keys(db) == ["after"]
