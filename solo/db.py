"""SQLite through aiosqlite: one writer connection, a few read-only readers, numbered migrations.

Writes go through `Database.transaction()`, which serialises them on the one writer with
`BEGIN IMMEDIATE`. Reads go to a small pool of read-only connections, so a long read never waits
for a write (WAL). The schema version is `PRAGMA user_version`; migrations are the numbered
`.sql` files in `solo/migrations`, each applied once in its own transaction.

`Database.write(fn)` is the fast path for small writes: concurrent calls are grouped into one
transaction (group commit), each in its own savepoint, so a burst of inbox POSTs costs one
commit and one hop to the writer thread; `execute` and `executemany` take the same path.
`Database.batch()` is the fast path for a worker that applies many jobs: one transaction for all
of them, each `transaction()` or `write()` of the same task inside it a savepoint, its reads on
the writer (so that they see what the batch wrote), and what must follow the commit
(`after_commit`) run once it is durable. `Database.watch` tells in-memory caches which rows of a
table changed, after the change commits (temporary triggers on the writer connection).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from solo import fulltext
from solo.errors import SetupError
from solo.readpool import ReadPool

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
Params = Sequence[Any] | dict[str, Any]
T = TypeVar("T")
ChangeListener = Callable[[frozenset[Any]], None]
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
WATCHED = ("INSERT", "UPDATE", "DELETE")
AfterCommit = Callable[[], Awaitable[None]]

log = logging.getLogger(__name__)


class WriteBatch:
    """One open write transaction shared by the calls its task makes (see `Database.batch`)."""

    def __init__(self, owner: asyncio.Task[Any] | None, conn: sqlite3.Connection) -> None:
        self.owner = owner
        self.open = True
        self._conn = conn
        # Called in order after the commit; a key already there is not added twice (a feed
        # rebuilt once for the whole batch).
        self.after: dict[Any, AfterCommit] = {}

    @property
    def alive(self) -> bool:
        """False once SQLite gave up the whole transaction (a full disk does that)."""
        return self._conn.in_transaction

    def mark(self) -> int:
        """Where the callbacks registered from now on start (see `forget_since`)."""
        return len(self.after)

    def forget_since(self, mark: int) -> None:
        """Drop the callbacks registered since `mark`: what registered them was rolled back."""
        if len(self.after) > mark:
            self.after = dict(list(self.after.items())[:mark])


class _Writer(aiosqlite.Connection):
    """The writer connection. While a batch is open, the calls of the task that owns it run
    directly on the event loop's thread: it holds the writer, so no other call can use the
    connection meanwhile, and each statement of a batch (small, indexed) costs less than the
    hop to the writer's thread and back. BEGIN and COMMIT (the fsync) still hop."""

    direct: asyncio.Task[Any] | None = None

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.direct is not None and self.direct is asyncio.current_task():
            if not self._running or not self._connection:
                raise ValueError("Connection closed")
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]


def _connect_writer(path: Path) -> _Writer:
    """As `aiosqlite.connect`, but usable from the event loop's thread during a batch."""

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    return _Writer(connector, 64)


_batch: contextvars.ContextVar[WriteBatch | None] = contextvars.ContextVar(
    "solo_write_batch", default=None
)


def migrations() -> list[tuple[int, Path]]:
    found = []
    for path in MIGRATIONS_DIR.iterdir():
        match = MIGRATION_RE.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    found.sort()
    numbers = [number for number, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations are not numbered 1..n without gaps: {numbers}")
    return found


def schema_version() -> int:
    return len(migrations())


async def _on_thread(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(*args)` on the connection's own thread: one hop, whatever `fn` does there.

    aiosqlite has no public call for this (`_execute` is what its own methods use); keeping it in
    this one function leaves a single place to change if it ever moves."""
    result: T = await conn._execute(fn, *args)  # type: ignore[no-untyped-call]
    return result


async def run_sync(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    """`fn(raw_connection, *args)` on the thread of `conn` (a transaction's, from
    `Database.transaction`): several statements in one hop instead of one hop each. Inside a
    batch the owner's calls run on the event loop's thread, and so does this one."""
    return await _on_thread(conn, fn, conn._conn, *args)


def _execute(raw: sqlite3.Connection, *, sql: str, params: Params) -> int:
    return raw.execute(sql, params).lastrowid or 0


def _executemany(raw: sqlite3.Connection, *, sql: str, rows: list[Params]) -> None:
    raw.executemany(sql, rows)


def _fetchall(raw: sqlite3.Connection, sql: str, params: Params) -> list[sqlite3.Row]:
    return raw.execute(sql, params).fetchall()


def _fetchone(raw: sqlite3.Connection, sql: str, params: Params) -> sqlite3.Row | None:
    row: sqlite3.Row | None = raw.execute(sql, params).fetchone()
    return row


class _Pending:
    """One `Database.write` call waiting for the next group commit."""

    __slots__ = ("error", "fn", "future", "outcome")

    def __init__(self, fn: Callable[[sqlite3.Connection], Any], future: asyncio.Future[Any]):
        self.fn = fn
        self.future = future
        self.outcome: Any = None
        self.error: Exception | None = None


def _run_each(raw: sqlite3.Connection, batch: list[_Pending]) -> None:
    """Each function in its own savepoint: one that raises is undone alone, and told."""
    for item in batch:
        raw.execute("SAVEPOINT solo_item")
        try:
            item.outcome = item.fn(raw)
        except Exception as error:  # raised again to that caller alone
            if not raw.in_transaction:
                raise  # SQLite undid the whole transaction (disk full…): the batch failed
            raw.execute("ROLLBACK TO solo_item")
            item.error = error
        raw.execute("RELEASE solo_item")


def _commit_batch(raw: sqlite3.Connection, batch: list[_Pending]) -> None:
    """The whole batch in one `BEGIN IMMEDIATE … COMMIT` (runs on the writer thread)."""
    raw.execute("BEGIN IMMEDIATE")
    try:
        _run_each(raw, batch)
        raw.execute("COMMIT")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise


async def _configure(conn: aiosqlite.Connection) -> None:
    conn.row_factory = sqlite3.Row
    await conn.execute("PRAGMA busy_timeout = 5000")
    await conn.execute("PRAGMA foreign_keys = ON")


async def _rollback(conn: aiosqlite.Connection) -> None:
    """ROLLBACK, when there is anything to roll back: SQLite may have rolled back by itself (a
    full disk does that) or the BEGIN failed, and the error saying so would hide the one that
    matters."""
    try:
        await conn.execute("ROLLBACK")
    except sqlite3.OperationalError as error:
        if "no transaction is active" not in str(error):
            raise


class Database:
    def __init__(self, path: Path, readers: int = 2, *, checkpoints: bool = True) -> None:
        """`checkpoints=False` leaves checkpointing the WAL to another process (Litestream),
        which must then run: the WAL grows until it does."""
        self.path = path
        self._checkpoints = checkpoints
        self._reader_count = readers
        self._writer: _Writer | None = None
        self._readers: ReadPool[aiosqlite.Connection] = ReadPool()
        self._all_readers: list[aiosqlite.Connection] = []
        self._write_lock = asyncio.Lock()
        self._waiting: list[_Pending] = []
        self.writes_queued = 0  # group-commit writes queued so far: each one's place in line
        self._committer: asyncio.Task[None] | None = None
        # Rows changed by the open transaction, as (table, key), reported by the triggers of
        # `watch` on the writer thread; handed to the listeners once the transaction commits.
        self._changed: list[tuple[str, str, Any]] = []
        self._listeners: dict[str, list[tuple[frozenset[str], ChangeListener]]] = {}
        self._versions: dict[str, int] = {}
        # How many committed transactions changed rows (a claim finding no job changes none):
        # what was read before the number moved may be out of date (`solo.edge.page_cache`).
        self.writes = 0
        self._total_changes = 0  # the writer's count of changed rows at the last commit

    async def open(self, *, create: bool = False, readonly: bool = False) -> None:
        """Open the file (creating it only when `create`) and bring the schema up to date.

        `readonly` is for commands that only look: no writer, and no migration either, so the
        schema must already be this version's."""
        if not create and not self.path.is_file():
            raise SetupError(f"no Solo instance at {self.path.parent}: run `solo init` first")
        if readonly:
            await self._open_readers()
            try:
                await self._check_version()
            except BaseException:
                await self.close()
                raise
            return
        fresh = create and not self.path.exists()
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = _connect_writer(self.path)
        await writer
        try:
            if fresh:
                # Pages freed by deletions (retention) can go back to the file system with
                # `PRAGMA incremental_vacuum`, never a whole VACUUM; set before any table.
                await writer.execute("PRAGMA auto_vacuum = INCREMENTAL")
            await _configure(writer)
            await writer.execute("PRAGMA journal_mode = WAL")
            await writer.execute("PRAGMA synchronous = FULL")
            if not self._checkpoints:
                # Only the writer commits, so only its automatic checkpoints need turning off.
                await writer.execute("PRAGMA wal_autocheckpoint = 0")
            await migrate(writer, self.path)
            await _on_thread(writer, fulltext.install, writer._conn)
        except sqlite3.DatabaseError as error:
            await writer.close()
            raise SetupError(f"{self.path} is not a usable Solo database: {error}") from None
        except BaseException:
            await writer.close()
            raise
        self._writer = writer
        await self._open_readers()

    async def _open_readers(self) -> None:
        for _ in range(self._reader_count):
            reader = await aiosqlite.connect(
                f"file:{self.path}?mode=ro", uri=True, isolation_level=None
            )
            await _configure(reader)
            await reader.execute("PRAGMA query_only = ON")
            self._all_readers.append(reader)
            self._readers.put(reader)

    async def _check_version(self) -> None:
        try:
            version = int(await self.fetchval("PRAGMA user_version"))
        except sqlite3.DatabaseError as error:
            raise damaged(self.path, error) from None
        latest = schema_version()
        if version == 0:
            raise SetupError(f"{self.path} is not a Solo database yet: run `solo init` first")
        if version > latest:
            raise SetupError(
                f"{self.path} was written by a newer version of Solo (schema {version}; this"
                f" version knows up to {latest}): upgrade Solo"
            )
        if version < latest:
            raise SetupError(
                f"{self.path} was written by an older version of Solo (schema {version}; this"
                f" version has {latest}): `solo serve` upgrades it"
            )

    async def close(self) -> None:
        if self._committer is not None:
            await asyncio.gather(self._committer, return_exceptions=True)
        for reader in self._all_readers:
            await reader.close()
        self._all_readers.clear()
        self._readers = ReadPool()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[aiosqlite.Connection]:
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put(conn)

    def in_batch(self) -> bool:
        """Whether the current task has a write batch open (`batch`)."""
        return self._in_batch() is not None

    def _in_batch(self) -> aiosqlite.Connection | None:
        """The writer when the current task has a batch open (its reads must see its writes)."""
        batch = _batch.get()
        if batch is None or not batch.open or batch.owner is not asyncio.current_task():
            return None
        return self._writer

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        writer = self._in_batch()
        if writer is not None:
            return await _on_thread(writer, _fetchall, writer._conn, sql, params)
        async with self._reader() as conn:
            return await _on_thread(conn, _fetchall, conn._conn, sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        writer = self._in_batch()
        if writer is not None:
            return await _on_thread(writer, _fetchone, writer._conn, sql, params)
        async with self._reader() as conn:
            return await _on_thread(conn, _fetchone, conn._conn, sql, params)

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """`fn(connection)` on a read-only connection's thread: several reads in one hop."""
        writer = self._in_batch()
        if writer is not None:
            return await _on_thread(writer, fn, writer._conn)
        async with self._reader() as conn:
            return await _on_thread(conn, fn, conn._conn)

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The writer inside `BEGIN IMMEDIATE`; commits on success, rolls back on error."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        writer = self._in_batch()
        if writer is not None:
            async with self._savepoint(writer):
                yield writer
            return
        async with self._write_lock:
            conn = self._writer
            try:
                # Inside the try: a task cancelled while awaiting the BEGIN leaves it queued on
                # the writer thread, where it still runs; the ROLLBACK below, queued after it,
                # undoes it, or the next transaction would find one already open.
                await conn.execute("BEGIN IMMEDIATE")
                yield conn
            except BaseException:
                self._changed.clear()
                await _rollback(conn)
                raise
            await conn.execute("COMMIT")
            self._committed()

    @asynccontextmanager
    async def _savepoint(self, conn: aiosqlite.Connection) -> AsyncIterator[None]:
        """A nested transaction inside the open batch: undone alone when its block raises.

        Its statements go to the connection itself: inside a batch, its owner's calls run on
        this thread anyway (`_Writer`)."""
        raw = conn._conn
        raw.execute("SAVEPOINT solo_nested")
        try:
            yield
        except BaseException:
            if not raw.in_transaction:
                raise  # SQLite undid the whole transaction (disk full…): the batch fails
            raw.execute("ROLLBACK TO solo_nested")
            raw.execute("RELEASE solo_nested")
            raise
        raw.execute("RELEASE solo_nested")

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[WriteBatch]:
        """One write transaction for everything the current task writes inside the block.

        Holds the writer throughout, so the block must not wait on the network. Inside it, the
        task's `transaction()` and `write()` calls are savepoints of this transaction and its
        reads go to the writer. On leaving the block, one COMMIT (one fsync for the batch),
        then the `after_commit` callbacks; an exception rolls everything back and drops them.
        """
        if self._writer is None:
            raise RuntimeError("database is not open")
        batch = WriteBatch(asyncio.current_task(), self._writer._conn)
        async with self._write_lock:
            conn = self._writer
            token = _batch.set(batch)
            try:
                await conn.execute("BEGIN IMMEDIATE")
                conn.direct = batch.owner
                try:
                    yield batch
                finally:
                    conn.direct = None
                await conn.execute("COMMIT")
            except BaseException:
                self._changed.clear()
                await _rollback(conn)
                raise
            finally:
                batch.open = False
                _batch.reset(token)
            self._committed()
        for callback in batch.after.values():
            try:
                await callback()
            except Exception:  # the batch is committed: one listener's bug must not undo it
                log.exception("after a committed batch")

    def after_commit(self, key: Any, callback: AfterCommit) -> bool:
        """Inside a batch: call `callback()` once the batch commits (once per `key`) and
        return True. Outside one: False, and the caller does the work now."""
        batch = _batch.get()
        if batch is None or not batch.open or batch.owner is not asyncio.current_task():
            return False
        batch.after.setdefault(key, callback)
        return True

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(connection)` inside a write transaction on the writer thread; its result.

        Calls made while a commit is under way wait and then share the next transaction (group
        commit): each runs in its own savepoint, so an exception undoes that call's changes and
        is raised to its caller alone. Whatever the others did returns only once committed. If
        the commit itself fails, each call is tried again in its own transaction, so a caller
        sees only its own failure. `fn` must not block for long: it holds the writer.
        """
        if self._writer is None:
            raise RuntimeError("database is not open")
        writer = self._in_batch()
        if writer is not None:
            async with self._savepoint(writer):
                return await _on_thread(writer, fn, writer._conn)
        result: T = await self._queue(fn)
        return result

    def write_soon(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """`write(fn)` started now, as a future of its result: for a caller that shares the
        outcome among several waiters, with no task of its own to carry it (a viral post's
        first contacts each store an actor). Cancelling the future does not undo the write.

        Writes queued this way commit in the order queued: one queued later (a higher
        `writes_queued` just after it) commits in the same transaction or a later one."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        writer = self._in_batch()
        if writer is None:
            return self._queue(fn)
        # The batch's owner: a savepoint of its transaction, run now (as `write` would, on
        # this thread: see `_savepoint`).
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        raw = writer._conn
        raw.execute("SAVEPOINT solo_nested")
        try:
            result = fn(raw)
        except Exception as error:
            if not raw.in_transaction:
                raise  # SQLite undid the whole transaction (disk full…): the batch fails
            raw.execute("ROLLBACK TO solo_nested")
            raw.execute("RELEASE solo_nested")
            future.set_exception(error)
        else:
            raw.execute("RELEASE solo_nested")
            future.set_result(result)
        return future

    def _queue(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Queue `fn` for the next group commit; the future of its result."""
        loop = asyncio.get_running_loop()
        item = _Pending(fn, loop.create_future())
        self._waiting.append(item)
        self.writes_queued += 1
        if self._committer is None:
            self._committer = loop.create_task(self._commit_waiting(), name="solo-db-commit")
        return item.future

    async def _commit_waiting(self) -> None:
        batch: list[_Pending] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                async with self._write_lock:
                    assert self._writer is not None
                    conn = self._writer
                    try:
                        await _on_thread(conn, _commit_batch, conn._conn, batch)
                    except sqlite3.Error:
                        # The transaction as a whole failed (busy, disk full…): try each alone,
                        # so that one caller's failure is not everyone's.
                        self._changed.clear()
                        for item in batch:
                            item.error = None
                            try:
                                await _on_thread(conn, _commit_batch, conn._conn, [item])
                            except sqlite3.Error as error:
                                self._changed.clear()
                                item.error = error
                            else:
                                self._committed()
                    else:
                        self._committed()
                for item in batch:
                    if item.future.done():  # the caller went away; its write stands
                        continue
                    if item.error is not None:
                        item.future.set_exception(item.error)
                    else:
                        item.future.set_result(item.outcome)
        finally:
            self._committer = None
            for item in (*batch, *self._waiting):  # cancelled (shutdown): nobody waits forever
                if not item.future.done():
                    item.future.cancel()

    async def watch(
        self, table: str, key: str, listener: ChangeListener, events: Iterable[str] = WATCHED
    ) -> None:
        """Call `listener(keys)` after each commit that changed rows of `table`, with the
        values of column `key` of those rows (before and after the change); `events` narrows
        the changes heard of to some of INSERT, UPDATE and DELETE.

        Temporary triggers on the writer connection report the changes, so only writes made
        through this `Database` are seen, not another process's. `version(table)` counts them.
        """
        if not (_IDENTIFIER.match(table) and _IDENTIFIER.match(key)):
            raise ValueError(f"not a plain identifier: {table}.{key}")
        wanted = frozenset(events)
        if not wanted or not wanted <= set(WATCHED):
            raise ValueError(f"events must be some of {WATCHED}: {sorted(wanted)}")
        if table not in self._listeners:
            self._listeners[table] = []
            self._versions.setdefault(table, 0)
            async with self._write_lock:
                assert self._writer is not None
                await self._writer.create_function(
                    "solo_changed", 3, self._record_change, deterministic=False
                )
                for event, rows in (
                    ("INSERT", ("NEW",)),
                    ("UPDATE", ("OLD", "NEW")),
                    ("DELETE", ("OLD",)),
                ):
                    calls = " ".join(
                        f"SELECT solo_changed('{table}', '{event}', {r}.{key});" for r in rows
                    )
                    await self._writer.execute(
                        f"CREATE TEMP TRIGGER IF NOT EXISTS solo_watch_{table}_{event.lower()}"
                        f" AFTER {event} ON main.{table} BEGIN {calls} END"
                    )
        self._listeners[table].append((wanted, listener))

    def version(self, table: str) -> int:
        """How many committed transactions changed a watched `table` so far."""
        return self._versions.get(table, 0)

    def _record_change(self, table: str, event: str, key: Any) -> None:
        self._changed.append((table, event, key))  # on the writer thread, inside a trigger

    def _committed(self) -> None:
        if self._writer is not None:  # the writer thread is idle: the write lock is held
            total = self._writer._conn.total_changes
            if total != self._total_changes:
                self._total_changes = total
                self.writes += 1
        if not self._changed:
            return
        changed: dict[str, list[tuple[str, Any]]] = {}
        for table, event, key in self._changed:
            changed.setdefault(table, []).append((event, key))
        self._changed.clear()
        for table, changes in changed.items():
            self._versions[table] = self._versions.get(table, 0) + 1
            for wanted, listener in self._listeners.get(table, ()):
                keys = frozenset(key for event, key in changes if event in wanted)
                if keys:
                    listener(keys)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement, committed with the writes waiting beside it (`write`); returns the
        last row id.

        Inside a batch, a statement of the batch (one statement needs no savepoint)."""
        writer = self._in_batch()
        if writer is not None:
            return writer._conn.execute(sql, params).lastrowid or 0
        rowid: int = await self._queue(functools.partial(_execute, sql=sql, params=params))
        return rowid

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """One statement for each of `rows`, committed together (with the writes waiting
        beside them, as `execute`)."""
        writer = self._in_batch()
        if writer is not None:
            writer._conn.executemany(sql, rows)
            return
        await self._queue(functools.partial(_executemany, sql=sql, rows=list(rows)))


# What reading a damaged database raises: SQLite's own complaints, and stored values that no
# longer decode (JSON, text, numbers, keys) or rows that lack what every row has.
DAMAGE: tuple[type[Exception], ...] = (
    sqlite3.DatabaseError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
)


def damaged(path: Path, error: Exception) -> SetupError:
    """The one line that says a database cannot be read, and what to do about it."""
    detail = str(error) or type(error).__name__
    return SetupError(
        f"{path} is damaged ({type(error).__name__}: {detail}): restore it from a backup"
        " (see the README)"
    )


async def migrate(conn: aiosqlite.Connection, path: Path) -> int:
    """Apply the migrations newer than the file's `user_version`; returns the version reached."""
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    known = migrations()
    latest = len(known)
    if current > latest:
        raise SetupError(
            f"{path} was written by a newer version of Solo (schema {current}; this version "
            f"knows up to {latest}): upgrade Solo"
        )
    if current == latest:
        return latest
    # A migration that rebuilds a table (create, copy, drop, rename) must run with foreign keys
    # off, or dropping a parent table would cascade into its children; the keys are checked
    # before each commit instead (SQLite's "other kinds of table schema changes").
    await conn.execute("PRAGMA foreign_keys = OFF")
    try:
        for number, migration in known[current:]:
            script = migration.read_text(encoding="utf-8")
            try:
                await conn.executescript(f"BEGIN IMMEDIATE;\n{script}")
                async with conn.execute("PRAGMA foreign_key_check") as cursor:
                    broken = await cursor.fetchone()
                if broken is not None:
                    raise SetupError(
                        f"migration {migration.name} left a broken reference in {broken[0]}"
                    )
                # execute, not executescript: that would commit first, in Python's legacy mode
                await conn.execute(f"PRAGMA user_version = {number}")
                await conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    await conn.rollback()
                raise
    finally:
        await conn.execute("PRAGMA foreign_keys = ON")
    return latest
