"""The database layer: group commit through `write`, one-hop reads, change listeners, and the
reader pool's order (first come first served, the owner's reads first)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from starlette.responses import PlainTextResponse
from starlette.types import Message, Receive, Scope, Send

from solo.db import Database
from solo.edge.sessions import ACCOUNT, OwnRequests
from solo.readpool import ReadPool, owner_reads, reading_for_owner


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


async def test_statements_share_the_group_commit_and_a_refused_one_fails_alone(
    db: Database,
) -> None:
    """`execute` and `executemany` outside a batch are writes like the others: one hop to the
    writer and the next group commit, not a transaction of their own that holds the writer
    for a turn of the loop per statement."""
    commits: list[frozenset[object]] = []
    await db.watch("notes", "key", commits.append)
    outcomes = await asyncio.gather(
        *(db.execute("INSERT INTO notes VALUES (?, ?)", (f"k{n}", n)) for n in range(10)),
        db.execute("INSERT INTO notes VALUES ('k3', 99)"),  # the key is taken: refused alone
        db.executemany("INSERT INTO notes VALUES (?, ?)", ((f"m{n}", n) for n in range(3))),
        return_exceptions=True,
    )
    assert outcomes[:10] == list(range(1, 11))  # each its own row id, in the order asked
    assert isinstance(outcomes[10], sqlite3.IntegrityError)
    assert outcomes[11] is None
    assert len(commits) == 1 and len(commits[0]) == 13  # one transaction for all of them
    assert await db.fetchval("SELECT n FROM notes WHERE key = 'k3'") == 3


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


async def test_write_soon_is_queued_at_once_and_shares_the_commit(db: Database) -> None:
    """`write_soon` queues before it returns (no task to wait for): a `write` asked after it
    runs after it, in the same transaction; a failing one fails in its own future alone."""

    def broken(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO notes VALUES ('undone', 0)")
        raise ValueError("refused")

    first = db.write_soon(insert("first"))
    failing = db.write_soon(broken)
    order = await asyncio.gather(
        db.write(lambda conn: [row[0] for row in conn.execute("SELECT key FROM notes")])
    )
    assert order == [["first"]]
    assert await first == 1
    with pytest.raises(ValueError, match="refused"):
        await failing
    assert await keys(db) == ["first"]


async def test_write_soon_inside_a_batch_sees_and_joins_it(db: Database) -> None:
    async with db.batch():
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO notes VALUES ('in batch', 0)")
        seen = await db.write_soon(
            lambda conn: conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0]
        )
    assert seen == 1


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


async def test_a_freed_reader_goes_to_the_oldest_waiter_not_a_newcomer() -> None:
    pool: ReadPool[str] = ReadPool()
    pool.put("conn")
    held = await pool.get()
    served: list[str] = []

    async def reader(name: str) -> None:
        conn = await pool.get()
        served.append(name)
        pool.put(conn)

    waiters = [asyncio.create_task(reader(f"w{n}")) for n in range(3)]
    await asyncio.sleep(0)  # all three now wait, in order
    assert pool.waiting() == 3
    pool.put(held)
    # A newcomer asking at once, before w0 resumes: an asyncio.Queue gave it the connection
    # and w0 went to the back of the line.
    await reader("newcomer")
    await asyncio.gather(*waiters)
    assert served == ["w0", "w1", "w2", "newcomer"]


async def test_the_owners_reads_go_ahead_of_anonymous_ones() -> None:
    pool: ReadPool[str] = ReadPool()
    pool.put("conn")
    held = await pool.get()
    served: list[str] = []

    async def reader(name: str, owner: bool) -> None:
        if owner:
            with owner_reads():
                conn = await pool.get()
        else:
            conn = await pool.get()
        served.append(name)
        pool.put(conn)

    tasks = [asyncio.create_task(reader(f"anon{n}", False)) for n in range(3)]
    tasks += [asyncio.create_task(reader(f"owner{n}", True)) for n in range(2)]
    tasks.append(asyncio.create_task(reader("anon3", False)))
    await asyncio.sleep(0)
    assert pool.waiting() == 6
    pool.put(held)
    await asyncio.gather(*tasks)
    assert served == ["owner0", "owner1", "anon0", "anon1", "anon2", "anon3"]


async def test_a_waiter_that_goes_away_loses_no_connection() -> None:
    pool: ReadPool[str] = ReadPool()
    pool.put("conn")
    held = await pool.get()
    gone = asyncio.create_task(pool.get())
    handed = asyncio.create_task(pool.get())
    await asyncio.sleep(0)
    gone.cancel()  # cancelled while waiting: it leaves the line
    await asyncio.gather(gone, return_exceptions=True)
    assert pool.waiting() == 1
    pool.put(held)
    assert await handed == "conn"
    # Cancelled after the connection was put in its hands, before it resumed: passed on.
    late = asyncio.create_task(pool.get())
    after = asyncio.create_task(pool.get())
    await asyncio.sleep(0)
    pool.put("conn")
    late.cancel()
    await asyncio.gather(late, return_exceptions=True)
    assert late.cancelled()
    assert await after == "conn"
    pool.put("conn")
    assert await pool.get() == "conn" and pool.waiting() == 0


async def test_database_reads_wait_in_the_owners_line_within_owner_reads(tmp_path: Path) -> None:
    database = Database(tmp_path / "solo.db", readers=1)
    await database.open(create=True)
    try:
        order: list[str] = []
        release = asyncio.Event()

        def nothing(conn: sqlite3.Connection) -> None:
            return None

        async def first() -> None:
            async with database._reader():
                await release.wait()

        async def query(name: str, owner: bool) -> None:
            if owner:
                with owner_reads():
                    await database.read(nothing)
            else:
                await database.read(nothing)
            order.append(name)

        holder = asyncio.create_task(first())
        await asyncio.sleep(0)
        tasks = [asyncio.create_task(query("anon", False)), asyncio.create_task(query("me", True))]
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(holder, *tasks)
        assert order == ["me", "anon"]
    finally:
        await database.close()


async def test_a_login_reads_as_the_owner_and_an_unchecked_token_header_does_not() -> None:
    seen: dict[str, bool] = {}

    async def probe(scope: Scope, receive: Receive, send: Send) -> None:
        seen[scope["path"]] = reading_for_owner()
        await PlainTextResponse("ok")(scope, receive, send)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        return None

    app = OwnRequests(probe)
    for path, extra in (
        ("/home", {ACCOUNT: object()}),
        ("/api/v1/timelines/home", {"headers": [(b"authorization", b"Bearer forged")]}),
        ("/@alice", {ACCOUNT: None}),
    ):
        scope = {"type": "http", "method": "GET", "path": path, "headers": [], **extra}
        await app(scope, receive, send)
    # A token is checked by the API before its reads go first (solo.api.auth).
    assert seen == {"/home": True, "/api/v1/timelines/home": False, "/@alice": False}
