"""Remote attachments in the shapes real peers send: no `mediaType` at all, the type only on the
`url` Links (PeerTube), a list of Links to choose from, Funkwhale's `mimeType`; and attachment
URLs on private addresses kept only where `allow_private_addresses` says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from solo.federation.attachments import parse_attachment
from solo.store import media as media_store
from tests.fleet import Node, fleet_of
from tests.ingress_helpers import FakeServer, create, deliver, follow_directly, note, status_of
from tests.test_fixtures_ingress import ACTIVITIES

REMOTE = "https://remote.test/users/bob"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200


def files_app() -> Starlette:
    """A file server that says nothing useful about its files' types, as many CDNs do."""

    async def serve(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "blob":
            return Response(PNG, media_type="application/octet-stream")
        if name == "page":
            return Response(b"<html></html>", media_type="application/octet-stream")
        if name.endswith(".png"):
            return Response(PNG, media_type="image/png")
        return Response("not found", status_code=404)

    return Starlette(routes=[Route("/{name}", serve)])


async def stored_media(node: Node, ap_id: str) -> list[media_store.Media]:
    status = await status_of(node, ap_id)
    assert status is not None
    return (await media_store.media_of(node.federation.db, [status.id])).get(status.id, [])


async def test_the_type_comes_from_the_chosen_link_or_the_bytes(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        sender = FakeServer(fleet, "https://remote.test").actor(REMOTE)
        fleet.add("cdn.remote.test", files_app())
        await follow_directly(alice, REMOTE)
        cdn = "https://cdn.remote.test"
        attachments = [
            # No type anywhere, no extension: kept, and judged by its bytes when fetched.
            {"type": "Document", "url": f"{cdn}/blob", "name": "typeless"},
            # PeerTube's shape: the type only on the Links, several files to choose from.
            {
                "type": "Video",
                "name": "clip",
                "url": [
                    {"type": "Link", "mediaType": "text/html", "href": f"{cdn}/watch"},
                    {"type": "Link", "mediaType": "application/x-mpegURL", "href": f"{cdn}/m3u8"},
                    {
                        "type": "Link",
                        "mediaType": "video/mp4",
                        "href": f"{cdn}/1080.mp4",
                        "height": 1080,
                    },
                    {
                        "type": "Link",
                        "mediaType": "video/mp4",
                        "href": f"{cdn}/480.mp4",
                        "height": 480,
                    },
                ],
            },
            # A list of typeless Links: the extension is the best guess until the bytes say.
            {"type": "Document", "url": [{"type": "Link", "href": f"{cdn}/song.ogg"}]},
            # Funkwhale names the type `mimeType`.
            {
                "type": "Audio",
                "url": [
                    {"type": "Link", "mimeType": "text/html", "href": f"{cdn}/track"},
                    {"type": "Link", "mimeType": "audio/ogg", "href": f"{cdn}/listen?id=1"},
                ],
            },
            # Only types we never serve: nothing to show.
            {"type": "Document", "url": [{"type": "Link", "mediaType": "text/html", "href": cdn}]},
        ]
        sent = note(sender, attachment=attachments)
        assert (await deliver(alice, sender, create(sender, sent))).applied
        items = await stored_media(alice, sent["id"])
        assert [(m.kind, m.media_type, m.remote_url) for m in items] == [
            ("unknown", "application/octet-stream", f"{cdn}/blob"),
            ("video", "video/mp4", f"{cdn}/480.mp4"),
            ("audio", "audio/ogg", f"{cdn}/song.ogg"),
            ("audio", "audio/ogg", f"{cdn}/listen?id=1"),
        ]
        # The media cache reads the typeless file's bytes: a PNG, served and shown as one.
        proxied = alice.federation.media.proxy_url(f"{cdn}/blob")
        assert proxied is not None
        served = await alice.client.get(proxied)
        assert served.status_code == 200, served.text
        assert served.headers["content-type"] == "image/png" and served.content == PNG
        items = await stored_media(alice, sent["id"])
        assert (items[0].kind, items[0].media_type) == ("image", "image/png")
        # Generic bytes that are no media type we serve stay refused.
        page = alice.federation.media.proxy_url(f"{cdn}/page")
        assert page is not None
        assert (await alice.client.get(page)).status_code == 502


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # Direct MP4 files at 1080, 720, 480, 360 and 240 lines: the 720 one.
        ("peertube/pleroma.tesla_mock.framatube.org-video.json", "-720.mp4"),
        # Only a playlist at the top; its fragmented MP4s are in the playlist Link's `tag`.
        ("peertube/pleroma.peertube.video-object-mpegURL-only.json", "-720-fragmented.mp4"),
        ("peertube/lemmy.objects.video.json", "-360-fragmented.mp4"),
    ],
)
def test_captured_peertube_videos_offer_a_playable_file(name: str, expected: str) -> None:
    document = json.loads((ACTIVITIES / name).read_text())
    media = parse_attachment(document.get("object", document))
    assert media is not None and media.remote_url is not None
    assert (media.kind, media.media_type) == ("video", "video/mp4")
    assert media.remote_url.endswith(expected)


def test_a_captured_funkwhale_track_offers_its_audio() -> None:
    document = json.loads(
        (ACTIVITIES / "funkwhale/pleroma.tesla_mock.funkwhale_create_audio.json").read_text()
    )
    media = parse_attachment(document["object"])
    assert media is not None and media.remote_url is not None
    assert (media.kind, media.media_type) == ("audio", "audio/ogg")
    assert "/api/v1/listen/" in media.remote_url


@pytest.mark.parametrize("allowed", [True, False])
async def test_attachments_on_private_addresses_follow_the_setting(
    tmp_path: Path, template_root: Path, allowed: bool
) -> None:
    """Two instances on one machine see each other's media only when the setting allows it."""
    async with fleet_of(tmp_path, template_root, "alice", allow_private_addresses=allowed) as (
        fleet,
        nodes,
    ):
        alice = nodes["alice"]
        sender = FakeServer(fleet, "https://remote.test").actor(REMOTE)
        fleet.add("127.0.0.1:8123", files_app())
        await follow_directly(alice, REMOTE)
        url = "http://127.0.0.1:8123/a.png"
        attachment = {"type": "Document", "mediaType": "image/png", "url": url}
        sent = note(sender, attachment=[attachment])
        assert (await deliver(alice, sender, create(sender, sent))).applied
        items = await stored_media(alice, sent["id"])
        if not allowed:
            assert items == []
            return
        assert [m.remote_url for m in items] == [url]
        proxied = alice.federation.media.proxy_url(url)
        assert proxied is not None
        served = await alice.client.get(proxied)
        assert served.status_code == 200 and served.content == PNG
