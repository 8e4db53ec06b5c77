"""Attachments both ways: uploads from the compose form (processed, stored, served safely, sent
as Documents), remote attachments stored with their posts and shown through the media cache,
and every refusal leaving nothing behind."""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette

from solo.actions import media as media_actions
from solo.actions import statuses as status_actions
from solo.activitystreams import PUBLIC
from solo.store import media as media_store
from solo.store import statuses as status_store
from tests.fleet import eventually, fleet_of
from tests.ingress_helpers import (
    FakeServer,
    activity,
    create,
    deliver,
    follow_directly,
    note,
    status_of,
)
from tests.test_actions_statuses import befriend
from tests.test_fixtures_ingress import ACTIVITIES, world
from tests.test_login import csrf_from, login
from tests.test_web_pages import federation_of

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_location(width: int = 64, height: int = 48) -> bytes:
    """A photo as a phone takes it: turned by an Orientation tag, with where it was taken."""
    image = Image.new("RGB", (width, height), (200, 40, 40))
    for x in range(width // 2):
        for y in range(height):
            image.putpixel((x, y), (20, 20, 200))
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # rotate 90° clockwise to show
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 22.0, 7.0), 3: "E", 4: (4.0, 53.0, 2.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def png(width: int = 20, height: int = 10) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 128, 0, 128)).save(buffer, "PNG")
    return buffer.getvalue()


def huge_png() -> bytes:
    """100 megapixels that compress to a few kilobytes: a decompression bomb."""
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, "PNG")
    return buffer.getvalue()


async def compose(
    client: httpx.AsyncClient,
    text: str,
    files: list[tuple[str, bytes, str, str]],
    **fields: Any,
) -> httpx.Response:
    """The compose form with files, as a browser posts it (multipart, CSRF token)."""
    token = csrf_from((await client.get("/compose")).text)
    data: dict[str, Any] = {"csrf": token, "text": text, "back": "/", **fields}
    data["file_alt"] = [alt for _, _, _, alt in files]
    upload = [("file", (name, content, kind)) for name, content, kind, _ in files]
    return await client.post("/statuses", data=data, files=upload)


async def snapshot(app: Starlette) -> tuple[int, int]:
    db = federation_of(app).db
    media = int(await db.fetchval("SELECT COUNT(*) FROM media"))
    posts = int(await db.fetchval("SELECT COUNT(*) FROM statuses"))
    return media, posts


def stored_files(settings_root: Path) -> list[Path]:
    uploads = settings_root / "media" / "uploads"
    return sorted(p for p in uploads.rglob("*") if p.is_file()) if uploads.exists() else []


@pytest.fixture
async def user(client: httpx.AsyncClient) -> httpx.AsyncClient:
    assert (await login(client)).status_code == 303
    return client


async def test_an_upload_is_cleaned_stored_served_and_published(
    user: httpx.AsyncClient, app: Starlette
) -> None:
    federation = federation_of(app)
    response = await compose(
        user, "Look at this", [("holiday.jpg", jpeg_with_location(), "image/jpeg", "A red door")]
    )
    assert response.status_code == 303, response.text
    [post] = [s for s in await status_store.outbox_page(federation.db, max_id=None, limit=5)]
    [item] = (await media_store.media_of(federation.db, [post.id]))[post.id]
    assert (item.kind, item.media_type, item.description) == ("image", "image/jpeg", "A red door")
    assert (item.width, item.height) == (48, 64)  # the orientation applied
    assert item.blurhash and item.thumbnail_key and item.storage_key

    served = await user.get(f"/media/{item.storage_key}")
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]
    picture = Image.open(io.BytesIO(served.content))
    assert picture.size == (48, 64)
    exif = picture.getexif()
    assert not exif.get_ifd(GPS_IFD) and ORIENTATION not in exif
    assert (await user.get(f"/media/{item.thumbnail_key}")).status_code == 200

    note = (
        await user.get(
            f"/users/alice/statuses/{post.id}", headers={"Accept": "application/activity+json"}
        )
    ).json()
    [document] = note["attachment"]
    assert document == {
        "type": "Document",
        "mediaType": "image/jpeg",
        "url": f"https://solo.test/media/{item.storage_key}",
        "name": "A red door",
        "blurhash": item.blurhash,
        "width": 48,
        "height": 64,
        "focalPoint": [0.0, 0.0],
    }
    page = await user.get(f"/@alice/{post.id}")
    assert f'src="https://solo.test/media/{item.thumbnail_key}" alt="A red door"' in page.text


async def test_media_only_posts_and_the_sensitive_mark(
    user: httpx.AsyncClient, app: Starlette
) -> None:
    response = await compose(
        user, "", [("a.png", png(), "image/png", "")], sensitive="1", confirm_no_alt="1"
    )
    assert response.status_code == 303, response.text
    home = await user.get("/")
    assert '<details class="media-sensitive">' in home.text
    assert re.search(r'<img class="media [^"]*" src="[^"]+/media/uploads/[^"]+" alt=""', home.text)


BAD_FILES = [
    ("broken.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "image/jpeg", 422, "could not be read"),
    ("cut.jpg", jpeg_with_location()[:300], "image/jpeg", 422, "could not be read"),
    ("photo.jpg", png(), "image/jpeg", 422, "PNG"),
    ("empty.png", b"", "image/png", 422, "empty"),
    ("page.png", b"<html><script>alert(1)</script></html>", "image/png", 422, "not a"),
    ("bomb.png", huge_png(), "image/png", 413, "7680"),
]


@pytest.mark.parametrize(("name", "content", "kind", "status", "message"), BAD_FILES)
async def test_bad_files_are_refused_with_a_reason_and_nothing_stored(
    user: httpx.AsyncClient,
    app: Starlette,
    tmp_path: Path,
    name: str,
    content: bytes,
    kind: str,
    status: int,
    message: str,
) -> None:
    before = await snapshot(app)
    response = await compose(user, "With a bad file", [(name, content, kind, "alt")])
    assert response.status_code == status
    assert message in response.text and name in response.text
    assert "With a bad file" in response.text  # the draft comes back
    assert await snapshot(app) == before
    assert stored_files(tmp_path / "data") == []


async def test_too_many_attachments(user: httpx.AsyncClient, app: Starlette) -> None:
    before = await snapshot(app)
    files = [(f"{n}.png", png(), "image/png", "") for n in range(4)]
    token = csrf_from((await user.get("/compose")).text)
    # Four new files and one kept from an earlier try: five.
    kept = await media_actions.upload(federation_of(app), png(), filename="kept.png")
    response = await user.post(
        "/statuses",
        data={"csrf": token, "text": "Too many", "media_id": str(kept.id)},
        files=[("file", (n, c, k)) for n, c, k, _ in files],
    )
    assert response.status_code == 400
    assert "at most 4 attachments" in response.text
    _, posts = await snapshot(app)
    assert posts == before[1]


async def test_a_refused_post_keeps_its_uploads_for_the_next_try(
    user: httpx.AsyncClient, app: Starlette
) -> None:
    federation = federation_of(app)
    too_long = "x" * 600
    response = await compose(user, too_long, [("a.png", png(), "image/png", "Green")])
    assert response.status_code == 400 and "at most 500 characters" in response.text
    kept = re.findall(r'name="media_id" value="(\d+)"', response.text)
    assert len(kept) == 1
    assert 'name="description_' in response.text and ">Green</textarea>" in response.text
    token = csrf_from(response.text)
    again = await user.post(
        "/statuses",
        data={
            "csrf": token,
            "text": "Shorter",
            "media_id": kept,
            f"description_{kept[0]}": "Green square",
        },
    )
    assert again.status_code == 303
    [post] = await status_store.outbox_page(federation.db, max_id=None, limit=5)
    [item] = (await media_store.media_of(federation.db, [post.id]))[post.id]
    assert item.id == int(kept[0]) and item.description == "Green square"
    # An upload belongs to one post only.
    with pytest.raises(media_actions.ActionError, match="another post"):
        await status_actions.post(federation, "Again", media_ids=[item.id])


async def test_deleting_a_post_removes_its_files(
    user: httpx.AsyncClient, app: Starlette, tmp_path: Path
) -> None:
    federation = federation_of(app)
    upload = await media_actions.upload(federation, png(), filename="a.png", description="x")
    post = await status_actions.post(federation, "Soon gone", media_ids=[upload.id])
    assert len(stored_files(tmp_path / "data")) == 2  # the image and its thumbnail
    await status_actions.delete(federation, post.id)
    assert stored_files(tmp_path / "data") == []
    assert await media_store.get_media(federation.db, upload.id) is None
    assert (await user.get(f"/media/{upload.storage_key}")).status_code == 404


async def test_unattached_uploads_go_after_a_day(app: Starlette, tmp_path: Path) -> None:
    federation = federation_of(app)
    upload = await media_actions.upload(federation, png(), filename="a.png")
    assert await media_actions.prune_unattached(federation) == 0
    async with federation.db.transaction() as conn:
        await conn.execute(
            "UPDATE media SET created_at = created_at - 90000 WHERE id = ?", (upload.id,)
        )
    assert await media_actions.prune_unattached(federation) == 1
    assert stored_files(tmp_path / "data") == []


async def test_only_our_files_are_served(user: httpx.AsyncClient) -> None:
    for path in (
        "/media/../solo.db",
        "/media/uploads/x.html",
        "/media/cache/a.jpg",
        "/media/uploads/none.jpg",
    ):
        response = await user.get(path)
        assert response.status_code == 404, path


async def test_the_post_and_its_image_reach_a_follower(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "ann", "ben") as (_, nodes):
        ann, ben = nodes["ann"], nodes["ben"]
        await befriend(ben, ann)
        upload = await media_actions.upload(
            ann.federation, jpeg_with_location(), filename="door.jpg", description="A red door"
        )
        post = await status_actions.post(
            ann.federation, "Hello with a picture", media_ids=[upload.id]
        )

        async def arrived() -> bool:
            return await status_store.get_status_by_ap_id(ben.federation.db, post.ap_id) is not None

        await eventually(arrived, what="the post at ben's")
        copy = await status_store.get_status_by_ap_id(ben.federation.db, post.ap_id)
        assert copy is not None
        [remote] = (await media_store.media_of(ben.federation.db, [copy.id]))[copy.id]
        assert remote.remote_url == f"https://ann.test/media/{upload.storage_key}"
        assert (remote.description, remote.width, remote.height) == ("A red door", 48, 64)
        assert remote.blurhash == upload.blurhash and not remote.local

        assert (await login(ben.client, username="ben")).status_code == 303
        page = await ben.client.get(f"/@ann@ann.test/{copy.id}")
        found = re.search(
            r'<img class="media [^"]*" src="(/proxy/[^"]+)" alt="A red door"', page.text
        )
        assert found, page.text
        image = await ben.client.get(found.group(1))
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert image.content == (await ann.client.get(f"/media/{upload.storage_key}")).content


REMOTE = "https://remote.test/users/bob"


async def test_remote_attachments_are_checked_before_they_are_stored(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        sender = FakeServer(fleet, "https://remote.test").actor(REMOTE)
        await follow_directly(alice, REMOTE)
        attachments = [
            {
                "type": "Document",
                "mediaType": "image/png",
                "url": "https://cdn.remote.test/a.png",
                "name": "Kept",
                "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                "width": 640,
                "height": 480,
                "focalPoint": [0.5, -2],
            },
            {"type": "Document", "mediaType": "image/png", "url": "http://127.0.0.1/secret.png"},
            {"type": "Document", "mediaType": "image/png", "url": "http://169.254.169.254/latest"},
            {"type": "Document", "mediaType": "image/png", "url": "http://[::1]/x.png"},
            {"type": "Document", "mediaType": "image/png", "url": "http://10.0.0.1/x.png"},
            {"type": "Document", "mediaType": "text/html", "url": "https://cdn.remote.test/page"},
            {"type": "Document", "mediaType": "image/png", "url": "javascript:alert(1)"},
            {"type": "Image", "url": "https://cdn.remote.test/b.jpg", "name": "<b>bold</b> alt"},
        ]
        sent = note(sender, attachment=attachments, sensitive=True)
        assert (await deliver(alice, sender, create(sender, sent))).applied
        status = await status_of(alice, sent["id"])
        assert status is not None
        items = (await media_store.media_of(alice.federation.db, [status.id]))[status.id]
        assert [(m.remote_url, m.description) for m in items] == [
            ("https://cdn.remote.test/a.png", "Kept"),
            ("https://cdn.remote.test/b.jpg", "bold alt"),
        ]
        first = items[0]
        assert (first.width, first.height, first.focus_x, first.focus_y) == (640, 480, 0.5, -1.0)
        assert items[1].media_type == "image/jpeg"
        assert (await login(alice.client)).status_code == 303
        page = await alice.client.get("/")
        assert '<details class="media-sensitive">' in page.text
        assert page.text.count('src="/proxy/') >= 2 and 'alt="Kept"' in page.text
        # Until opened, the sensitive media show their blurhash, drawn here as a tiny PNG.
        assert first.blurhash == "LEHV6nWB2yk8pyo0adR*.7kCMdnj"
        placeholder = re.findall(r'<img class="placeholder" src="([^"]+)"', page.text)[0]
        drawn = await alice.client.get(html.unescape(placeholder))
        assert drawn.status_code == 200 and drawn.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(drawn.content)).size == (32, 24)
        assert (await alice.client.get("/placeholder?h=<script>")).status_code == 404
        # The file itself is fetched only when looked at, and a remote failure is an answer.
        proxied = re.findall(r'src="(/proxy/[^"]+)" alt="Kept"', page.text)[0]
        missing = await alice.client.get(proxied)
        assert missing.status_code in (404, 502) and missing.text


async def test_a_remote_edit_replaces_the_attachments(tmp_path: Path, template_root: Path) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        sender = FakeServer(fleet, "https://remote.test").actor(REMOTE)
        await follow_directly(alice, REMOTE)
        first = [{"type": "Document", "mediaType": "image/png", "url": "https://remote.test/a.png"}]
        sent = note(sender, attachment=first)
        assert (await deliver(alice, sender, create(sender, sent))).applied
        status = await status_of(alice, sent["id"])
        assert status is not None
        video = {
            "type": "Document",
            "mediaType": "video/mp4",
            "url": "https://remote.test/v.mp4",
            "name": "Clip",
        }
        edited = {**sent, "attachment": [video], "updated": "2025-01-01T00:00:00Z"}
        update = activity("Update", sender, edited, to=[PUBLIC])
        assert (await deliver(alice, sender, update)).applied
        items = (await media_store.media_of(alice.federation.db, [status.id]))[status.id]
        assert [(m.kind, m.description, m.remote_url) for m in items] == [
            ("video", "Clip", "https://remote.test/v.mp4")
        ]


async def test_a_captured_mastodon_post_with_an_attachment(
    tmp_path: Path, template_root: Path
) -> None:
    name = "mastodon/pleroma.mastodon-create-with-attachment.json"
    async with world(tmp_path, template_root) as here:
        assert (await here.send(name)).applied
        sent = json.loads((ACTIVITIES / name).read_text())["object"]
        status = await here.status(sent["id"])
        assert status is not None
        items = (await media_store.media_of(here.db, [status.id]))[status.id]
        assert [m.remote_url for m in items] == [a["url"] for a in sent["attachment"]]
        assert (await login(here.target.client)).status_code == 303
        page = await here.target.client.get("/")
        assert page.text.count('class="media-link"') == len(items)


async def test_avatar_and_header_upload_reach_followers(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "ann", "ben") as (_, nodes):
        ann, ben = nodes["ann"], nodes["ben"]
        await befriend(ben, ann)
        assert (await login(ann.client, username="ann")).status_code == 303
        page = await ann.client.get("/settings")
        token = csrf_from(page.text)
        form = {
            "csrf": token,
            "display_name": "Ann",
            "bio": "",
            "field_name": "",
            "field_value": "",
        }
        big = io.BytesIO()
        Image.new("RGB", (1600, 1200), (10, 200, 10)).save(big, "PNG")
        response = await ann.client.post(
            "/settings",
            data=form,
            files=[
                ("avatar", ("me.jpg", jpeg_with_location(), "image/jpeg")),
                ("header", ("wide.png", big.getvalue(), "image/png")),
            ],
        )
        assert response.status_code == 303, response.text
        account = await ann.client.get(
            "/users/ann", headers={"Accept": "application/activity+json"}
        )
        person = account.json()
        assert person["icon"]["url"].startswith("https://ann.test/media/profile/")
        assert person["icon"]["mediaType"] == "image/jpeg"
        assert person["image"]["mediaType"] == "image/png"
        icon = await ann.client.get(person["icon"]["url"])
        assert icon.status_code == 200
        assert max(Image.open(io.BytesIO(icon.content)).size) <= 640
        assert not Image.open(io.BytesIO(icon.content)).getexif().get_ifd(GPS_IFD)

        async def told() -> bool:
            row = await ben.federation.db.fetchone(
                "SELECT avatar_url, header_url FROM actors WHERE ap_id = ?", (ann.actor,)
            )
            return row is not None and row[0] == person["icon"]["url"]

        await eventually(told, what="the Update(Person) at ben's")
        # A file that is not an image is refused, and the avatar stays.
        refused = await ann.client.post(
            "/settings",
            data={**form, "csrf": csrf_from((await ann.client.get("/settings")).text)},
            files=[("avatar", ("me.jpg", b"%PDF-1.4 not an image", "image/jpeg"))],
        )
        assert refused.status_code == 422 and "me.jpg" in refused.text
        again = await ann.client.get("/users/ann", headers={"Accept": "application/activity+json"})
        assert again.json()["icon"]["url"] == person["icon"]["url"]
        # Removing it: the file goes too.
        removed = await ann.client.post(
            "/settings",
            data={
                **form,
                "csrf": csrf_from((await ann.client.get("/settings")).text),
                "remove_avatar": "1",
            },
        )
        assert removed.status_code == 303
        assert (
            "icon"
            not in (
                await ann.client.get("/users/ann", headers={"Accept": "application/activity+json"})
            ).json()
        )
        assert (await ann.client.get(person["icon"]["url"])).status_code == 404


async def test_the_focal_point_from_the_form(user: httpx.AsyncClient, app: Starlette) -> None:
    federation = federation_of(app)
    before = await snapshot(app)
    refused = await compose(
        user, "Off the edge", [("a.png", png(), "image/png", "")], file_focus="2,0"
    )
    assert refused.status_code == 422 and "focal point" in refused.text.lower()
    assert await snapshot(app) == before
    response = await compose(
        user,
        "Look left",
        [("a.png", png(), "image/png", "")],
        file_focus="-0.5,0.25",
        confirm_no_alt="1",
    )
    assert response.status_code == 303
    [post] = await status_store.outbox_page(federation.db, max_id=None, limit=1)
    note = (
        await user.get(
            f"/users/alice/statuses/{post.id}", headers={"Accept": "application/activity+json"}
        )
    ).json()
    assert note["attachment"][0]["focalPoint"] == [-0.5, 0.25]
    page = (await user.get(f"/@alice/{post.id}")).text
    assert re.search(r'class="[^"]*\bfocus-middle-left\b', page)  # not the stylesheet's


async def test_editing_a_post_changes_its_attachments(
    user: httpx.AsyncClient, app: Starlette
) -> None:
    federation = federation_of(app)
    first = await media_actions.upload(federation, png(), filename="a.png", description="Old")
    second = await media_actions.upload(federation, png(8, 8), filename="b.png")
    post = await status_actions.post(
        federation, "Two pictures", media_ids=[first.id, second.id], sensitive=True
    )
    page = await user.get(f"/compose?edit={post.id}")
    assert f'name="description_{first.id}"' in page.text and ">Old</textarea>" in page.text
    assert 'name="sensitive" value="1" checked' in page.text
    token = csrf_from(page.text)
    response = await user.post(
        f"/statuses/{post.id}/edit",
        data={
            "csrf": token,
            "text": "Now different pictures",
            "media_id": [str(first.id), str(second.id)],
            f"description_{first.id}": "New words",
            f"remove_{second.id}": "1",
            "sensitive": "1",
            "file_alt": ["Third"],
            "back": f"/@alice/{post.id}",
        },
        files=[("file", ("c.jpg", jpeg_with_location(), "image/jpeg"))],
    )
    assert response.status_code == 303, response.text
    items = (await media_store.media_of(federation.db, [post.id]))[post.id]
    assert [(m.description, m.media_type) for m in items] == [
        ("New words", "image/png"),
        ("Third", "image/jpeg"),
    ]
    edited = await status_store.get_status(federation.db, post.id)
    assert edited is not None and edited.sensitive and edited.edited_at is not None
    note = (
        await user.get(
            f"/users/alice/statuses/{post.id}", headers={"Accept": "application/activity+json"}
        )
    ).json()
    assert [a["name"] for a in note["attachment"]] == ["New words", "Third"]
    # A refused edit keeps what was there.
    refused = await user.post(
        f"/statuses/{post.id}/edit",
        data={"csrf": token, "text": "x" * 600, "media_id": [str(m.id) for m in items]},
    )
    assert refused.status_code == 400 and "at most 500 characters" in refused.text
    assert len(re.findall(r'name="media_id"', refused.text)) == 2
    assert [m.id for m in (await media_store.media_of(federation.db, [post.id]))[post.id]] == [
        m.id for m in items
    ]
