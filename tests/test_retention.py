"""Retention (issue 15, item 8): remote posts nobody here touched go once older than
`retention_days`, with their cached files, in the background or at once with `solo prune`;
whatever we touched stays, however old."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from pathlib import Path

import pytest
from starlette.applications import Starlette

from solo import urls
from solo.actions import retention
from solo.app import create_app
from solo.cli import main
from solo.config import Settings
from solo.errors import SetupError
from solo.federation.context import Federation
from solo.instance import initialise
from solo.store import interactions, notifications, pins
from solo.store.statuses import NewStatus, insert_status
from tests.conftest import initialise_fast, make_settings
from tests.test_web_pages import federation_of

DAY = 86_400.0
ZED = "https://remote.test/users/zed"


class World:
    """Remote posts by zed, of any age, and what we do with them."""

    def __init__(self, federation: Federation) -> None:
        self.federation = federation
        self.zed = 0
        self.serial = 0

    async def setup(self) -> None:
        async with self.federation.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO actors (ap_id, username, domain, inbox, raw, fetched_at)"
                " VALUES (?, 'zed', 'remote.test', ?, '{}', ?)",
                (ZED, f"{ZED}/inbox", time.time()),
            )
            self.zed = int(cursor.lastrowid or 0)

    async def post(
        self, days_old: float, *, ours: bool = False, media: str | None = None, **values: object
    ) -> int:
        self.serial += 1
        at = time.time() - days_old * DAY
        status_id = self.federation.ids.next(at=at)
        ap_id = (
            urls.status(self.federation.settings, status_id)
            if ours
            else f"{ZED}/statuses/{self.serial}"
        )
        row = NewStatus(
            id=status_id,
            ap_id=ap_id,
            actor_id=None if ours else self.zed,
            visibility=values.pop("visibility", "public"),  # type: ignore[arg-type]
            content_html=f"<p>heron number {self.serial}</p>",
            published_at=at,
            **values,  # type: ignore[arg-type]
        )
        async with self.federation.db.transaction() as conn:
            stored = await insert_status(conn, row)
            assert stored is not None
            if media is not None:
                await conn.execute(
                    "INSERT INTO media (status_id, local, kind, media_type, remote_url,"
                    " created_at) VALUES (?, 0, 'image', 'image/png', ?, ?)",
                    (stored, media, at),
                )
        return stored

    async def cache(self, url: str, key: str, size: int) -> None:
        await self.federation.storage.put(key, b"x" * size, "image/png")
        await self.federation.db.execute(
            "INSERT INTO media_cache (url, storage_key, media_type, size, fetched_at,"
            " last_used_at) VALUES (?, ?, 'image/png', ?, ?, ?)",
            (url, key, size, time.time(), time.time()),
        )


async def remaining(federation: Federation) -> set[int]:
    rows = await federation.db.fetchall("SELECT id FROM statuses")
    return {int(row[0]) for row in rows}


async def test_untouched_old_remote_posts_go_and_touched_ones_stay(app: Starlette) -> None:
    federation = federation_of(app)
    world = World(federation)
    await world.setup()
    mine = await world.post(200, ours=True)
    gone = {
        "untouched": await world.post(100, media="https://remote.test/a.png"),
        "old boost of an old post": await world.post(120),
    }
    gone["its boost"] = await world.post(95, reblog_of_id=gone["old boost of an old post"])
    kept = {
        "young": await world.post(10),
        "favourited": await world.post(100),
        "bookmarked": await world.post(100),
        "notified": await world.post(100),
        "pinned": await world.post(100),
        "direct": await world.post(100, visibility="direct"),
        "answering ours": await world.post(100, in_reply_to_id=mine),
        "boosting ours": await world.post(100, reblog_of_id=mine),
        "answered by us": await world.post(100),
        "boosted lately": await world.post(100),
        "bookmarked, with a file": await world.post(100, media="https://remote.test/shared.png"),
    }
    gone["sharing with a kept post"] = await world.post(100, media="https://remote.test/shared.png")
    await world.post(1, ours=True, in_reply_to_id=kept["answered by us"])
    kept["young boost"] = await world.post(2, reblog_of_id=kept["boosted lately"])
    async with federation.db.transaction() as conn:
        await interactions.add(conn, "like", actor_id=None, status_id=kept["favourited"])
        await interactions.add(conn, "bookmark", actor_id=None, status_id=kept["bookmarked"])
        await interactions.add(
            conn, "bookmark", actor_id=None, status_id=kept["bookmarked, with a file"]
        )
        await notifications.add(conn, "mention", world.zed, kept["notified"])
        await pins.add(conn, kept["pinned"])
    await world.cache("https://remote.test/a.png", "cache/a", 1000)
    await world.cache("https://remote.test/shared.png", "cache/shared", 500)
    await federation.feeds.rebuild()
    before = await remaining(federation)
    assert set(gone.values()) | set(kept.values()) <= before

    assert await retention.step(federation) == retention.IDLE
    after = await remaining(federation)
    assert not set(gone.values()) & after, [k for k, v in gone.items() if v in after]
    assert set(kept.values()) <= after, [k for k, v in kept.items() if v not in after]
    assert mine in after
    # The untouched post's file went; the file a kept post still shows stayed.
    cached = await federation.db.fetchall("SELECT url FROM media_cache")
    assert [row[0] for row in cached] == ["https://remote.test/shared.png"]
    assert await federation.storage.get("cache/a") is None
    assert await federation.storage.get("cache/shared") is not None
    # Nothing is left in the search index, or the feeds, for what went.
    found = await federation.db.fetchall("SELECT rowid FROM status_search")
    assert not {int(row[0]) for row in found} & set(gone.values())
    for feed in federation.feeds.timelines.values():
        assert not set(gone.values()) & set(feed.page(None, 1000) or [])
    # A second round finds nothing more.
    assert await retention.step(federation) == retention.IDLE
    assert await remaining(federation) == after


@pytest.fixture
def keep_all(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", retention_days=0)


async def test_retention_zero_keeps_everything(
    keep_all: Settings, template_root: Path, tmp_path: Path
) -> None:
    await initialise_fast(keep_all, template_root)
    app = create_app(keep_all)
    async with app.router.lifespan_context(app):
        federation = federation_of(app)
        world = World(federation)
        await world.setup()
        old = await world.post(3650)
        assert await retention.step(federation) == retention.IDLE
        assert old in await remaining(federation)


def test_solo_prune_removes_them_now_with_a_count(
    settings: Settings, template_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def fill() -> tuple[list[int], int]:
        await initialise_fast(settings, template_root)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            world = World(federation_of(app))
            await world.setup()
            old = [await world.post(40 + n) for n in range(1205)]  # three batches
            return old, await world.post(5)

    old, young = asyncio.run(fill())
    assert main(["--data-dir", str(settings.data_dir), "prune", "--days", "30"]) == 0
    out = capsys.readouterr().out
    assert "Removed 1,205 remote posts older than 30 days" in out
    shrunk = re.search(r"the database file shrank by ([\d.]+) MB", out)
    assert shrunk is not None and float(shrunk.group(1)) > 0
    with sqlite3.connect(settings.db_path) as conn:
        ids = {row[0] for row in conn.execute("SELECT id FROM statuses")}
        # Every page the prune freed went back to the file system, not just the first one.
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    assert young in ids and not ids & set(old)
    # Nothing older is left: a second run says so.
    assert main(["--data-dir", str(settings.data_dir), "prune", "--days", "30"]) == 0
    assert "Removed 0 remote posts" in capsys.readouterr().out


def test_prune_refuses_when_retention_is_off(
    keep_all: Settings, template_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(initialise_fast(keep_all, template_root))
    (keep_all.data_dir / "solo.toml").write_text("retention_days = 0\n")
    assert main(["--data-dir", str(keep_all.data_dir), "prune"]) != 0
    assert "give --days N" in capsys.readouterr().err


def test_retention_days_out_of_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="retention_days -1"):
        make_settings(tmp_path, retention_days=-1)


async def test_a_new_database_gives_freed_pages_back_incrementally(settings: Settings) -> None:
    await initialise(settings, "correct horse battery")
    with sqlite3.connect(settings.db_path) as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental


async def test_jobs_done_a_day_ago_go_whatever_retention_says(
    keep_all: Settings, template_root: Path
) -> None:
    """Done jobs are history (a whole incoming activity each): the background round removes
    those done more than a day ago, in batches, even with retention_days = 0; jobs still
    waiting, dead ones and recent ones stay."""
    await initialise_fast(keep_all, template_root)
    app = create_app(keep_all)
    async with app.router.lifespan_context(app):
        federation = federation_of(app)
        now = time.time()
        rows = [
            ("ingress", "done", now - 2 * DAY),
            ("push", "done", now - 3 * DAY),
            ("ingress", "done", now - 90 * DAY),
            ("ingress", "done", now - 3600),  # done an hour ago: kept
            ("push", "dead", now - 9 * DAY),  # kept to tell why it failed
            ("push", "retrying", now - 2 * DAY),  # still waiting
        ]
        async with federation.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO jobs (queue, state, payload, next_attempt_at, created_at,"
                " updated_at) VALUES (?, ?, '{}', ?, ?, ?)",
                [(queue, state, at + 10 * DAY, at, at) for queue, state, at in rows],
            )
        assert await retention.step(federation) == retention.IDLE
        left = await federation.db.fetchall("SELECT queue, state FROM jobs ORDER BY id")
        assert [tuple(row) for row in left] == [
            ("ingress", "done"),
            ("push", "dead"),
            ("push", "retrying"),
        ]

        # Many of them go a batch at a time, each its own transaction.
        many = retention.JOBS_BATCH * 2 + 7
        async with federation.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO jobs (queue, state, payload, next_attempt_at, created_at,"
                " updated_at) VALUES ('ingress', 'done', '{}', ?, ?, ?)",
                [(now - 5 * DAY,) * 3] * many,
            )
        assert await retention.prune_done_jobs(federation.db, batches=1) == retention.JOBS_BATCH
        assert await retention.prune_done_jobs(federation.db) == many - retention.JOBS_BATCH
        assert await federation.db.fetchval("SELECT COUNT(*) FROM jobs") == 3


async def test_ids_of_incoming_activities_are_forgotten_after_a_month(
    keep_all: Settings, template_root: Path
) -> None:
    """The ids that drop a sender's retries go once older than SEEN_KEPT_DAYS, oldest first
    and never past a young one; our own activities (their bodies are delivered) stay."""
    await initialise_fast(keep_all, template_root)
    app = create_app(keep_all)
    async with app.router.lifespan_context(app):
        federation = federation_of(app)
        now = time.time()
        month = retention.SEEN_KEPT_DAYS * DAY
        rows = [
            ("https://a.test/likes/1", 0, now - month - 5 * DAY),
            ("https://solo.test/activities/1", 1, now - month - 4 * DAY),  # ours: stays
            ("https://a.test/likes/2", 0, now - month - 3 * DAY),
            ("https://a.test/likes/3", 0, now - DAY),  # young: stays
            ("https://a.test/likes/4", 0, now - month - 2 * DAY),  # behind a young one: next run
        ]
        async with federation.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO activities (ap_id, type, local, created_at) VALUES (?, 'Like', ?, ?)",
                rows,
            )
        assert await retention.step(federation) == retention.IDLE
        left = await federation.db.fetchall("SELECT ap_id FROM activities ORDER BY id")
        assert [row[0] for row in left if "a.test" in row[0] or "solo.test/act" in row[0]] == [
            "https://solo.test/activities/1",
            "https://a.test/likes/3",
            "https://a.test/likes/4",
        ]
