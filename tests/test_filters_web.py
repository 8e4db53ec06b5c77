"""Keyword filters on the web: the settings pages (create, change, delete, refusals) and what
filters do to the pages that list posts (a warned post folded under its title, a hidden one
left out), with no script."""

from __future__ import annotations

import html
import re

import httpx
from starlette.applications import Starlette

from solo.store import notifications as notification_store
from tests.test_login import csrf_from, login
from tests.test_web_pages import cards
from tests.test_web_queries import Builder


async def new_filter(client: httpx.AsyncClient, **fields: object) -> httpx.Response:
    page = await client.get("/settings/filters")
    assert page.status_code == 200
    data: dict[str, object] = {
        "csrf": csrf_from(page.text),
        "title": "Spoilers",
        "rows": "3",
        "keyword_0": "finale",
        "whole_0": "1",
        "context": ["home", "public", "thread", "account", "notifications"],
        "action": "warn",
        "expires": "",
        **fields,
    }
    return await client.post("/settings/filters", data=data)  # type: ignore[arg-type]


def folded(html: str) -> dict[str, str]:
    """The cards folded by a filter: entry id → the summary's "Filtered: …" text."""
    found = {}
    for match in re.finditer(
        r'id="s-(\d+)"[^>]*>\s*(?:\{#.*?#\}\s*)?<details class="filtered">\s*<summary>'
        r'<span class="filtered-label">([^<]*)</span>',
        html,
    ):
        found[match.group(1)] = match.group(2)
    return found


async def test_settings_pages_create_change_and_delete(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/settings/filters")).status_code == 303  # log in first
    await login(client)
    settings = await client.get("/settings")
    assert 'href="/settings/filters"' in settings.text
    empty = await client.get("/settings/filters")
    assert "No filters yet." in empty.text
    made = await new_filter(client, keyword_1="Spoiler alert", rows="3")
    assert made.status_code == 303 and made.headers["location"] == "/settings/filters"
    listed = await client.get("/settings/filters")
    assert "The filter “Spoilers” is saved." in listed.text
    filter_id = re.search(r'href="/settings/filters/(\d+)"', listed.text)
    assert filter_id is not None
    edit_url = f"/settings/filters/{filter_id.group(1)}"
    edit = await client.get(edit_url)
    assert 'value="finale"' in edit.text and 'value="Spoiler alert"' in edit.text
    assert "As it is (Never ends)" in edit.text
    # Rename, drop a keyword, make it hide in home only for a day, add a keyword.
    ids = re.findall(r'name="keyword_id_(\d+)" value="(\d*)"', edit.text)
    assert [row for _, row in ids][:2] != ["", ""]
    saved = await client.post(
        edit_url,
        data={
            "csrf": csrf_from(edit.text),
            "title": "TV",
            "rows": "3",
            "keyword_id_0": ids[0][1],
            "keyword_0": "finale",
            "whole_0": "1",
            "keyword_id_1": ids[1][1],
            "keyword_1": "Spoiler alert",
            "remove_1": "1",
            "keyword_id_2": "",
            "keyword_2": "Trailer",
            "context": "home",
            "action": "hide",
            "expires": "86400",
        },
    )
    assert saved.status_code == 303, saved.text
    api = await client.get(edit_url)
    assert "Filter: TV" in api.text and 'value="Trailer"' in api.text
    assert "Spoiler alert" not in api.text and "Ends in 23 hours" in api.text
    assert re.search(r'value="hide" checked', api.text)
    deleted = await client.post(f"{edit_url}/delete", data={"csrf": csrf_from(api.text)})
    assert deleted.status_code == 303
    assert "No filters yet." in (await client.get("/settings/filters")).text
    assert (await client.get(edit_url)).status_code == 404


async def test_settings_refusals_keep_what_was_typed(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await login(client)
    blank = await new_filter(client, title="  ")
    assert blank.status_code == 422 and "Title can't be blank." in html.unescape(blank.text)
    no_context = await new_filter(client, context=[], keyword_0="typed word")
    assert no_context.status_code == 422 and "Context can't be blank." in html.unescape(
        no_context.text
    )
    assert 'value="typed word"' in no_context.text  # nothing typed is lost
    odd = await new_filter(client, expires="12")
    assert odd.status_code == 422 and "durations offered" in odd.text
    long = await new_filter(client, keyword_0="x" * 300)
    assert long.status_code == 422 and "too long" in long.text
    no_csrf = await client.post("/settings/filters", data={"title": "x"})
    assert no_csrf.status_code == 403
    assert "No filters yet." in (await client.get("/settings/filters")).text


async def test_warned_posts_fold_and_hidden_posts_go(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    build = Builder(app)
    await build.setup()
    plain = await build.add(remote=True, content_html="<p>A calm day</p>")
    spoiler = await build.add(remote=True, content_html="<p>That finale!</p>")
    politics = await build.add(remote=True, content_html="<p>Election news</p>")
    alt = await build.add(remote=True, content_html="<p>A picture</p>")
    async with build.federation.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO media (status_id, local, kind, media_type, description, created_at,"
            " remote_url) VALUES (?, 0, 'image', 'image/png', 'an ELECTION poster', 0,"
            " 'https://remote.test/a.png')",
            (alt,),
        )
        await notification_store.add(conn, "mention", build.zed, politics)
    mine = await build.add(remote=False, content_html="<p>My finale</p>")
    await build.federation.feeds.rebuild()
    await login(client)
    assert (await new_filter(client)).status_code == 303
    made = await new_filter(
        client, title="News", keyword_0="election", context=["home"], action="hide"
    )
    assert made.status_code == 303

    home = (await client.get("/")).text
    shown = cards(home)
    assert str(plain) in shown and str(mine) in shown
    assert str(politics) not in shown and str(alt) not in shown  # hidden, alt text too
    assert folded(home) == {str(spoiler): "Filtered: Spoilers"}
    # The folded card still holds the post, behind a <details> that opens without script.
    card = home[home.index(f'id="s-{spoiler}"') :]
    assert "That finale!" in card[: card.index("</article>")]
    # The hide filter is for home only: the federated timeline and the thread show the post.
    federated = (await client.get("/federated")).text
    assert str(politics) in cards(federated) and folded(federated) == {
        str(spoiler): "Filtered: Spoilers"
    }
    thread = await client.get(f"/@zed@remote.test/{spoiler}")
    assert thread.status_code == 200
    notifications = (await client.get("/notifications")).text
    assert "Election news" in notifications  # hide applies to home only
    # Hidden in notifications too once the filter says so.
    edit = await client.get("/settings/filters")
    news_id = re.findall(r'href="/settings/filters/(\d+)"', edit.text)[-1]
    page = await client.get(f"/settings/filters/{news_id}")
    rows = re.findall(r'name="keyword_id_(\d+)" value="(\d*)"', page.text)
    await client.post(
        f"/settings/filters/{news_id}",
        data={
            "csrf": csrf_from(page.text),
            "title": "News",
            "rows": str(len(rows)),
            "keyword_id_0": rows[0][1],
            "keyword_0": "election",
            "context": ["notifications"],
            "action": "hide",
            "expires": "keep",
        },
    )
    assert "Election news" not in (await client.get("/notifications")).text
    assert str(politics) in cards((await client.get("/")).text)
