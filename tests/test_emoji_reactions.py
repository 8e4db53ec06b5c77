"""Emoji reactions (FEDERATION.md rule 42): Pleroma's EmojiReact and Misskey's Like with a
reaction become a favourite with its emoji (the notification, the web page, the count), their
Undo takes it back, custom emoji are checked as every custom emoji is, and what is no emoji is
refused. The activities are captures from Pleroma's and Misskey's test fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from solo.federation.reactions import is_single_emoji
from solo.store import interactions
from tests.ingress_helpers import deliver, notifications_of
from tests.test_fixtures_ingress import LAIN, TESTING, World, fixture, world
from tests.test_login import login

ADMIN = "http://mastodon.example.org/users/admin"
LAIN_POST = f"{LAIN}/objects/eb92579d-3417-42a8-8652-2492c2d4f454"
MISSKEY_HOST = "https://pleroma.local.live"
MISSKEY_POST = f"{MISSKEY_HOST}/objects/89937a53-2692-4631-bb62-770091267391"
MISSKEY_ACTOR = "https://misskey.local.live/users/8x8yep20u2"


async def reactions_stored(w: World) -> list[tuple[str | None, str | None]]:
    rows = await w.db.fetchall("SELECT reaction, reaction_emojis_json FROM interactions")
    return [(row[0], row[1]) for row in rows]


async def favourites(w: World, status_id: int) -> int:
    counts = await interactions.status_counts(w.db, [status_id])
    return counts[status_id].favourites if status_id in counts else 0


async def notifications_page(w: World) -> str:
    assert (await login(w.target.client, username="lain")).status_code == 303
    return (await w.target.client.get("/notifications")).text


async def test_pleroma_emoji_react_is_a_favourite_with_its_emoji_until_undone(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root, LAIN, "lain") as w:
        ours = await w.ours(LAIN_POST)
        assert (await w.send("pleroma/pleroma.emoji-reaction.json", follow=False)).applied
        admin = await w.know(ADMIN)
        assert await notifications_of(w.target) == [("favourite", admin, ours.id)]
        assert await reactions_stored(w) == [("👌", None)]
        assert await favourites(w, ours.id) == 1
        page = await notifications_page(w)
        assert "favourited your post" in page and 'title="Reacted with 👌">👌</span>' in page
        # Pleroma undoes a reaction with the EmojiReact embedded.
        react = json.loads(fixture("pleroma/pleroma.emoji-reaction.json"))
        undo = {"type": "Undo", "id": f"{ADMIN}#undo-react", "actor": ADMIN, "object": react}
        assert (await deliver(w.target, w.actor(ADMIN), undo)).applied
        assert await notifications_of(w.target) == []
        assert await favourites(w, ours.id) == 0


async def test_an_undo_by_the_reactions_id_alone(tmp_path: Path, template_root: Path) -> None:
    async with world(tmp_path, template_root, LAIN, "lain") as w:
        ours = await w.ours(LAIN_POST)
        assert (await w.send("pleroma/pleroma.emoji-reaction.json", follow=False)).applied
        react_id = json.loads(fixture("pleroma/pleroma.emoji-reaction.json"))["id"]
        undo = {"type": "Undo", "id": f"{ADMIN}#undo-2", "actor": ADMIN, "object": react_id}
        assert (await deliver(w.target, w.actor(ADMIN), undo)).applied
        assert await notifications_of(w.target) == []
        assert await favourites(w, ours.id) == 0


async def test_an_emoji_react_that_is_no_emoji_is_refused(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root, LAIN, "lain") as w:
        await w.ours(LAIN_POST)
        outcome = await w.send("pleroma/pleroma.emoji-reaction-no-emoji.json", follow=False)
        assert outcome.ignored and "not one emoji" in (outcome.error or ""), outcome
        two = json.loads(fixture("pleroma/pleroma.emoji-reaction.json"))
        two |= {"id": f"{ADMIN}#reactions/3", "content": "👌👌"}
        assert (await deliver(w.target, w.actor(ADMIN), two)).ignored
        assert await notifications_of(w.target) == []
        assert await reactions_stored(w) == []


async def test_misskey_custom_emoji_reaction_shows_its_image(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root, MISSKEY_HOST, "lain") as w:
        ours = await w.ours(MISSKEY_POST)
        assert (await w.send("misskey/pleroma.custom-emoji-reaction.json", follow=False)).applied
        [(reaction, emojis)] = await reactions_stored(w)
        assert reaction == ":hanapog:" and emojis is not None
        assert json.loads(emojis) == [
            {
                "shortcode": "hanapog",
                "url": "https://misskey.local.live/files/webpublic-8f8a9768-7264-4171-88d6-2356aabeadcd",
            }
        ]
        assert await favourites(w, ours.id) == 1
        page = await notifications_page(w)
        assert '<img class="emoji" src="/proxy/' in page and 'alt=":hanapog:"' in page


async def test_a_misskey_like_with_a_bad_custom_emoji_is_a_plain_favourite(
    tmp_path: Path, template_root: Path
) -> None:
    """The emoji's image must be a plain http(s) URL, as for every custom emoji; a Like stays
    a favourite without it (Mastodon counts any Like)."""
    async with world(tmp_path, template_root, MISSKEY_HOST, "lain") as w:
        ours = await w.ours(MISSKEY_POST)
        like = json.loads(fixture("misskey/pleroma.custom-emoji-reaction.json"))
        like["tag"][0]["icon"]["url"] = "javascript:alert(1)"
        await w.know(MISSKEY_ACTOR)
        assert (await deliver(w.target, w.actor(MISSKEY_ACTOR), like)).applied
        assert await reactions_stored(w) == [(None, None)]
        assert await favourites(w, ours.id) == 1
        assert "javascript:" not in await notifications_page(w)


async def test_misskeys_old_reaction_names_are_its_emoji(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root, TESTING, "lain") as w:
        await w.ours(f"{TESTING}/objects/c331bbf7-2eb9-4801-a709-2a6103492a5a")
        assert (await w.send("misskey/pleroma.misskey-like.json", follow=False)).applied
        assert await reactions_stored(w) == [("🍮", None)]


@pytest.mark.parametrize(
    ("text", "single"),
    [
        ("👌", True),
        ("❤️", True),
        ("👍🏽", True),
        ("🏳️‍🌈", True),
        ("👨‍👩‍👧‍👦", True),
        ("🇫🇷", True),
        ("1️⃣", True),
        ("🏴󠁧󠁢󠁳󠁣󠁴󠁿", True),
        ("~", False),
        ("👌👌", False),
        ("a", False),
        ("1", False),
        ("👌 ", False),
        ("<img>", False),
        ("🇫", False),
        ("", False),
    ],
)
def test_one_emoji_is_one_grapheme(text: str, single: bool) -> None:
    assert is_single_emoji(text) is single
