"""The remote media cache: remote files fetched once through the guarded fetcher, checked,
kept under a disk budget (least recently used out first) and served from `/proxy/` with the safe
headers; `solo media prune` by hand."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from solo.app import create_app
from solo.cli import main
from solo.media.cache import verified_type
from solo.media.proxy import MediaProxy
from solo.media.serve import SANDBOX_CSP
from solo.media.storage import LocalStorage, new_key
from solo.net.fetch import ForbiddenAddress
from solo.store import actors as actor_store
from solo.store import media_cache as cache_store
from solo.store.actors import RemoteActor
from solo.store.media_cache import Entry
from tests.conftest import initialise_fast, make_settings
from tests.fleet import Node, fleet_of
from tests.test_login import login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 992  # the magic number is all the cache checks
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 996
HTML = b"<!doctype html><html><script>alert(1)</script></html>" + b" " * 950


class Pictures:
    """A remote file server on pics.test that counts the requests for each path."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.delay = 0.0
        self.app = Starlette(routes=[Route("/{name}", self.serve, methods=["GET"])])

    async def serve(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.hits[name] += 1
        await asyncio.sleep(self.delay)
        if name == "fake.png":
            return Response(HTML, media_type="image/png")
        if name == "page.html":
            return Response(HTML, media_type="text/html")
        if name == "big.png":
            return Response(PNG * 20, media_type="image/png")
        if name.endswith(".jpg"):
            return Response(JPEG, media_type="image/jpeg")
        if name.endswith(".png"):
            return Response(PNG, media_type="image/png; charset=binary")
        return Response("not found", status_code=404)


@asynccontextmanager
async def alice_and_pictures(
    tmp_path: Path, template_root: Path, **values: object
) -> AsyncIterator[tuple[Node, Pictures]]:
    async with fleet_of(tmp_path, template_root, "alice", **values) as (fleet, nodes):
        pictures = Pictures()
        fleet.add("pics.test", pictures.app)
        yield nodes["alice"], pictures


def proxied(node: Node, url: str) -> str:
    path = node.federation.media.proxy_url(url)
    assert path is not None and path.startswith("/proxy/")
    return path


async def cached_urls(node: Node) -> set[str]:
    rows = await node.federation.db.fetchall("SELECT url FROM media_cache")
    return {row[0] for row in rows}


def cached_files(node: Node) -> list[Path]:
    root = node.settings.media_dir / "cache"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


async def test_a_remote_avatar_is_fetched_once_then_served_from_the_cache(
    tmp_path: Path, template_root: Path
) -> None:
    async with alice_and_pictures(tmp_path, template_root) as (alice, pictures):
        async with alice.federation.db.transaction() as conn:
            await actor_store.upsert_actor(
                conn,
                RemoteActor(
                    ap_id="https://pics.test/users/bob",
                    type="Person",
                    username="bob",
                    domain="pics.test",
                    inbox="https://pics.test/users/bob/inbox",
                    shared_inbox=None,
                    key_id=None,
                    public_key_pem=None,
                    avatar_url="https://pics.test/bob.png",
                    header_url="https://pics.test/banner.jpg",
                ),
            )
        assert (await login(alice.client, username="alice")).status_code == 303
        page = await alice.client.get("/@bob@pics.test")
        assert page.status_code == 200
        avatar = re.search(r'<img class="avatar[^"]*" src="(/proxy/[^"]+)" alt=""', page.text)
        banner = re.search(r'<img class="profile-banner" src="(/proxy/[^"]+)"', page.text)
        assert avatar is not None and banner is not None
        assert "pics.test" not in avatar.group(0)  # never the remote address itself

        for _ in range(3):
            response = await alice.client.get(avatar.group(1))
            assert response.status_code == 200
            assert response.content == PNG
            assert response.headers["content-type"] == "image/png"
        assert pictures.hits["bob.png"] == 1
        assert (await alice.client.get(banner.group(1))).content == JPEG
        assert await cached_urls(alice) == {
            "https://pics.test/bob.png",
            "https://pics.test/banner.jpg",
        }
        assert len(cached_files(alice)) == 2


async def test_proxy_answers_carry_the_safe_headers(tmp_path: Path, template_root: Path) -> None:
    async with alice_and_pictures(tmp_path, template_root) as (alice, _):
        path = proxied(alice, "https://pics.test/a.png")
        response = await alice.client.get(path)
        assert response.status_code == 200
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["content-security-policy"] == SANDBOX_CSP
        assert "immutable" in headers["cache-control"]
        assert headers["content-disposition"] == "inline"
        head = await alice.client.head(path)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(PNG))


async def test_a_forged_signature_is_refused(tmp_path: Path, template_root: Path) -> None:
    async with alice_and_pictures(tmp_path, template_root) as (alice, pictures):
        good = proxied(alice, "https://pics.test/a.png")
        _, _, sig, encoded = good.split("/")
        other = proxied(alice, "https://pics.test/b.png").split("/")[3]
        forged = MediaProxy.of("someone else's secret").url("https://pics.test/a.png")
        assert forged is not None
        for path in (
            f"/proxy/{sig[:-2]}AA/{encoded}",
            f"/proxy/{sig}/{other}",
            forged,
            f"/proxy/{sig}/!!not-base64!!",
        ):
            response = await alice.client.get(path)
            assert response.status_code == 403, path
            assert "not signed by this server" in response.text
        assert not pictures.hits
        assert await cached_urls(alice) == set()


async def test_html_served_as_an_image_is_refused_and_not_stored(
    tmp_path: Path, template_root: Path
) -> None:
    async with alice_and_pictures(tmp_path, template_root) as (alice, pictures):
        for name in ("fake.png", "page.html"):
            response = await alice.client.get(proxied(alice, f"https://pics.test/{name}"))
            assert response.status_code == 502
            assert response.headers["content-type"].startswith("text/plain")
            assert "<script>" not in response.text
        missing = await alice.client.get(proxied(alice, "https://pics.test/missing"))
        assert missing.status_code == 404
        assert "no longer has this file" in missing.text
        assert pictures.hits["fake.png"] == 1
        assert await cached_urls(alice) == set()
        assert cached_files(alice) == []


async def test_a_file_over_the_upload_limit_is_refused(tmp_path: Path, template_root: Path) -> None:
    async with alice_and_pictures(tmp_path, template_root, max_upload_bytes=4096) as (alice, _):
        response = await alice.client.get(proxied(alice, "https://pics.test/big.png"))
        assert response.status_code == 502
        assert await cached_urls(alice) == set()


PRIVATE = [
    "https://127.0.0.1/a.png",
    "https://10.1.2.3/a.png",
    "https://169.254.169.254/latest/meta-data.png",
    "https://[::1]/a.png",
    "https://[::ffff:127.0.0.1]/a.png",
    "http://pics.test/a.png",  # plain http only for test instances
]


async def test_private_addresses_are_refused_and_nothing_is_stored(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        for url in PRIVATE:
            with pytest.raises(ForbiddenAddress):
                await alice.federation.media.fetch(url)
            response = await alice.client.get(proxied(alice, url))
            assert response.status_code == 404, url
            assert "does not fetch from" in response.text
        assert not [r for r in fleet.requests if r.url.host != "alice.test"]
        assert await cached_urls(alice) == set()


async def test_a_name_resolving_to_a_private_address_is_refused_at_connect(
    tmp_path: Path, template_root: Path
) -> None:
    """No test transport here: the real pinned connection layer checks the resolved address."""
    settings = make_settings(tmp_path / "data", resolve="pics.test=127.0.0.1")
    await initialise_fast(settings, template_root)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        media = app.state.federation.media
        with pytest.raises(ForbiddenAddress):
            await media.fetch("https://pics.test/a.png")
        assert await cache_store.total_size(app.state.federation.db) == 0


async def test_requests_for_one_file_share_one_fetch(tmp_path: Path, template_root: Path) -> None:
    async with alice_and_pictures(tmp_path, template_root) as (alice, pictures):
        pictures.delay = 0.1
        media = alice.federation.media
        results = await asyncio.gather(*(media.fetch("https://pics.test/x.png") for _ in range(5)))
        assert all(result == (PNG, "image/png") for result in results)
        assert pictures.hits["x.png"] == 1


async def test_use_is_recorded_at_most_once_an_hour(tmp_path: Path, template_root: Path) -> None:
    async with alice_and_pictures(tmp_path, template_root) as (alice, _):
        media, db = alice.federation.media, alice.federation.db
        url = "https://pics.test/a.png"
        await media.fetch(url)
        first = await cache_store.get(db, url)
        assert first is not None
        await media.fetch(url)
        again = await cache_store.get(db, url)
        assert again is not None and again.last_used_at == first.last_used_at
        await db.execute("UPDATE media_cache SET last_used_at = ? WHERE url = ?", (1.0, url))
        await media.fetch(url)
        touched = await cache_store.get(db, url)
        assert touched is not None and touched.last_used_at > time.time() - 60


async def test_the_budget_keeps_the_most_recently_used(tmp_path: Path, template_root: Path) -> None:
    async with alice_and_pictures(tmp_path, template_root, media_cache_bytes=3500) as (
        alice,
        pictures,
    ):
        media, db = alice.federation.media, alice.federation.db
        a, b, c, d = (f"https://pics.test/{name}.png" for name in "abcd")
        for url in (a, b, c):
            await media.fetch(url)
        # Seen long ago in this order; then `a` is shown again and becomes the most recent.
        for age, url in enumerate((c, b, a)):
            await db.execute(
                "UPDATE media_cache SET last_used_at = ? WHERE url = ?", (1000.0 - age, url)
            )
        await media.fetch(a)
        await media.fetch(d)  # 4000 bytes > 3500: the least recently used goes
        assert await cached_urls(alice) == {a, c, d}
        assert await media.usage() == 3000
        assert len(cached_files(alice)) == 3
        assert pictures.hits["a.png"] == 1
        await media.fetch(b)  # fetched again, and now `c` is the oldest
        assert pictures.hits["b.png"] == 2
        assert await cached_urls(alice) == {a, b, d}
        assert await media.prune(1500) == (2, 2000)
        assert await cached_urls(alice) == {b}
        assert len(cached_files(alice)) == 1


async def _fill_cache(data_dir: Path, template_root: Path, sizes: list[int]) -> None:
    settings = make_settings(data_dir)
    await initialise_fast(settings, template_root)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        db = app.state.federation.db
        storage = LocalStorage(settings.media_dir)
        for number, size in enumerate(sizes):
            key = new_key("cache", "png")
            await storage.put(key, PNG[:8] + b"\x00" * (size - 8), "image/png")
            url = f"https://pics.test/{number}.png"
            await cache_store.put(db, Entry(url, key, "image/png", size, 1.0, float(number)))


def test_solo_media_prune_prints_what_it_freed(
    tmp_path: Path, template_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    mb = 1024 * 1024
    asyncio.run(_fill_cache(data_dir, template_root, [mb, mb, mb]))
    assert main(["--data-dir", str(data_dir), "media", "prune", "--budget", str(mb * 3 // 2)]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "Removed 2 files, freed 2.0 MB; the cache now holds 1.0 MB of 1.5 MB."
    files = [p for p in (data_dir / "media" / "cache").rglob("*") if p.is_file()]
    assert len(files) == 1
    assert main(["--data-dir", str(data_dir), "media", "prune"]) == 0
    assert capsys.readouterr().out.startswith("Removed 0 files, freed 0.0 MB;")


def test_only_http_urls_are_proxied() -> None:
    proxy = MediaProxy.of("secret")
    for url in (
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "ftp://pics.test/a.png",
        "/media/a.png",
        "https://user@pics.test/a.png",
        'https://pics.test/a.png"><script>',
        "",
        None,
    ):
        assert proxy.url(url) is None, url
    path = proxy.url("https://pics.test/a.png?size=2")
    assert path is not None
    _, _, sig, encoded = path.split("/")
    assert proxy.target(sig, encoded) == "https://pics.test/a.png?size=2"
    assert MediaProxy.of("other").target(sig, encoded) is None


@pytest.mark.parametrize(
    ("data", "declared", "expected"),
    [
        (PNG, "image/png", "image/png"),
        (PNG, "image/jpeg", "image/png"),  # a PNG named .jpg is still shown, as a PNG
        (JPEG, "image/jpeg", "image/jpeg"),
        (b"GIF89a" + b"\x00" * 10, "image/gif", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp", "image/webp"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4", "video/mp4"),
        (b"\x00\x00\x00\x18ftypM4A ", "audio/mp4", "audio/mp4"),
        (b"\x1a\x45\xdf\xa3\x01", "video/webm", "video/webm"),
        (b"ID3\x04\x00", "audio/mpeg", "audio/mpeg"),
        (b"\xff\xfb\x90\x00", "audio/mpeg", "audio/mpeg"),
        (b"OggS\x00\x02", "audio/ogg", "audio/ogg"),
        (HTML, "image/png", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png", None),
        (PNG, "video/mp4", None),
        (b"\x00\x00\x00\x18ftypmp42", "image/png", None),
        (b"", "image/gif", None),
    ],
)
def test_the_bytes_must_be_what_the_type_says(
    data: bytes, declared: str, expected: str | None
) -> None:
    assert verified_type(data, declared) == expected


async def test_a_missing_file_is_fetched_again(tmp_path: Path, template_root: Path) -> None:
    async with alice_and_pictures(tmp_path, template_root) as (alice, pictures):
        url = "https://pics.test/a.png"
        await alice.federation.media.fetch(url)
        for path in cached_files(alice):
            path.unlink()
        assert await alice.federation.media.fetch(url) == (PNG, "image/png")
        assert pictures.hits["a.png"] == 2
        assert len(cached_files(alice)) == 1


async def test_the_proxy_needs_no_login_but_only_serves_signed_paths(
    tmp_path: Path, template_root: Path
) -> None:
    async with (
        alice_and_pictures(tmp_path, template_root) as (alice, _),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=alice.app), base_url=alice.settings.base_url
        ) as anonymous,
    ):
        ok = await anonymous.get(proxied(alice, "https://pics.test/a.png"))
        assert ok.status_code == 200
        assert (await anonymous.get("/proxy/x/y")).status_code == 403
