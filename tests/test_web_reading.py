"""Reading: a profile's tabs (Posts, Posts and replies, Media) as plain links, paged, with the
current one marked; counts in the singular and the plural."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from solo.actions import media as media_actions
from solo.actions import statuses
from solo.edge import i18n
from tests.test_web_pages import cards, federation_of, token, user

__all__ = ["user"]  # the fixture, used by name


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 20)).save(buffer, "PNG")
    return buffer.getvalue()


def current_tab(html: str) -> list[str]:
    """The tab marked current, in the profile's tabs (the side navigation marks Profile too)."""
    tabs = re.search(r'<nav class="tabs profile-tabs".*?</nav>', html, re.S)
    return re.findall(r'<a href="([^"]+)" aria-current="page">', tabs.group(0) if tabs else "")


async def test_profile_tabs_cut_posts_replies_and_media(
    user: httpx.AsyncClient, app: Starlette
) -> None:
    federation = federation_of(app)
    first = await statuses.post(federation, "A post of mine")
    thread = await statuses.post(federation, "It goes on", in_reply_to=first.id)
    picture = await media_actions.upload(federation, png(), filename="a.png", description="Red")
    with_media = await statuses.post(federation, "A picture", media_ids=[picture.id])
    # A reply to someone else's post: ours is the only account here, so reply to a remote-like
    # post by taking it out of our own thread (its parent's author decides what it is).
    answer = await statuses.post(federation, "An answer", in_reply_to=first.id)
    await federation.db.execute(
        "UPDATE statuses SET in_reply_to_id = NULL, in_reply_to_ap_id = ? WHERE id = ?",
        ("https://elsewhere.example/notes/1", answer.id),
    )

    posts = await user.get("/@alice")
    assert posts.status_code == 200
    assert cards(posts.text) == [str(with_media.id), str(thread.id), str(first.id)]
    assert current_tab(posts.text) == ["/@alice"]
    for href, label in (
        ("/@alice", "Posts"),
        ("/@alice/with_replies", "Posts and replies"),
        ("/@alice/media", "Media"),
    ):
        assert re.search(rf'<a href="{href}"( aria-current="page")?>{label}</a>', posts.text)

    replies = await user.get("/@alice/with_replies")
    assert cards(replies.text) == [str(i) for i in (answer.id, with_media.id, thread.id, first.id)]
    assert current_tab(replies.text) == ["/@alice/with_replies"]

    media = await user.get("/@alice/media")
    assert cards(media.text) == [str(with_media.id)]
    assert current_tab(media.text) == ["/@alice/media"]

    # Visitors see the same tabs, with what anyone may read.
    await statuses.post(federation, "Only for followers", visibility="private")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://solo.test"
    ) as visitor:
        seen = await visitor.get("/@alice/with_replies")
        assert seen.status_code == 200
        assert "Only for followers" not in seen.text
        assert cards(seen.text) == [str(i) for i in (answer.id, with_media.id, thread.id, first.id)]
        assert cards((await visitor.get("/@alice/media")).text) == [str(with_media.id)]
        assert (await visitor.get("/@nobody/media")).status_code == 404


async def test_profile_tabs_page_by_cursor(user: httpx.AsyncClient, app: Starlette) -> None:
    federation = federation_of(app)
    parent = await statuses.post(federation, "The start")
    replies = [
        (await statuses.post(federation, f"Reply {n}", in_reply_to=parent.id)).id for n in range(25)
    ]
    page = await user.get("/@alice/with_replies")
    assert cards(page.text) == [str(i) for i in reversed(replies[5:])]
    older = re.search(r'<a rel="next" href="([^"]+)">Older</a>', page.text)
    assert older and older.group(1).startswith("/@alice/with_replies?max_id=")
    rest = await user.get(older.group(1).replace("&amp;", "&"))
    assert cards(rest.text) == [*(str(i) for i in reversed(replies[:5])), str(parent.id)]
    assert current_tab(rest.text) == ["/@alice/with_replies"]
    assert (await user.get("/@alice/media?max_id=abc")).status_code == 400


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, "0 replies"), (1, "1 reply"), (2, "2 replies"), (1000, "1000 replies")],
)
def test_plural(n: int, expected: str) -> None:
    """Counts go through the catalogue's ngettext (English here; tests/test_i18n.py others)."""
    ngettext = i18n.translations("en").ngettext
    assert ngettext("%(num)s reply", "%(num)s replies", n) % {"num": n} == expected


async def test_counts_on_pages_say_one_in_the_singular(
    user: httpx.AsyncClient, app: Starlette
) -> None:
    federation = federation_of(app)
    await statuses.post(federation, "Only one #solo post")
    await user.post("/tags/solo/feature", data={"csrf": await token(user)})
    profile = (await user.get("/@alice")).text
    assert "<strong>1</strong> post<" in profile
    assert "<strong>0</strong> followers" in profile
    assert '<span class="hint">1 post</span>' in profile  # the featured hashtag
    await statuses.post(federation, "A second #solo post")
    assert '<span class="hint">2 posts</span>' in (await user.get("/@alice")).text
