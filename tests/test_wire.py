"""Speed on the wire: compressed answers (gzip, brotli), static files under content-hashed
names cached for a year, and the CSRF token masked per page so compression leaks nothing."""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import re
import time
from collections.abc import AsyncIterator

import brotli
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from solo.actions import statuses
from solo.edge.assets import IMMUTABLE
from solo.edge.compression import Compression, choose_encoding
from tests.test_api_streaming import Live, live  # noqa: F401 (the fixture)
from tests.test_login import csrf_from, login

RAW = {"Accept-Encoding": "identity"}


def raw_client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://solo.test")


async def raw_get(
    http: httpx.AsyncClient, path: str, **headers: str
) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent, not decoded."""
    async with http.stream("GET", path, headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


def without_csrf(html: bytes) -> bytes:
    """The page less its CSRF tokens, which differ on every render."""
    return re.sub(rb'name="csrf" value="[^"]*"', b"", html)


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("gzip, deflate, br", "br"),
        ("gzip", "gzip"),
        ("br;q=0.5, gzip;q=0.9", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("*", "br"),
        ("*;q=0.1, br;q=0", "gzip"),
        ("gzip;q=0, br;q=0", None),
        ("identity", None),
        ("", None),
        ("x-gzip", "gzip"),
        ("GZIP;Q=1.0", "gzip"),
        ("br;q=nonsense, gzip", "gzip"),
    ],
)
def test_accept_encoding_q_values(header: str, chosen: str | None) -> None:
    assert choose_encoding(header, ("br", "gzip")) == chosen


def test_without_brotli_installed_gzip_serves_who_offers_it() -> None:
    assert choose_encoding("br, gzip", ("gzip",)) == "gzip"
    assert choose_encoding("br", ("gzip",)) is None
    assert choose_encoding("x" * 100_000 + ", gzip", ("gzip",)) is None  # read 512 chars only


async def test_pages_round_trip_through_gzip_and_brotli(client: httpx.AsyncClient) -> None:
    await login(client)
    for n in range(5):
        token = csrf_from((await client.get("/")).text)
        text = f"Post number {n} " + "words " * 30
        posted = await client.post("/statuses", data={"csrf": token, "text": text})
        assert posted.status_code == 303
    plain, identity = await raw_get(client, "/@alice", **RAW)
    assert "content-encoding" not in plain.headers
    assert "accept-encoding" in plain.headers["vary"].lower()
    for coding, decode in (("gzip", gzip.decompress), ("br", brotli.decompress)):
        response, body = await raw_get(client, "/@alice", **{"Accept-Encoding": coding})
        assert response.status_code == 200
        assert response.headers["content-encoding"] == coding
        assert "accept-encoding" in response.headers["vary"].lower()
        assert int(response.headers["content-length"]) == len(body) < len(identity) / 2
        assert without_csrf(decode(body)) == without_csrf(identity)
    home, body = await raw_get(client, "/", **{"Accept-Encoding": "br"})
    assert home.headers["content-encoding"] == "br"
    assert b"Post number 4" in brotli.decompress(body)


async def test_json_is_compressed_and_small_bodies_are_not(client: httpx.AsyncClient) -> None:
    actor, body = await raw_get(
        client, "/users/alice", Accept="application/activity+json", **{"Accept-Encoding": "gzip"}
    )
    assert actor.headers["content-encoding"] == "gzip"
    plain = await client.get("/users/alice", headers={"Accept": "application/activity+json"})
    assert actor.headers["etag"] == plain.headers["etag"]  # revalidates whatever the coding
    assert b'"preferredUsername"' in gzip.decompress(body)
    profile, _ = await raw_get(
        client, "/users/alice", Accept="text/html", **{"Accept-Encoding": "br"}
    )
    assert profile.headers["content-encoding"] == "br"
    vary = {v.strip().lower() for v in profile.headers["vary"].split(",")}
    assert {"accept", "accept-encoding"} <= vary  # the page's own Vary kept
    tiny, body = await raw_get(client, "/.well-known/host-meta", **{"Accept-Encoding": "gzip"})
    assert len(body) < 512
    assert "content-encoding" not in tiny.headers


async def test_images_head_and_ranges_are_left_alone(client: httpx.AsyncClient) -> None:
    image, _ = await raw_get(
        client, "/static/avatar-missing.png", **{"Accept-Encoding": "gzip, br"}
    )
    assert image.headers["content-type"] == "image/png"
    assert "content-encoding" not in image.headers
    head = await client.head("/@alice", headers={"Accept-Encoding": "gzip"})
    ranged = await client.get("/@alice", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
    assert head.status_code == 200 and "content-encoding" not in head.headers
    assert "content-encoding" not in ranged.headers


async def test_hashed_static_files_are_immutable_and_plain_names_still_work(
    client: httpx.AsyncClient,
) -> None:
    page = (await client.get("/login")).text
    css = re.search(r'href="(/static/style\.[0-9a-f]{10}\.css)"', page)
    assert css, "the page links the hashed stylesheet"
    hashed, body = await raw_get(client, css.group(1), **{"Accept-Encoding": "br"})
    assert hashed.status_code == 200
    assert hashed.headers["cache-control"] == IMMUTABLE
    assert hashed.headers["content-type"].startswith("text/css")
    assert hashed.headers["content-encoding"] == "br"
    plain, original = await raw_get(client, "/static/style.css", **RAW)
    assert plain.status_code == 200
    assert plain.headers["cache-control"] == "no-cache"
    assert brotli.decompress(body) == original
    zipped, body = await raw_get(client, "/static/style.css", **{"Accept-Encoding": "gzip"})
    assert gzip.decompress(body) == original
    again = await client.get("/static/style.css", headers={"If-None-Match": zipped.headers["etag"]})
    assert again.status_code == 304
    head = await client.head(css.group(1))
    assert head.status_code == 200 and head.headers["cache-control"] == IMMUTABLE
    assert (await client.get("/static/nothing.css")).status_code == 404
    assert (await client.get("/static/../solo.toml")).status_code == 404
    assert (await client.get("/static/style.0123456789.css")).status_code == 404


async def test_a_first_visit_inlines_the_stylesheet_and_later_pages_link_it(
    client: httpx.AsyncClient,
) -> None:
    """A browser without the stylesheet gets it in the page (no second round trip before the
    first paint), allowed by its hash alone, and a prefetch of the file; once it has fetched
    the file (its answer sets the cookie), pages link it."""
    first = await client.get("/@alice")
    style = re.search(r"<style>(.*?)</style>", first.text, re.DOTALL)
    assert style, "the first page inlines the stylesheet"
    original = (await client.get("/static/style.css")).content  # the plain name: no cookie
    assert "solo_css" not in client.cookies
    assert style.group(1).encode() == original
    digest = base64.b64encode(hashlib.sha256(original).digest()).decode()
    policy = first.headers["content-security-policy"]
    assert f"style-src 'self' 'sha256-{digest}';" in policy and "unsafe-inline" not in policy
    prefetch = re.search(
        r'<link rel="prefetch" href="(/static/style\.[0-9a-f]{10}\.css)">', first.text
    )
    assert prefetch and 'rel="stylesheet"' not in first.text
    fetched = await client.get(prefetch.group(1))
    assert fetched.status_code == 200
    assert "HttpOnly" in fetched.headers["set-cookie"]
    assert client.cookies["solo_css"] == prefetch.group(1).split(".")[1]
    later = await client.get("/@alice")
    assert "<style>" not in later.text
    assert f'<link rel="stylesheet" href="{prefetch.group(1)}">' in later.text
    # The stylesheet of another release is not the one this page needs: inlined again.
    client.cookies.set("solo_css", "0123456789")
    assert "<style>" in (await client.get("/@alice")).text


async def test_the_csrf_token_differs_on_every_render_and_each_is_accepted(
    client: httpx.AsyncClient,
) -> None:
    await login(client)
    first = csrf_from((await client.get("/settings")).text)
    second = csrf_from((await client.get("/settings")).text)
    assert first != second
    secret = client.cookies  # the secret itself never appears in a page
    assert secret
    for n, token in enumerate((first, second)):
        posted = await client.post("/statuses", data={"csrf": token, "text": f"Masked {n}"})
        assert posted.status_code == 303, posted.text
    flipped = first[:-2] + ("AA" if not first.endswith("AA") else "BB")
    refused = await client.post("/statuses", data={"csrf": flipped, "text": "Forged"})
    assert refused.status_code == 403
    for junk in ("", "x", "!!!!", "A" * 300, "=" * 86):
        refused = await client.post("/statuses", data={"csrf": junk, "text": "Forged"})
        assert refused.status_code == 403
    home = (await client.get("/")).text
    assert "Masked 1" in home and "Forged" not in home


async def test_server_sent_events_are_not_buffered(live: Live) -> None:  # noqa: F811
    async with (
        live.client() as http,
        http.stream(
            "GET",
            "/api/v1/streaming/user",
            headers={**live.bearer(), "Accept-Encoding": "br, gzip"},
        ) as response,
    ):
        assert response.status_code == 200
        assert "content-encoding" not in response.headers
        lines = response.aiter_lines()
        assert (await anext(lines)).startswith(":")
        await statuses.post(live.federation, "Straight through")
        started = time.monotonic()
        while not (line := await asyncio.wait_for(anext(lines), 5)).startswith("data:"):
            pass
        assert "Straight through" in line
        assert time.monotonic() - started < 2


def _streaming_app() -> Starlette:
    async def chunks() -> AsyncIterator[bytes]:
        for n in range(3):
            yield f"chunk {n} ".encode() * 200
            await asyncio.sleep(0)

    async def stream(request: Request) -> Response:
        return StreamingResponse(chunks(), media_type="text/csv")

    async def fixed(request: Request) -> Response:
        return PlainTextResponse("x" * 2000, headers={"Cache-Control": "no-transform"})

    app = Starlette(routes=[Route("/stream", stream), Route("/fixed", fixed)])
    app.add_middleware(Compression)
    return app


async def test_other_streams_are_compressed_chunk_by_chunk_and_no_transform_is_kept() -> None:
    app = _streaming_app()
    async with raw_client(app) as http:
        await _check_streaming(http)


async def _check_streaming(http: httpx.AsyncClient) -> None:
    response, body = await raw_get(http, "/stream", **{"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert "content-length" not in response.headers
    assert gzip.decompress(body) == b"".join(f"chunk {n} ".encode() * 200 for n in range(3))
    response, body = await raw_get(http, "/stream", **{"Accept-Encoding": "br"})
    assert brotli.decompress(body).startswith(b"chunk 0 ")
    kept, body = await raw_get(http, "/fixed", **{"Accept-Encoding": "gzip"})
    assert "content-encoding" not in kept.headers and body == b"x" * 2000
