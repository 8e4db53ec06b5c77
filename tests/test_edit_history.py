"""Edit history: earlier versions of our posts and remote ones are kept, bounded, shown on
`/@author/{id}/history` to whoever may read the post, and gone with the post."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from starlette.applications import Starlette

from solo.actions import statuses as status_actions
from solo.store import edits as edit_store
from solo.store import statuses as status_store
from tests.fleet import eventually, fleet_of
from tests.test_actions_statuses import befriend
from tests.test_login import login
from tests.test_web_pages import federation_of


def versions_on(html: str) -> list[str]:
    """The texts of the versions a history page lists, in order."""
    return [
        re.sub(r"<[^>]+>", "", text).strip()
        for text in re.findall(r'<div class="content">(.*?)</div>', html, re.DOTALL)
    ]


async def test_our_edit_keeps_the_old_version(app: Starlette, client: httpx.AsyncClient) -> None:
    federation = federation_of(app)
    status = await status_actions.post(federation, "First draft")
    await status_actions.edit(federation, status.id, "Second draft")
    await status_actions.edit(federation, status.id, "Final text", summary="spoilers")

    earlier = await edit_store.earlier_versions(federation.db, status.id)
    assert [v.content_html for v in earlier] == ["<p>Second draft</p>", "<p>First draft</p>"]
    assert earlier[-1].created_at == status.published_at
    edited = await status_store.get_status(federation.db, status.id)
    assert edited is not None and edited.edited_at is not None
    assert earlier[0].created_at < edited.edited_at

    thread = await client.get(f"/@alice/{status.id}")
    assert f'<a class="edited" href="/@alice/{status.id}/history"' in thread.text
    page = await client.get(f"/@alice/{status.id}/history")
    assert page.status_code == 200
    assert versions_on(page.text) == ["Final text", "Second draft", "First draft"]
    assert page.text.count("Current version") == 1
    assert "spoilers" in page.text
    # A wrong author part is sent to the right address, as for the thread.
    wrong = await client.get(f"/@bob/{status.id}/history")
    assert wrong.status_code == 301
    assert wrong.headers["location"] == f"/@alice/{status.id}/history"


async def test_a_post_never_edited_has_one_version_and_no_link(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    federation = federation_of(app)
    status = await status_actions.post(federation, "Right the first time")
    thread = await client.get(f"/@alice/{status.id}")
    assert "/history" not in thread.text
    page = await client.get(f"/@alice/{status.id}/history")
    assert page.status_code == 200
    assert versions_on(page.text) == ["Right the first time"]
    assert (await client.get("/@alice/999999/history")).status_code == 404


async def test_history_is_bounded_and_goes_with_the_post(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    federation = federation_of(app)
    status = await status_actions.post(federation, "version 0")
    for number in range(1, edit_store.MAX_EARLIER_VERSIONS + 6):
        await status_actions.edit(federation, status.id, f"version {number}")
    earlier = await edit_store.earlier_versions(federation.db, status.id)
    assert len(earlier) == edit_store.MAX_EARLIER_VERSIONS
    # The oldest went first.
    assert earlier[0].content_html == f"<p>version {edit_store.MAX_EARLIER_VERSIONS + 4}</p>"
    assert earlier[-1].content_html == "<p>version 5</p>"

    await status_actions.delete(federation, status.id)
    rows = await federation.db.fetchval(
        "SELECT COUNT(*) FROM status_edits WHERE status_id = ?", (status.id,)
    )
    assert rows == 0
    assert (await client.get(f"/@alice/{status.id}/history")).status_code == 404


async def test_followers_only_history_is_for_the_user_alone(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    federation = federation_of(app)
    status = await status_actions.post(federation, "for friends", visibility="private")
    await status_actions.edit(federation, status.id, "for friends, edited")
    assert (await client.get(f"/@alice/{status.id}/history")).status_code == 404
    assert (await login(client)).status_code == 303
    page = await client.get(f"/@alice/{status.id}/history")
    assert page.status_code == 200
    assert versions_on(page.text) == ["for friends, edited", "for friends"]


async def test_a_remote_edit_keeps_the_history(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice", "bob") as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await befriend(bob, alice)
        status = await status_actions.post(alice.federation, "Helo world")

        async def arrived() -> bool:
            return (
                await status_store.get_status_by_ap_id(bob.federation.db, status.ap_id) is not None
            )

        await eventually(arrived, what="the post to reach bob")
        await status_actions.edit(alice.federation, status.id, "Hello <b>world</b>")

        async def edited() -> bool:
            copy = await status_store.get_status_by_ap_id(bob.federation.db, status.ap_id)
            return copy is not None and copy.edited_at is not None

        await eventually(edited, what="the edit to reach bob")
        copy = await status_store.get_status_by_ap_id(bob.federation.db, status.ap_id)
        assert copy is not None
        earlier = await edit_store.earlier_versions(bob.federation.db, copy.id)
        assert [v.content_html for v in earlier] == ["<p>Helo world</p>"]

        page_url = f"/@alice@alice.test/{copy.id}/history"
        # A remote post's page is the user's business, like its thread.
        assert (await bob.client.get(page_url)).status_code == 404
        assert (await login(bob.client, username="bob")).status_code == 303
        thread = await bob.client.get(f"/@alice@alice.test/{copy.id}")
        assert f'href="{page_url}"' in thread.text
        page = await bob.client.get(page_url)
        assert page.status_code == 200
        assert versions_on(page.text) == ["Hello &lt;b&gt;world&lt;/b&gt;", "Helo world"]

        # Earlier versions of remote posts are sanitized on the page, like current ones.
        async with bob.federation.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO status_edits (status_id, content_html, created_at) VALUES (?, ?, 0)",
                (copy.id, '<p onclick="steal()">old</p><script>steal()</script>'),
            )
        page = await bob.client.get(page_url)
        assert "<p>old</p>" in page.text
        assert "steal()" not in page.text
