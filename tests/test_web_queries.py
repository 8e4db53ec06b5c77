"""Reading costs a fixed number of SQL statements per page, whatever the page's size
(DESIGN.md, Reading): a page of 5 and a page of 40 run the same statements."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette

from solo import urls
from solo.db import Database
from solo.store import interactions, notifications
from solo.store.statuses import NewStatus, insert_status
from tests.test_login import login
from tests.test_web_pages import cards, federation_of

ZED = "https://remote.test/users/zed"


# What the server's own loops ask on their schedule, whatever page is being read: the CSV
# importer looking for work each second, the Server page's sampler each minute.
BACKGROUND = ("FROM csv_imports", "server_samples")


@asynccontextmanager
async def statements(db: Database) -> AsyncIterator[list[str]]:
    """Every SQL statement run on the database's connections inside the block, less the
    background loops' (BACKGROUND), which may or may not fall inside it."""
    seen: list[str] = []

    def keep(sql: str) -> None:
        if not any(mark in sql for mark in BACKGROUND):
            seen.append(sql)

    connections = [db._writer, *db._all_readers]
    for conn in connections:
        assert conn is not None
        await conn.set_trace_callback(keep)
    try:
        yield seen
    finally:
        for conn in connections:
            assert conn is not None
            await conn.set_trace_callback(None)


class Builder:
    """Rows written straight into the store: many kinds of entry, quickly."""

    def __init__(self, app: Starlette) -> None:
        self.federation = federation_of(app)
        self.settings = self.federation.settings
        self.zed = 0
        self.now = time.time() - 10_000

    async def setup(self) -> None:
        async with self.federation.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO actors (ap_id, username, domain, display_name, inbox, raw,"
                " fetched_at) VALUES (?, 'zed', 'remote.test', 'Zed', ?, '{}', ?)",
                (ZED, f"{ZED}/inbox", time.time()),
            )
            self.zed = int(cursor.lastrowid or 0)
            await conn.execute(
                "INSERT INTO follows (direction, actor_id, ap_id, state, created_at)"
                " VALUES ('out', ?, 'https://solo.test/follow/1', 'accepted', 0)",
                (self.zed,),
            )

    async def add(self, *, remote: bool, **values: object) -> int:
        self.now += 1
        status_id = self.federation.ids.next(at=self.now)
        ap_id = f"{ZED}/statuses/{status_id}" if remote else urls.status(self.settings, status_id)
        fields: dict[str, object] = {"content_html": f"<p>Entry {status_id}</p>", **values}
        row = NewStatus(
            id=status_id,
            ap_id=ap_id,
            actor_id=self.zed if remote else None,
            visibility="public",
            published_at=self.now,
            **fields,  # type: ignore[arg-type]
        )
        async with self.federation.db.transaction() as conn:
            stored = await insert_status(conn, row)
        assert stored is not None
        return stored

    async def interact(self, kind: interactions.Kind, status_id: int, *, ours: bool) -> None:
        async with self.federation.db.transaction() as conn:
            await interactions.add(
                conn, kind, actor_id=None if ours else self.zed, status_id=status_id
            )


async def populate(app: Starlette) -> None:
    """Old posts to boost, then 60 entries that cycle through every kind a card can show."""
    build = Builder(app)
    await build.setup()
    old = [await build.add(remote=True) for _ in range(30)]
    mine = [await build.add(remote=False) for _ in range(45)]  # pushes the old out of reach
    for n in range(60):
        kind = n % 5
        if kind == 0:  # their boost of their old post
            entry = await build.add(remote=True, reblog_of_id=old[n // 5], content_html="")
            await build.interact("bookmark", old[n // 5], ours=True)
        elif kind == 1:  # our boost of their old post
            entry = await build.add(remote=False, reblog_of_id=old[15 + n // 5], content_html="")
            await build.interact("announce", old[15 + n // 5], ours=True)
        elif kind == 2:  # their reply to our post, which they favourite and we bookmark
            parent = mine[n // 5]
            entry = await build.add(
                remote=True, in_reply_to_id=parent, in_reply_to_ap_id=f"x{parent}"
            )
            await build.interact("like", parent, ours=False)
            await build.interact("bookmark", entry, ours=True)
        elif kind == 3:  # our post with a content warning, which we bookmark
            entry = await build.add(remote=False, summary="A warning", sensitive=True)
            await build.interact("bookmark", entry, ours=True)
        else:  # their post, which we favourite and bookmark
            entry = await build.add(remote=True)
            await build.interact("like", entry, ours=True)
            await build.interact("bookmark", entry, ours=True)
        kind_of = ("favourite", "reblog", "mention", "follow")[n % 4]
        async with build.federation.db.transaction() as conn:
            await notifications.add(conn, kind_of, build.zed, None if n % 4 == 3 else entry)
    await build.federation.feeds.rebuild()


@pytest.fixture
async def populated(app: Starlette, client: httpx.AsyncClient) -> httpx.AsyncClient:
    await populate(app)
    assert (await login(client)).status_code == 303
    return client


@pytest.mark.parametrize(
    "path", ["/", "/federated", "/local", "/@alice", "/bookmarks", "/notifications"]
)
async def test_a_page_costs_the_same_whatever_its_size(
    populated: httpx.AsyncClient, app: Starlette, path: str
) -> None:
    db = federation_of(app).db
    await populated.get(path)  # the first visit of /notifications marks them read: a write
    counted = {}
    pages = {}
    for limit in (5, 40):
        async with statements(db) as seen:
            response = await populated.get(f"{path}?limit={limit}")
        assert response.status_code == 200
        counted[limit] = seen
        pages[limit] = response.text
    if path != "/notifications":
        assert len(cards(pages[5])) == 5
        assert len(cards(pages[40])) == 40
    assert len(counted[5]) == len(counted[40]), (counted[5], counted[40])
    # A profile also reads its pins and featured hashtags, and the notifications their ids (from
    # SQLite, where what is suppressed is decided) and their held-back requests; every page reads
    # its link cards and attachments.
    budget = {"/@alice": 12, "/notifications": 12}.get(path, 10)
    assert len(counted[40]) <= budget
    if path == "/":
        # Both pages show every kind of card, so the equality above is not a coincidence.
        for text in ("Zed</a> boosted", "alice</a> boosted", "Replying to", "A warning"):
            assert text in pages[5] and text in pages[40], text


@pytest.mark.parametrize("logged_in", [False, True])
async def test_the_profile_never_reads_statuses_through_the_boost_index(
    app: Starlette, client: httpx.AsyncClient, logged_in: bool
) -> None:
    """Our profile (for a visitor and for us) asks SQLite only for plans that go straight to
    what they need: no scan of `statuses`, no walk of the boost index for `reblog_of_id IS NULL`
    (which read every remote post to count ours: 270 ms at 100,000)."""
    await populate(app)
    if logged_in:
        assert (await login(client)).status_code == 303
    db = federation_of(app).db
    async with statements(db) as seen:
        assert (await client.get("/@alice")).status_code == 200
    touching = [
        sql for sql in seen if "statuses" in sql and sql.lstrip().upper().startswith("SELECT")
    ]
    assert any("COUNT(*)" in sql for sql in touching), "the profile counted no posts"
    for sql in touching:
        plan = [row[3] for row in await db.fetchall(f"EXPLAIN QUERY PLAN {sql}")]
        for step in plan:
            assert not (step.startswith("SCAN statuses") and "INDEX" not in step), (sql, plan)
            if "statuses_reblog" in step:
                assert "reblog_of_id IS NULL" not in sql, (sql, plan)
