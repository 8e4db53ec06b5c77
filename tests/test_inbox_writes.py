"""The inbox's gathered writes: activities stored together are each told whether they were
new, once committed; a caller that goes away leaves its row and the others' to be written; a
failed commit is every caller's."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from solo.db import Database
from solo.federation.inbox_writes import InboxWrites


@pytest.fixture
async def db(tmp_path: Path):  # type: ignore[no-untyped-def]
    database = Database(tmp_path / "writes.db")
    await database.open(create=True)  # the schema, migrations included
    yield database
    await database.close()


async def counts(db: Database) -> tuple[int, int]:
    activities = int(await db.fetchval("SELECT COUNT(*) FROM activities"))
    jobs = int(await db.fetchval("SELECT COUNT(*) FROM jobs WHERE queue = 'ingress'"))
    return activities, jobs


def job(n: int) -> str:
    return f'{{"activity":{{"id":"https://a.example/{n}","type":"Like"}},"actor":"x"}}'


async def test_stores_together_each_learn_whether_new(db: Database) -> None:
    writes = InboxWrites()
    keys = ["https://a.example/1", "https://a.example/2", "https://a.example/1"]
    added = await asyncio.gather(
        *(writes.store(db, key, "Like", job(n), 1.0) for n, key in enumerate(keys))
    )
    assert added == [True, True, False]  # a duplicate within the batch is one
    assert await counts(db) == (2, 2)
    assert await writes.store(db, "https://a.example/2", "Like", job(9), 2.0) is False
    assert await counts(db) == (2, 2)


async def test_a_caller_that_goes_away_leaves_every_row_written(db: Database) -> None:
    writes = InboxWrites()
    callers = [
        asyncio.ensure_future(writes.store(db, f"https://a.example/{n}", "Like", job(n), 1.0))
        for n in range(3)
    ]
    await asyncio.sleep(0)  # each has joined the batch
    callers[1].cancel()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], asyncio.CancelledError)
    assert await counts(db) == (3, 3)


async def test_a_failed_commit_is_every_callers(db: Database) -> None:
    writes = InboxWrites()
    await db.execute("DROP INDEX jobs_due")
    await db.execute("DROP TABLE jobs")
    results = await asyncio.gather(
        *(writes.store(db, f"https://a.example/{n}", "Like", job(n), 1.0) for n in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(result, sqlite3.OperationalError) for result in results)
    assert int(await db.fetchval("SELECT COUNT(*) FROM activities")) == 0


async def test_a_batch_larger_than_a_statement_is_written_whole(db: Database) -> None:
    writes = InboxWrites()
    await writes.store(db, "https://a.example/7", "Like", job(7), 1.0)
    keys = [f"https://a.example/{n % 1100}" for n in range(1300)]  # 200 repeated, 1 stored
    added = await asyncio.gather(
        *(writes.store(db, key, "Like", job(n), 2.0) for n, key in enumerate(keys))
    )
    assert added == [n < 1100 and n != 7 for n in range(1300)]
    assert await counts(db) == (1100, 1100)
    payloads = [row[0] for row in await db.fetchall("SELECT payload FROM jobs ORDER BY id")]
    assert payloads == [job(7)] + [job(n) for n in range(1100) if n != 7]


async def test_a_row_that_needs_a_later_write_is_not_written_before_it(db: Database) -> None:
    # A first contact: the batch is open when the signer's row is queued (by the key fetch);
    # the activity signed by it must not commit before that row, or a crash between the two
    # commits leaves a job whose actor is nowhere (and the worker drops it as gone).
    writes = InboxWrites()
    early = asyncio.ensure_future(writes.store(db, "https://a.example/1", "Like", job(1), 1.0))
    await asyncio.sleep(0)  # the batch is open and queued

    def signer_row(conn: sqlite3.Connection) -> list[str]:
        return [key for (key,) in conn.execute("SELECT ap_id FROM activities ORDER BY ap_id")]

    signer = db.write_soon(signer_row)
    late = writes.store(db, "https://a.example/2", "Like", job(2), 1.0, after=db.writes_queued)
    assert await asyncio.gather(early, late) == [True, True]
    # When the signer's row was written, the earlier batch was, and the later one was not.
    assert await signer == ["https://a.example/1"]
    assert await counts(db) == (2, 2)


async def test_rows_that_need_nothing_later_share_the_open_batch(db: Database) -> None:
    writes = InboxWrites()
    first = asyncio.ensure_future(writes.store(db, "https://a.example/1", "Like", job(1), 1.0))
    await asyncio.sleep(0)
    stored_already = db.writes_queued  # a write queued before the batch: no reason to split
    second = writes.store(db, "https://a.example/2", "Like", job(2), 1.0, after=stored_already)
    assert await asyncio.gather(first, second) == [True, True]
    assert db.writes_queued == stored_already  # the second row went with the first
    assert await counts(db) == (2, 2)
