"""Domain blocks on one instance: what a person may type (and the reasons for what is refused),
`/api/v1/domain_blocks` with Mastodon's paging and errors, and blocklist files in and out
(Mastodon's blocked_domains.csv or a plain list; duplicates, bad rows, binary and huge files)."""

from __future__ import annotations

import functools
import time

import httpx
import pytest
from starlette.applications import Starlette

from solo.actions.blocklists import HEADER, MAX_LINES
from solo.actions.domain_blocks import InvalidDomain, normalize
from solo.store import domain_blocks
from solo.store.actors import RemoteActor, store_actor
from tests.test_api_statuses import user_token
from tests.test_login import csrf_from, login
from tests.test_web_pages import federation_of, send

OWN = "solo.test"


@pytest.fixture
async def user(client: httpx.AsyncClient) -> httpx.AsyncClient:
    assert (await login(client)).status_code == 303
    return client


@pytest.mark.parametrize(
    ("typed", "domain"),
    [
        ("spam.example", "spam.example"),
        ("  Spam.EXAMPLE. ", "spam.example"),
        ("https://spam.example/@someone/123", "spam.example"),
        ("spam.example/about", "spam.example"),
        ("spam.example:8443", "spam.example"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("tk", "tk"),
    ],
)
def test_typed_domains_are_normalised(typed: str, domain: str) -> None:
    assert normalize(typed, OWN) == domain


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("", "Enter a domain"),
        ("   ", "Enter a domain"),
        ("*.spam.example", "wildcards are not accepted; block spam.example instead"),
        ("192.0.2.7", "IP address"),
        ("[2001:db8::1]", "IP address"),
        ("2001:db8::1", "IP address"),
        ("https://192.0.2.7/", "IP address"),
        ("1.2.3", "IP address"),
        ("solo.test", "own domain"),
        ("test", "own domain"),  # it would cover solo.test
        ("https://solo.test:8443/", "own domain"),
        ("bad_name.example", "not a valid domain"),
        ("-dash.example", "not a valid domain"),
        ("a" * 64 + ".example", "not a valid domain"),
        ("https:///nothing", "without a server name"),
        ("@bob@spam.example", "looks like an account"),
        ("x" * 600, "too long"),
    ],
)
def test_what_cannot_be_blocked_says_why(typed: str, why: str) -> None:
    with pytest.raises(InvalidDomain, match=why.replace("*", r"\*")):
        normalize(typed, OWN)


async def test_the_api_blocks_pages_and_unblocks(app: Starlette, client: httpx.AsyncClient) -> None:
    auth = await user_token(client)
    for domain in ("a.example", "b.example", "c.example"):
        response = await client.post("/api/v1/domain_blocks", data={"domain": domain}, headers=auth)
        assert response.status_code == 200 and response.json() == {}
    again = await client.post("/api/v1/domain_blocks", json={"domain": "A.example"}, headers=auth)
    assert again.status_code == 200

    first = await client.get("/api/v1/domain_blocks", params={"limit": 2}, headers=auth)
    assert first.json() == ["c.example", "b.example"]
    older = first.links["next"]["url"]
    assert "max_id=" in older and "limit=2" in older
    second = await client.get(older, headers=auth)
    assert second.json() == ["a.example"]
    newer = await client.get(second.links["prev"]["url"], headers=auth)
    assert newer.json() == ["c.example", "b.example"]

    gone = await client.request(
        "DELETE", "/api/v1/domain_blocks", params={"domain": "b.example"}, headers=auth
    )
    assert gone.status_code == 200 and gone.json() == {}
    listed = await client.get("/api/v1/domain_blocks", headers=auth)
    assert listed.json() == ["c.example", "a.example"]
    assert await domain_blocks.domains(federation_of(app).db) == {"a.example", "c.example"}


async def test_each_account_stored_is_covered_by_a_block_of_its_domain_or_its_host(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """An account stored while a block covers its handle's domain or its id's host (or a parent
    of either) is left out from then on; with no block at all, none is."""
    db = federation_of(app).db

    async def stored(name: str, domain: str, host: str) -> int:
        actor = RemoteActor(
            f"https://{host}/users/{name}", "Person", name, domain,
            f"https://{host}/users/{name}/inbox", None, None, None,
        )  # fmt: skip
        row = await db.write(functools.partial(store_actor, actor=actor))
        assert row.id is not None
        return row.id

    async def covered() -> set[int]:
        return {row[0] for row in await db.fetchall("SELECT actor_id FROM domain_blocked_actors")}

    before = await stored("early", "spam.example", "spam.example")
    assert await covered() == set()
    auth = await user_token(client)
    block = {"domain": "spam.example"}
    blocked = await client.post("/api/v1/domain_blocks", data=block, headers=auth)
    assert blocked.status_code == 200
    assert await covered() == {before}  # the block covers those already stored

    sub = await stored("sub", "social.spam.example", "social.spam.example")
    by_host = await stored("host", "fine.example", "spam.example")
    by_handle = await stored("handle", "spam.example", "fine.example")
    fine = await stored("fine", "fine.example", "fine.example")
    lookalike = await stored("alike", "notspam.example", "notspam.example")
    assert await covered() == {before, sub, by_host, by_handle}
    assert fine not in await covered() and lookalike not in await covered()


async def test_the_api_refuses_bad_domains_and_missing_rights(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    auth = await user_token(client)
    for sent, message in (
        ({}, "Validation failed: domain can't be blank"),
        ({"domain": "*.spam.example"}, "Validation failed: Domain *.spam.example: wildcards"),
        ({"domain": "10.0.0.1"}, "is an IP address"),
        ({"domain": "solo.test"}, "this server's own domain"),
    ):
        response = await client.post("/api/v1/domain_blocks", data=sent, headers=auth)
        assert response.status_code == 422
        assert message in response.json()["error"]
    read_only = await user_token(client, scope="read")
    refused = await client.post(
        "/api/v1/domain_blocks", data={"domain": "x.example"}, headers=read_only
    )
    assert refused.status_code == 403
    assert (
        await client.post("/api/v1/domain_blocks", data={"domain": "x.example"})
    ).status_code == 401
    assert await domain_blocks.domains(federation_of(app).db) == frozenset()


async def _import(client: httpx.AsyncClient, content: bytes) -> httpx.Response:
    page = await client.get("/settings/domain_blocks")
    return await client.post(
        "/settings/domain_blocks/import",
        data={"csrf": csrf_from(page.text)},
        files={"file": ("blocked_domains.csv", content, "text/csv")},
    )


async def test_a_mastodon_blocklist_is_imported_with_what_was_skipped_and_why(
    app: Starlette, user: httpx.AsyncClient
) -> None:
    await send(user, "/settings/domain_blocks", domain="old.example")
    csv = (
        "\ufeff#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
        "spam.example,suspend,true,true,Spam waves,false\n"
        'bad.example,suspend,false,false,"Harassment, repeatedly",false\n'
        "SPAM.example,suspend,false,false,,false\n"
        "quiet.example,silence,false,false,,false\n"
        "*.wild.example,suspend,false,false,,false\n"
        "192.0.2.1,suspend,false,false,,false\n"
        "solo.test,suspend,false,false,,false\n"
        "old.example,suspend,false,false,,false\n"
        "\n"
    ).encode()
    response = await _import(user, csv)
    assert response.status_code == 200
    assert (
        "2 domains blocked; 6 skipped (2 invalid, 1 listed twice, 1 of severity silence,"
        " 1 our own domain, 1 already blocked)."
    ) in response.text.replace("&#39;", "'")
    assert "Line 6: <code>*.wild.example</code>" in response.text
    blocks = {b.domain: b.reason for b in await domain_blocks.all_blocks(federation_of(app).db)}
    assert blocks == {
        "old.example": "",
        "spam.example": "Spam waves",
        "bad.example": "Harassment, repeatedly",
    }

    exported = await user.get("/settings/domain_blocks/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert 'filename="blocked_domains.csv"' in exported.headers["content-disposition"]
    lines = exported.text.splitlines()
    assert lines[0] == ",".join(HEADER)
    assert lines[1:] == [
        'bad.example,suspend,true,true,"Harassment, repeatedly",false',
        "old.example,suspend,true,true,,false",
        "spam.example,suspend,true,true,Spam waves,false",
    ]
    # The export imports again with nothing new.
    again = await _import(user, exported.content)
    assert "0 domains blocked; 3 skipped (3 already blocked)." in again.text


async def test_a_plain_list_of_domains_is_imported(app: Starlette, user: httpx.AsyncClient) -> None:
    listing = (
        b"# my list\none.example\r\ntwo.example # noisy\n\nhttps://three.example/\none.example\n"
    )
    response = await _import(user, listing)
    assert "3 domains blocked; 1 skipped (1 listed twice)." in response.text
    assert await domain_blocks.domains(federation_of(app).db) == {
        "one.example",
        "two.example",
        "three.example",
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(256)) * 4, "This is not a text file."),
        (b"\xff\xfe\xfa not utf-8", "This file is not UTF-8 text."),
        (b"  \n\n", "The file is empty."),
        (b"#name,#severity\nspam.example,suspend\n", "The CSV has no #domain column."),
        (
            b"#domain\n" + b"".join(b"d%d.example\n" % i for i in range(100_000)),
            f"The file has 100,001 lines; at most {MAX_LINES:,} are taken at once.",
        ),
        (b"x" * (3 * 1024 * 1024), "The file is larger than 2 MB"),
    ],
)
async def test_a_file_that_is_no_blocklist_is_refused_whole(
    app: Starlette, user: httpx.AsyncClient, content: bytes, message: str
) -> None:
    started = time.monotonic()
    response = await _import(user, content)
    assert response.status_code == 400
    assert message in response.text and "Nothing was blocked." in response.text
    assert time.monotonic() - started < 20
    assert await domain_blocks.domains(federation_of(app).db) == frozenset()


async def test_the_web_form_refuses_with_the_reason_and_keeps_what_was_typed(
    app: Starlette, user: httpx.AsyncClient
) -> None:
    response = await send(user, "/settings/domain_blocks", domain="*.spam.example", reason="why")
    assert response.status_code == 422
    assert "wildcards are not accepted" in response.text
    assert 'value="*.spam.example"' in response.text and 'value="why"' in response.text
    no_file = await send(user, "/settings/domain_blocks/import")
    assert no_file.status_code == 422 and "Choose a file to import." in no_file.text
    not_blocked = await send(user, "/settings/domain_blocks/remove", domain="nope.example")
    assert not_blocked.status_code == 303
    assert "nope.example was not blocked." in (await user.get("/settings/domain_blocks")).text


async def test_the_list_is_paged_newest_first(app: Starlette, user: httpx.AsyncClient) -> None:
    listing = "".join(f"d{i:02}.example\n" for i in range(25)).encode()
    await _import(user, listing)
    first = await user.get("/settings/domain_blocks")
    assert "Blocked (25)" in first.text
    assert first.text.count('action="/settings/domain_blocks/remove"') == 20
    older = first.text.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = await user.get(older)
    assert second.text.count('action="/settings/domain_blocks/remove"') == 5


async def test_the_pages_need_a_login(client: httpx.AsyncClient) -> None:
    for path in ("/settings/domain_blocks", "/settings/domain_blocks/export"):
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login"
