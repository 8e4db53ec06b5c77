"""The composer without its script: the alt text reminder as a round trip (the uploads kept,
"post anyway?" asked), its setting, focal points of kept uploads, the limit still enforced by
the server, and what the page gives the script (limits, CSP for thumbnails)."""

from __future__ import annotations

import re

import httpx
from starlette.applications import Starlette

from solo.store import media as media_store
from solo.store import statuses as status_store
from tests.test_api_statuses import user_token
from tests.test_login import csrf_from
from tests.test_media_attachments import compose, huge_png, png, snapshot, user
from tests.test_web_pages import FRAGMENT, federation_of

__all__ = ["user"]  # the fixture, used by name

KEPT = re.compile(r'name="media_id" value="(\d+)"')


async def test_an_image_without_alt_text_asks_first_and_keeps_the_upload(
    user: httpx.AsyncClient, app: Starlette
) -> None:
    federation = federation_of(app)
    _, posts = await snapshot(app)
    asked = await compose(user, "A view", [("view.png", png(), "image/png", "")])
    assert asked.status_code == 422
    assert "1 image has no description: post anyway?" in asked.text
    assert 'name="confirm_no_alt" value="1"' in asked.text  # the "Post anyway" button
    [kept] = KEPT.findall(asked.text)
    assert f'href="#description-{kept}"' in asked.text  # "Add descriptions" goes to the field
    assert ">A view</textarea>" in asked.text
    assert (await snapshot(app))[1] == posts  # nothing posted yet, the upload is kept

    # Post anyway: the kept upload goes out as it is.
    again = await user.post(
        "/statuses",
        data={
            "csrf": csrf_from(asked.text),
            "text": "A view",
            "back": "/",
            "media_id": kept,
            f"description_{kept}": "",
            "confirm_no_alt": "1",
        },
    )
    assert again.status_code == 303, again.text
    [post] = await status_store.outbox_page(federation.db, max_id=None, limit=1)
    [item] = (await media_store.media_of(federation.db, [post.id]))[post.id]
    assert (item.id, item.description) == (int(kept), "")


async def test_describing_the_kept_images_posts_without_asking_again(
    user: httpx.AsyncClient, app: Starlette
) -> None:
    federation = federation_of(app)
    files = [("a.png", png(), "image/png", ""), ("b.png", png(8, 8), "image/png", "")]
    asked = await compose(user, "Two", files)
    assert asked.status_code == 422
    assert "2 images have no description: post anyway?" in asked.text
    first, second = KEPT.findall(asked.text)
    described = await user.post(
        "/statuses",
        data={
            "csrf": csrf_from(asked.text),
            "text": "Two",
            "back": "/",
            "media_id": [first, second],
            f"description_{first}": "A green square",
            f"description_{second}": "",
            f"focus_{second}": "0.5,-0.25",
        },
    )
    # One still has none: asked again, about one, with the focal point kept.
    assert described.status_code == 422
    assert "1 image has no description" in described.text
    assert f'href="#description-{second}"' in described.text
    assert 'value="0.5,-0.25"' in described.text
    done = await user.post(
        "/statuses",
        data={
            "csrf": csrf_from(described.text),
            "text": "Two",
            "back": "/",
            "media_id": [first, second],
            f"description_{first}": "A green square",
            f"description_{second}": "A smaller one",
            f"focus_{second}": "0.5,-0.25",
        },
    )
    assert done.status_code == 303, done.text
    [post] = await status_store.outbox_page(federation.db, max_id=None, limit=1)
    items = (await media_store.media_of(federation.db, [post.id]))[post.id]
    assert [(m.description, m.focus_x, m.focus_y) for m in items] == [
        ("A green square", 0.0, 0.0),
        ("A smaller one", 0.5, -0.25),
    ]
    # The API serves the focal point as Mastodon's meta.focus.
    auth = await user_token(user)
    served = (await user.get(f"/api/v1/statuses/{post.id}", headers=auth)).json()
    assert served["media_attachments"][1]["meta"]["focus"] == {"x": 0.5, "y": -0.25}


async def test_the_in_place_form_gets_the_question_as_a_fragment(
    user: httpx.AsyncClient, app: Starlette
) -> None:
    _, posts = await snapshot(app)
    token = csrf_from((await user.get("/")).text)
    asked = await user.post(
        "/statuses",
        data={"csrf": token, "text": "In place", "back": "/", "file_alt": ""},
        files=[("file", ("a.png", png(), "image/png"))],
        headers=FRAGMENT,
    )
    assert asked.status_code == 422
    assert "1 image has no description: post anyway?" in asked.text
    assert "<html" not in asked.text
    assert (await snapshot(app))[1] == posts


async def test_the_reminder_is_a_setting(user: httpx.AsyncClient, app: Starlette) -> None:
    page = await user.get("/settings")
    assert 'name="alt_text_reminder" value="1" checked' in page.text  # on by default
    off = await user.post("/settings/composing", data={"csrf": csrf_from(page.text)})
    assert off.status_code == 303 and off.headers["location"] == "/settings#composing"
    page = await user.get("/settings")
    assert "posted without asking" in page.text
    assert 'name="alt_text_reminder" value="1">' in page.text  # unchecked
    assert "data-alt-reminder" not in (await user.get("/")).text  # the script is told too
    posted = await compose(user, "No words", [("a.png", png(), "image/png", "")])
    assert posted.status_code == 303, posted.text

    on = await user.post(
        "/settings/composing", data={"csrf": csrf_from(page.text), "alt_text_reminder": "1"}
    )
    assert on.status_code == 303
    assert "data-alt-reminder" in (await user.get("/")).text
    asked = await compose(user, "No words again", [("a.png", png(), "image/png", "")])
    assert asked.status_code == 422


async def test_video_and_audio_and_described_images_are_not_asked_about(
    user: httpx.AsyncClient, app: Starlette
) -> None:
    posted = await compose(user, "Described", [("a.png", png(), "image/png", "Green")])
    assert posted.status_code == 303, posted.text
    no_files = await compose(user, "Just words", [])
    assert no_files.status_code == 303, no_files.text


async def test_over_the_limit_the_server_refuses_without_the_script(
    user: httpx.AsyncClient, app: Starlette
) -> None:
    before = await snapshot(app)
    page = await user.get("/")
    assert 'data-max="500"' in page.text  # what the script counts against
    refused = await compose(user, "x" * 501, [])
    assert refused.status_code == 400
    assert "Posts can be at most 500 characters long; this one has 501." in refused.text
    assert ">" + "x" * 501 + "</textarea>" in refused.text  # the draft comes back
    assert await snapshot(app) == before


async def test_a_100_megapixel_image_is_refused_and_nothing_stored(
    user: httpx.AsyncClient, app: Starlette
) -> None:
    before = await snapshot(app)
    page = await user.get("/")
    assert 'data-max-pixels="33177600"' in page.text  # the script refuses it before sending
    from_form = await compose(user, "Big", [("big.png", huge_png(), "image/png", "Big")])
    assert from_form.status_code == 413
    assert "big.png: The image is 10000×10000 pixels; the limit is 7680×4320." in from_form.text
    assert await snapshot(app) == before


async def test_thumbnails_of_chosen_files_may_be_shown_from_blob_urls(
    user: httpx.AsyncClient,
) -> None:
    page = await user.get("/")
    policy = page.headers["content-security-policy"]
    assert "img-src 'self' data: blob:;" in policy
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    assert re.search(r'<script src="/static/compose\.[0-9a-f]{10}\.js" defer></script>', page.text)
