"""Ids that apps see are never handed out twice (Mastodon's never are): a notification, an
upload or an account deleted leaves its id unused, and the in-memory notification feed lets go
of entries however their rows went."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx

from solo.db import Database, migrations
from solo.events import Event
from solo.store import actors as actor_store
from tests.fleet import eventually, fleet_of
from tests.ingress_helpers import FakeServer, activity, deliver
from tests.test_api_media import upload
from tests.test_api_statuses import user_token
from tests.test_media_attachments import png


async def test_a_notification_after_a_deleted_one_gets_a_new_id_and_is_streamed(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        carol = FakeServer(fleet, "https://carol.example").actor("https://carol.example/u/carol")
        auth = await user_token(alice.client)
        posts = []
        for text in ("kept", "deleted", "later"):
            made = await alice.client.post("/api/v1/statuses", json={"status": text}, headers=auth)
            posts.append(made.json())

        async def favourite(post: dict[str, str]) -> str:
            assert (await deliver(alice, carol, activity("Like", carol, post["uri"]))).applied
            listed = await alice.client.get("/api/v1/notifications", headers=auth)
            return str(listed.json()[0]["id"])

        first = await favourite(posts[0])
        newest = await favourite(posts[1])
        # Deleting the post takes its notification with it (a foreign-key cascade).
        deleted = await alice.client.delete(f"/api/v1/statuses/{posts[1]['id']}", headers=auth)
        assert deleted.status_code == 200
        feeds = alice.federation.feeds
        assert feeds.notifications.ids() == [int(first)]
        await eventually(lambda: _is(feeds.unread, 1), what="the unread count to drop")

        stream = alice.federation.events.subscribe()
        try:
            later = await favourite(posts[2])
            assert int(later) > int(newest)
            heard: list[Event] = []
            while not stream.empty():
                heard.append(stream.get_nowait())
            assert [e.payload["id"] for e in heard if e.kind == "notification"] == [int(later)]
        finally:
            alice.federation.events.unsubscribe(stream)
        listed = await alice.client.get("/api/v1/notifications", headers=auth)
        assert [n["id"] for n in listed.json()] == [later, first]
        assert feeds.notifications.ids() == [int(later), int(first)]


async def _is(value: int, expected: int) -> bool:
    return value == expected


async def test_dismissed_and_cleared_notifications_leave_their_ids_unused(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        server = FakeServer(fleet, "https://carol.example")
        auth = await user_token(alice.client)
        made = await alice.client.post("/api/v1/statuses", json={"status": "x"}, headers=auth)
        seen: list[int] = []
        for n, dismiss in enumerate(["dismiss", "clear", None]):
            fan = server.actor(f"https://carol.example/u/fan{n}")
            assert (await deliver(alice, fan, activity("Like", fan, made.json()["uri"]))).applied
            listed = (await alice.client.get("/api/v1/notifications", headers=auth)).json()
            seen.append(int(listed[0]["id"]))
            if dismiss == "dismiss":
                path = f"/api/v1/notifications/{listed[0]['id']}/dismiss"
            elif dismiss == "clear":
                path = "/api/v1/notifications/clear"
            else:
                break
            assert (await alice.client.post(path, headers=auth)).status_code == 200
            assert alice.federation.feeds.notifications.ids() == []
        assert seen == sorted(set(seen)), seen


async def test_uploads_and_accounts_never_take_a_deleted_id(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        client: httpx.AsyncClient = alice.client
        auth = await user_token(client)
        first = (await upload(client, auth, png())).json()
        posted = await client.post(
            "/api/v1/statuses", json={"status": "", "media_ids": [first["id"]]}, headers=auth
        )
        await client.delete(f"/api/v1/statuses/{posted.json()['id']}", headers=auth)
        assert await alice.federation.db.fetchval("SELECT COUNT(*) FROM media") == 0
        second = (await upload(client, auth, png())).json()
        assert int(second["id"]) > int(first["id"])

        server = FakeServer(fleet, "https://carol.example")
        resolver = alice.federation.resolver
        carol = await resolver.actor(server.actor("https://carol.example/u/carol").actor)
        async with alice.federation.db.transaction() as conn:
            assert await actor_store.delete_actor(conn, carol.ap_id)
        dave = await resolver.actor(server.actor("https://carol.example/u/dave").actor)
        assert carol.id is not None and dave.id is not None and dave.id > carol.id
        gone = await client.get(f"/api/v1/accounts/{carol.id}", headers=auth)
        assert gone.status_code == 404


async def test_the_migration_keeps_rows_ids_and_references(tmp_path: Path) -> None:
    """A database from before the rebuild: nothing cascades away, every id stays."""
    path = tmp_path / "solo.db"
    every = migrations()
    rebuild = next(n for n, path in every if "AUTOINCREMENT" in path.read_text())
    older = [(n, path) for n, path in every if n < rebuild]
    raw = sqlite3.connect(path, isolation_level=None)
    for number, migration in older:
        raw.executescript(migration.read_text() + f"\nPRAGMA user_version = {number};")
    now = time.time()
    raw.execute(
        "INSERT INTO actors (id, ap_id, username, domain, inbox, raw, fetched_at)"
        " VALUES (7, 'https://x.example/u/z', 'z', 'x.example', 'https://x.example/i', '{}', ?)",
        (now,),
    )
    raw.execute(
        "INSERT INTO statuses (id, ap_id, actor_id, visibility, published_at)"
        " VALUES (99, 'https://x.example/s/1', 7, 'public', ?)",
        (now,),
    )
    raw.execute(
        "INSERT INTO notifications (id, type, actor_id, status_id, created_at)"
        " VALUES (12, 'favourite', 7, 99, ?)",
        (now,),
    )
    raw.execute(
        "INSERT INTO media (id, status_id, local, kind, media_type, created_at)"
        " VALUES (5, 99, 0, 'image', 'image/png', ?)",
        (now,),
    )
    raw.execute(
        "INSERT INTO follows (direction, actor_id, ap_id, state, created_at)"
        " VALUES ('in', 7, 'https://x.example/f', 'accepted', ?)",
        (now,),
    )
    raw.close()
    db = Database(path)
    await db.open()
    try:
        assert await db.fetchval("SELECT status_id FROM notifications WHERE id = 12") == 99
        assert await db.fetchval("SELECT actor_id FROM statuses WHERE id = 99") == 7
        assert await db.fetchval("SELECT status_id FROM media WHERE id = 5") == 99
        assert await db.fetchval("SELECT COUNT(*) FROM follows WHERE actor_id = 7") == 1
        sequence = dict(await db.fetchall("SELECT name, seq FROM sqlite_sequence"))
        rebuilt = {name: sequence.get(name) for name in ("actors", "notifications", "media")}
        assert rebuilt == {"actors": 7, "notifications": 12, "media": 5}
        async with db.transaction() as conn:
            await conn.execute("DELETE FROM actors WHERE id = 7")  # cascades still work
        assert await db.fetchval("SELECT COUNT(*) FROM notifications") == 0
        assert await db.fetchval("SELECT COUNT(*) FROM statuses") == 0
    finally:
        await db.close()
