"""Activities captured from real servers (tests/fixtures/activities, byte for byte) through the
real inbox and ingress worker.

Each fixture's actor is served by a fake server on its own host, with a key generated here:
the signature covers the HTTP request, not the JSON, so the bodies stay as captured. Each test
has a fresh target instance, on the domain the fixtures address when they mention one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from solo.activitystreams import PUBLIC, id_of
from solo.app import create_app
from solo.db import Database
from solo.store import actors as actor_store
from solo.store import follows, statuses
from solo.store.follows import Direction
from solo.store.statuses import NewStatus, Status
from tests.conftest import initialise_fast, make_settings
from tests.fleet import Fleet, Node, eventually
from tests.ingress_helpers import (
    FakeServer,
    Outcome,
    Sender,
    deliver,
    notifications_of,
    post_signed,
)

ACTIVITIES = Path(__file__).parent / "fixtures" / "activities"
LAIN = "http://localtesting.pleroma.lol"  # the Pleroma fixtures' own instance and user
TESTING = "https://testing.pleroma.lol"


def fixture(name: str) -> bytes:
    return (ACTIVITIES / name).read_bytes()


def document(name: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(fixture(name))
    return parsed


@dataclass
class World:
    """A target instance and the fake servers of the fixtures' actors, on one fleet."""

    fleet: Fleet
    target: Node
    servers: dict[str, FakeServer] = field(default_factory=dict)
    senders: dict[str, Sender] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        return self.target.federation.db

    def server(self, url: str) -> FakeServer:
        """The fake server of `url`'s host (one per host: it serves http and https alike)."""
        parts = urlsplit(url)
        if parts.netloc not in self.servers:
            self.servers[parts.netloc] = FakeServer(self.fleet, f"{parts.scheme}://{parts.netloc}")
        return self.servers[parts.netloc]

    def actor(self, actor_id: str) -> Sender:
        if actor_id not in self.senders:
            self.senders[actor_id] = self.server(actor_id).actor(actor_id)
        return self.senders[actor_id]

    async def know(self, actor_id: str, *directions: Direction) -> int:
        """Store the actor (as a first signed request would), with accepted follows."""
        self.actor(actor_id)
        actor = await self.target.federation.resolver.actor(actor_id)
        assert actor.id is not None
        async with self.db.transaction() as conn:
            for direction in directions:
                await follows.put_follow(conn, direction, actor.id, f"{actor_id}#f", "accepted")
        return actor.id

    async def send(self, name: str, *, follow: bool = True) -> Outcome:
        body = fixture(name)
        actor_id = id_of(json.loads(body)["actor"])
        assert actor_id is not None
        if follow:
            await self.know(actor_id, "out")
        else:
            await self.know(actor_id)
        return await deliver(self.target, self.actor(actor_id), body)

    async def ours(self, ap_id: str) -> Status:
        """A post of ours, under the id the fixtures give it."""
        federation = self.target.federation
        row_id = federation.ids.next()
        async with self.db.transaction() as conn:
            await statuses.insert_status(
                conn,
                NewStatus(
                    id=row_id,
                    ap_id=ap_id,
                    actor_id=None,
                    visibility="public",
                    content_html="<p>ours</p>",
                    published_at=0,
                ),
            )
        found = await statuses.get_status(self.db, row_id)
        assert found is not None
        return found

    async def status(self, ap_id: str) -> Status | None:
        return await statuses.get_status_by_ap_id(self.db, ap_id)

    async def remote_statuses(self) -> int:
        return int(
            await self.db.fetchval("SELECT COUNT(*) FROM statuses WHERE actor_id IS NOT NULL")
        )


@asynccontextmanager
async def world(
    tmp_path: Path, template_root: Path, base_url: str = "https://solo.test", user: str = "alice"
) -> AsyncIterator[World]:
    parts = urlsplit(base_url)
    settings = make_settings(
        tmp_path / "target",
        domain=parts.netloc,
        scheme=parts.scheme,
        username=user,
        # The fixtures' servers are plain http, which only a test instance may fetch from.
        allow_private_addresses=True,
    )
    await initialise_fast(settings, template_root)
    fleet = Fleet()
    app = create_app(settings, transport=fleet)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        fleet.add(settings.domain, app)
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.base_url)
        )
        yield World(fleet, Node(settings, app, client))


@pytest.mark.parametrize(
    "relative", sorted(str(p.relative_to(ACTIVITIES)) for p in ACTIVITIES.glob("*/*.json"))
)
def test_every_copied_fixture_is_listed_with_its_digest(relative: str) -> None:
    sources = (ACTIVITIES / "SOURCES.md").read_text(encoding="utf-8")
    digest = hashlib.sha256((ACTIVITIES / relative).read_bytes()).hexdigest()
    line = next((line for line in sources.splitlines() if f"`{relative}`" in line), "")
    assert digest in line, relative


# --- One activity each: applied as a post, or refused ----------------------------------------

STORED = [
    # (fixture, type, visibility)
    ("mastodon/pleroma.mastodon-post-activity-contentmap.json", "Note", "public"),
    ("mastodon/gotosocial.samplenote.json", "Note", "unlisted"),
    ("mastodon/lemmy.activities.create_note.json", "Note", "unlisted"),
    ("mastodon/pleroma.mastodon-question-activity.json", "Question", "public"),
    ("mastodon/bonfire.mastodon.mastodon-post-activity-contentmaps.json", "Note", "public"),
    ("misskey/pleroma.tesla_mock.mk.absturztau.be-93e7nm8wqg-activity.json", "Note", "public"),
    ("friendica/lemmy.activities.create_page_2.json", "Article", "unlisted"),
    ("friendica/lemmy.activities.create_note.json", "Note", "public"),
    ("mitra/lemmy.activities.create_post.json", "Note", "public"),
    ("kroeg/pleroma.kroeg-array-less-emoji.json", "Note", "public"),
    ("streams/pleroma.roadhouse-create-activity.json", "Note", "public"),
    ("smithereen/lemmy.activities.create_note.json", "Note", "public"),
    ("gnusocial/lemmy.activities.create_note.json", "Note", "public"),
    ("lemmy/lemmy.activities.create_or_update.create_page.json", "Page", "public"),
    # Converted into posts, as Mastodon does (rule 40).
    ("peertube/pleroma.tesla_mock.framatube.org-video.json", "Video", "public"),
    ("funkwhale/pleroma.tesla_mock.funkwhale_create_audio.json", "Audio", "public"),
    ("mbin/mbin.CreateTest__testCreateEntryWithUrlAndImage__1.json", None, None),
]


@pytest.mark.parametrize(("name", "kind", "visibility"), STORED, ids=[s[0] for s in STORED])
async def test_posts_from_followed_accounts_are_stored(
    tmp_path: Path, template_root: Path, name: str, kind: str | None, visibility: str | None
) -> None:
    async with world(tmp_path, template_root) as w:
        outcome = await w.send(name)
        sent = document(name)
        object_id = id_of(sent["object"])
        assert object_id is not None
        if kind is None:
            # mbin's test captures have their ids scrubbed: not URLs on the actor's host.
            assert outcome.ignored, outcome
            assert await w.remote_statuses() == 0
            return
        assert outcome.applied, outcome
        stored = await w.status(object_id)
        assert stored is not None
        assert (stored.type, stored.visibility) == (kind, visibility)
        assert stored.actor_id == await w.know(id_of(sent["actor"]) or "")
        assert "<script" not in stored.content_html


REFUSED = [
    # (fixture, what the refusal says)
    ("mastodon/pleroma.mastodon-vote.json", "poll vote"),
    ("pleroma/pleroma.create-chat-message.json", "ChatMessage"),
    ("mbin/mbin.CreateTest__testCreatePost__1.json", "not on kbin.test"),
    ("mbin/mbin.UpdateTest__testUpdateUser__1.json", "another actor"),
    ("friendica/lemmy.activities.update_note.json", "do not have"),
    ("lemmy/lemmy.activities.community.announce_create_page.json", "'Create'"),
    ("mastodon/pleroma.mastodon-announce-private.json", "followers-only"),
    ("lemmy/lemmy.activities.voting.like_note.json", "not a post of ours"),
    ("lemmy/lemmy.activities.block.block_user.json", "someone else"),
    ("lemmy/lemmy.activities.deletion.delete_page.json", None),
]


@pytest.mark.parametrize(("name", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
async def test_what_solo_does_not_keep_is_refused(
    tmp_path: Path, template_root: Path, name: str, reason: str | None
) -> None:
    async with world(tmp_path, template_root) as w:
        outcome = await w.send(name)
        if reason is None:
            # A Delete of a post we never had: remembered, so that it cannot arrive later.
            assert outcome.applied, outcome
            object_id = id_of(document(name)["object"])
            assert object_id is not None
            remembered = await w.db.fetchval(
                "SELECT kind FROM early_removals WHERE object_ap_id = ?", (object_id,)
            )
            assert remembered == "Delete"
            assert not await statuses.is_tombstoned(w.db, object_id)  # no permanent row
        else:
            assert outcome.ignored, outcome
            assert reason in (outcome.error or ""), outcome
        assert await w.remote_statuses() == 0


# --- Richer stories --------------------------------------------------------------------------


async def test_mastodon_post_mentioning_us_notifies(tmp_path: Path, template_root: Path) -> None:
    async with world(tmp_path, template_root, LAIN, "lain") as w:
        name = "mastodon/pleroma.mastodon-post-activity.json"
        assert (await w.send(name, follow=False)).applied
        stored = await w.status(
            "http://mastodon.example.org/users/admin/statuses/99512778738411822"
        )
        assert stored is not None
        assert (stored.visibility, stored.summary, stored.sensitive) == ("public", "cw", True)
        assert stored.url == "http://mastodon.example.org/@admin/99512778738411822"
        assert stored.conversation is not None and stored.conversation.startswith("tag:")
        assert 'class="u-url mention"' in stored.content_html
        assert await notifications_of(w.target) == [("mention", stored.actor_id, stored.id)]


async def test_pleroma_reply_threads_under_a_misskey_note(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root) as w:
        assert (
            await w.send("misskey/pleroma.tesla_mock.mk.absturztau.be-93e7nm8wqg-activity.json")
        ).applied
        assert (await w.send("pleroma/pleroma.create-pleroma-reply-to-misskey-thread.json")).applied
        parent = await w.status("https://mk.absturztau.be/notes/93e7nm8wqg")
        reply = await w.status("https://p.helene.moe/objects/fd5910ac-d9dc-412e-8d1d-914b203296c4")
        assert parent is not None and reply is not None
        assert reply.in_reply_to_id == parent.id
        assert (
            reply.conversation
            == "https://p.helene.moe/contexts/cc324643-5583-4c3f-91d2-c6ed37db159d"
        )


async def test_lemmy_post_comment_edit_and_delete(tmp_path: Path, template_root: Path) -> None:
    async with world(tmp_path, template_root) as w:
        base = "lemmy/lemmy.activities."
        assert (await w.send(base + "create_or_update.create_page.json")).applied
        assert (await w.send(base + "create_or_update.create_comment.json")).applied
        post = await w.status("http://ds9.lemmy.ml/post/1")
        comment = await w.status("http://ds9.lemmy.ml/comment/1")
        assert post is not None and comment is not None
        assert post.content_html.startswith("<p><strong>test post</strong></p>")
        assert post.language == "ko"
        assert comment.in_reply_to_id == post.id
        assert (await w.send(base + "create_or_update.update_page.json")).applied
        edited = await w.status("http://ds9.lemmy.ml/post/1")
        assert edited is not None and edited.edited_at is not None
        assert edited.content_html.startswith("<p><strong>test post 1</strong></p>")
        assert (await w.send(base + "deletion.delete_page.json")).applied
        assert await w.status("http://ds9.lemmy.ml/post/1") is None
        orphan = await w.status("http://ds9.lemmy.ml/comment/1")
        assert orphan is not None and orphan.in_reply_to_id is None
        # The Create again (say, a retried delivery under a new id) does not bring it back.
        replay = document(base + "create_or_update.create_page.json")
        replay["id"] += "-again"
        outcome = await deliver(w.target, w.actor(replay["actor"]), json.dumps(replay).encode())
        assert outcome.ignored and "deleted" in (outcome.error or "")


async def test_mastodon_announce_is_fetched_from_its_origin_and_undone(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root, LAIN, "lain") as w:
        boosted_id = "http://mastodon.example.org/@admin/99541947525187367"
        admin = w.actor("http://mastodon.example.org/users/admin")
        w.server(boosted_id).serve(
            {
                "id": boosted_id,
                "type": "Note",
                "attributedTo": admin.actor,
                "content": "<p>boosted words</p>",
                "to": [PUBLIC],
                "published": "2018-02-17T19:00:00Z",
            }
        )
        assert (await w.send("mastodon/pleroma.mastodon-announce.json")).applied
        boosted = await w.status(boosted_id)
        announce_id = "http://mastodon.example.org/users/admin/statuses/99542391527669785/activity"
        boost = await w.status(announce_id)
        assert boosted is not None and boost is not None
        assert boosted.content_html == "<p>boosted words</p>"
        assert (boost.reblog_of_id, boost.actor_id) == (boosted.id, boosted.actor_id)
        assert (await w.send("mastodon/pleroma.mastodon-undo-announce.json")).applied
        assert await w.status(announce_id) is None
        assert await w.status(boosted_id) is not None


async def test_bogus_and_foreign_announces_are_checked_at_the_origin(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root) as w:
        # The embedded toot claims to be emelie's on mastodon.social; that server has another.
        emelie = w.actor("https://mastodon.social/users/emelie")
        w.server(emelie.actor).serve(document("mastodon/pleroma.tesla_mock.status.emelie.json"))
        outcome = await w.send("mastodon/pleroma.bogus-mastodon-announce.json")
        assert outcome.ignored and "404" in (outcome.error or ""), outcome
        assert await w.remote_statuses() == 0


async def test_likes_from_mastodon_and_misskey(tmp_path: Path, template_root: Path) -> None:
    async with world(tmp_path, template_root, LAIN, "lain") as w:
        ours = await w.ours(f"{LAIN}/objects/eb92579d-3417-42a8-8652-2492c2d4f454")
        assert (await w.send("mastodon/pleroma.mastodon-like.json", follow=False)).applied
        admin = await w.know("http://mastodon.example.org/users/admin")
        assert await notifications_of(w.target) == [("favourite", admin, ours.id)]
        assert (await w.send("mastodon/pleroma.mastodon-undo-like.json", follow=False)).applied
        assert await notifications_of(w.target) == []
        assert await w.db.fetchval("SELECT COUNT(*) FROM interactions") == 0
    async with world(tmp_path / "misskey", template_root, TESTING, "lain") as w:
        ours = await w.ours(f"{TESTING}/objects/c331bbf7-2eb9-4801-a709-2a6103492a5a")
        assert (await w.send("misskey/pleroma.misskey-like.json", follow=False)).applied
        row = await w.db.fetchone("SELECT kind, status_id, ap_id FROM interactions")
        # Its id lives on another host than its actor: not kept, so it cannot take the place of
        # that host's own activity (rule 39).
        assert row is not None and tuple(row) == ("like", ours.id, None)


async def test_deletes_of_posts_and_accounts(tmp_path: Path, template_root: Path) -> None:
    async with world(tmp_path, template_root) as w:
        gargron = await w.know("http://mastodon.example.org/users/gargron")
        toot = "http://mastodon.example.org/users/gargron/statuses/99620895606148759"
        async with w.db.transaction() as conn:
            await statuses.insert_status(
                conn,
                NewStatus(
                    id=w.target.federation.ids.next(),
                    ap_id=toot,
                    actor_id=gargron,
                    visibility="public",
                    content_html="<p>soon gone</p>",
                    published_at=0,
                ),
            )
        assert (await w.send("mastodon/pleroma.mastodon-delete.json", follow=False)).applied
        assert await w.status(toot) is None
        assert await statuses.is_tombstoned(w.db, toot)
        # Accounts: Mastodon embeds the Person, Lemmy names it.
        for name, actor_id in (
            (
                "mastodon/pleroma.mastodon-delete-user.json",
                "http://mastodon.example.org/users/admin",
            ),
            (
                "lemmy/lemmy.activities.deletion.delete_user.json",
                "http://ds9.lemmy.ml/u/lemmy_alpha",
            ),
        ):
            await w.know(actor_id, "in", "out")
            assert (await w.send(name, follow=False)).applied
            assert await actor_store.get_actor(w.db, actor_id) is None
        assert await w.db.fetchval("SELECT COUNT(*) FROM follows") == 0


async def test_mastodon_profile_update_keeps_the_origins_key(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root) as w:
        gargron = w.actor("http://mastodon.example.org/users/gargron")
        assert (await w.send("mastodon/pleroma.mastodon-update.json")).applied
        stored = await actor_store.get_actor(w.db, gargron.actor)
        assert stored is not None
        # The Update embeds another key: it was checked with the origin, which kept its own.
        served = w.server(gargron.actor).documents[gargron.actor]
        assert stored.public_key_pem == served["publicKey"]["publicKeyPem"]


async def test_follow_and_unfollow_from_mastodon(tmp_path: Path, template_root: Path) -> None:
    async with world(tmp_path, template_root, LAIN, "lain") as w:
        name = "mastodon/pleroma.mastodon-follow-activity.json"
        assert (await w.send(name, follow=False)).applied
        admin_id = "http://mastodon.example.org/users/admin"
        admin = await w.know(admin_id)
        follow = await follows.get_follow(w.db, "in", admin)
        assert follow is not None and follow.state == "accepted"
        server = w.server(admin_id)

        async def accepted() -> bool:
            return any(body.get("type") == "Accept" for body in server.received)

        await eventually(accepted, what="the Accept to reach mastodon.example.org")
        name = "mastodon/pleroma.mastodon-unfollow-activity.json"
        assert (await w.send(name, follow=False)).applied
        assert await follows.get_follow(w.db, "in", admin) is None


async def test_block_and_unblock_from_mastodon(tmp_path: Path, template_root: Path) -> None:
    # Its own instance: Pleroma's Block fixture reuses the id of its Follow fixture.
    async with world(tmp_path, template_root, LAIN, "lain") as w:
        admin = await w.know("http://mastodon.example.org/users/admin", "in", "out")
        name = "mastodon/pleroma.mastodon-block-activity.json"
        assert (await w.send(name, follow=False)).applied
        assert await w.db.fetchval("SELECT COUNT(*) FROM follows") == 0
        kind = await w.db.fetchval("SELECT kind FROM interactions WHERE actor_id = ?", (admin,))
        assert kind == "block"
        name = "mastodon/pleroma.mastodon-unblock-activity.json"
        assert (await w.send(name, follow=False)).applied
        assert await w.db.fetchval("SELECT COUNT(*) FROM interactions") == 0


async def test_no_fixture_makes_the_inbox_fail(tmp_path: Path, template_root: Path) -> None:
    """Every activity fixture POSTed as is: the inbox answers 202 (or refuses with a 4xx),
    and no ingress job crashes (a crash would leave it retrying with a Python error)."""
    async with world(tmp_path, template_root, LAIN, "lain") as w:
        for path in sorted(ACTIVITIES.glob("*/*.json")):
            body = path.read_bytes()
            try:
                actor_id = id_of(json.loads(body).get("actor"))
            except (ValueError, AttributeError):
                continue
            if actor_id is None or not actor_id.startswith("http"):
                continue
            await w.know(actor_id, "out")
            sender = w.actor(actor_id)
            response = await post_signed(w.target, sender, body)
            assert response.status_code < 500, (path, response.text)

        async def settled() -> bool:
            busy = await w.db.fetchval(
                "SELECT COUNT(*) FROM jobs WHERE queue = 'ingress'"
                " AND state IN ('queued', 'running')"
            )
            return bool(busy == 0)

        await eventually(settled, within=30, what="every ingress job to settle")
        rows = await w.db.fetchall("SELECT state, last_error FROM jobs WHERE queue = 'ingress'")
        assert rows
        for row in rows:
            # Applied, refused, or waiting for a server that does not exist: never a crash.
            assert not (row["last_error"] or "").startswith("internal error"), tuple(row)
