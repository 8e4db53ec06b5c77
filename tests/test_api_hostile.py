"""Hostile input over the client API: every answer is a refusal (4xx) or a success, never a
server error, whatever the ids, limits, lists, nesting, text or bytes sent, with a user token
and without one."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.test_api_statuses import post, user_token

Case = tuple[str, str, dict[str, Any]]

BIG = "9" * 25
HUGE = "9" * 5000  # past the digits `int()` takes from text
ODD_IDS = (
    *(BIG, HUGE, "9" * 19, "-" + "9" * 19, "-1", "0", "1e5", "0x10", " "),
    *("²", "١٢٣", "ünï", "%00", "a%00b", "%F0%28"),  # non-ASCII digits, NUL, broken UTF-8
)
MANY = [str(i) for i in range(5000)]
FEW = MANY[:500]  # as many as a query string may carry
JSON_TYPE = {"content-type": "application/json"}
FORM_TYPE = {"content-type": "application/x-www-form-urlencoded"}
BROKEN_MULTIPART = {"content-type": "multipart/form-data; boundary=x"}
ID_PATHS = (
    "/api/v1/statuses/{}",
    "/api/v1/statuses/{}/context",
    "/api/v1/statuses/{}/favourited_by",
    "/api/v1/statuses/{}/reblogged_by",
    "/api/v1/statuses/{}/history",
    "/api/v1/statuses/{}/source",
    "/api/v1/accounts/{}",
    "/api/v1/accounts/{}/statuses",
    "/api/v1/accounts/{}/followers",
    "/api/v1/polls/{}",
    "/api/v1/media/{}",
    "/api/v1/notifications/{}",
)
ID_ACTIONS = (
    "/api/v1/statuses/{}/favourite",
    "/api/v1/statuses/{}/reblog",
    "/api/v1/accounts/{}/follow",
    "/api/v1/polls/{}/votes",
    "/api/v1/notifications/{}/dismiss",
    "/api/v1/follow_requests/{}/authorize",
)
PAGED = (
    "/api/v1/timelines/home",
    "/api/v1/timelines/public",
    "/api/v1/timelines/tag/x",
    "/api/v1/notifications",
    "/api/v1/bookmarks",
    "/api/v1/favourites",
    "/api/v1/blocks",
    "/api/v1/mutes",
    "/api/v1/follow_requests",
)


def status(**body: Any) -> Case:
    return ("POST", "/api/v1/statuses", {"json": {"status": "x", **body}})


def raw_json(path: str, body: bytes, method: str = "POST") -> Case:
    return (method, path, {"content": body, "headers": JSON_TYPE})


def profile(**body: Any) -> Case:
    return ("PATCH", "/api/v1/accounts/update_credentials", {"json": body})


def app(**body: Any) -> Case:
    return ("POST", "/api/v1/apps", {"json": {"client_name": "x", **body}})


def poll(options: Any, expires_in: Any = 3600) -> Case:
    return status(poll={"options": options, "expires_in": expires_in})


def odd_id_cases(odd: str) -> list[Case]:
    cases: list[Case] = [("GET", path.format(odd), {}) for path in ID_PATHS]
    cases += [("POST", path.format(odd), {}) for path in ID_ACTIONS]
    cases += [
        ("GET", path, {"params": {key: odd}})
        for path in PAGED
        for key in ("max_id", "since_id", "min_id", "limit")
    ]
    return [
        *cases,
        ("GET", "/api/v1/accounts/relationships", {"params": {"id[]": odd}}),
        ("GET", "/api/v2/search", {"params": {"q": "x", "limit": odd}}),
        ("GET", "/api/v2/search", {"params": {"q": "x", "offset": odd}}),
        ("GET", "/api/v1/accounts/search", {"params": {"q": "x", "offset": odd}}),
        ("GET", "/api/v1/notifications", {"params": {"types[]": odd, "account_id": odd}}),
        status(in_reply_to_id=odd),
        status(media_ids=[odd]),
        poll(["a", "b"], odd),
        ("POST", "/api/v1/markers", {"json": {"home": {"last_read_id": odd}}}),
        ("POST", "/api/v1/polls/1/votes", {"json": {"choices": [odd]}}),
    ]


CASES: list[Case] = [
    *(case for odd in ODD_IDS for case in odd_id_cases(odd)),
    # Long lists.
    ("GET", "/api/v1/accounts/relationships", {"params": [("id[]", i) for i in FEW]}),
    ("GET", "/api/v1/notifications", {"params": [("types[]", "mention")] * 500}),
    ("GET", "/api/v1/markers", {"params": [("timeline[]", "home")] * 500}),
    ("GET", "/api/v1/timelines/tag/x", {"params": [("any[]", "a")] * 500}),
    status(media_ids=MANY),
    poll(MANY),
    ("POST", "/api/v1/polls/1/votes", {"json": {"choices": MANY}}),
    ("PUT", "/api/v1/statuses/1", {"json": {"status": "x", "media_ids": MANY}}),
    profile(fields_attributes=[{"name": "a", "value": "b"}] * 1000),
    app(redirect_uris=["https://x"] * 5000),
    app(redirect_uris="https://a", scopes=["read"] * 10000),
    # Deep nesting, in JSON and in form keys.
    raw_json("/api/v1/statuses", b"[" * 100000 + b"]" * 100000),
    raw_json("/api/v1/statuses", b'{"a":' * 50000 + b"1" + b"}" * 50000),
    raw_json("/api/v1/markers", b'{"home":' * 900 + b"1" + b"}" * 900),
    ("POST", "/api/v1/statuses", {"data": {"status" + "[x]" * 3000: "1"}}),
    ("POST", "/api/v1/statuses", {"data": {"a" + "[]" * 3000: "1"}}),
    # Text that is not text: NUL, lone surrogates, NaN, wrong types, long strings.
    status(status="a\x00b"),
    raw_json("/api/v1/statuses", b'{"status": "\\ud800"}'),
    raw_json("/api/v1/statuses", b'{"status": "x", "spoiler_text": "\\udfff\\ud800"}'),
    raw_json("/api/v1/statuses", b'{"status": NaN, "visibility": Infinity}'),
    raw_json("/api/v1/statuses", b"\xff\xfe"),
    ("POST", "/api/v1/statuses", {"files": {"status": (None, b"\xff\xed\xa0\x80")}}),
    ("POST", "/api/v1/statuses", {"content": b"status=%ED%A0%80%FF", "headers": FORM_TYPE}),
    ("POST", "/api/v1/statuses", {"content": b"--x\r\n\r\n", "headers": BROKEN_MULTIPART}),
    status(status="x" * 100000),
    status(visibility="x" * 10000),
    status(language="\x00" * 100),
    status(scheduled_at="9999-99-99"),
    status(spoiler_text={"a": 1}),
    ("POST", "/api/v1/statuses", {"json": {"status": ["x"]}}),
    poll(["a", "b"], 10**30),
    poll(["a", "b"], -5),
    poll([["a"], {"b": 1}]),
    status(poll="yes"),
    (
        "POST",
        "/api/v1/statuses",
        {"json": {"status": "x"}, "headers": {"Idempotency-Key": BIG * 9}},
    ),
    ("POST", "/api/v1/statuses", {"json": {}, "headers": {"Idempotency-Key": "ü\x7f".encode()}}),
    ("POST", "/api/v1/markers", {"json": {"home": "x"}}),
    ("POST", "/api/v1/markers", {"json": {"home": {"last_read_id": {"a": 1}}}}),
    profile(display_name="x" * 100000),
    profile(note="\x00"),
    profile(fields_attributes={"99999999999999999999": {"name": "a"}}),
    profile(fields_attributes={"²": {"name": "a"}}),
    ("PATCH", "/api/v1/accounts/update_credentials", {"data": {"fields_attributes[9][x]": "a"}}),
    profile(source={"privacy": "x" * 5000}),
    profile(locked="maybe"),
    ("GET", "/api/v2/search", {"params": {"q": "x" * 20000}}),
    ("GET", "/api/v2/search", {"params": {"q": "\x00%_\\"}}),
    ("GET", "/api/v2/search", {"params": {"q": "#" + "ü" * 1000}}),
    ("GET", "/api/v2/search", {"params": {"q": "@a@" + "b" * 300}}),
    ("GET", "/api/v2/search", {"params": {"q": "https://[::1"}}),
    ("GET", "/api/v2/search", {"params": {"q": "x", "type": "\x00"}}),
    ("GET", "/api/v1/accounts/search", {"params": {"q": "x" * 20000, "limit": BIG}}),
    ("GET", "/api/v1/accounts/lookup", {"params": {"acct": "@" * 5000}}),
    ("GET", "/api/v1/accounts/lookup", {"params": {"acct": "a@[::1"}}),
    ("GET", "/api/v1/timelines/tag/" + "x" * 5000, {}),
    ("GET", "/api/v1/timelines/public", {"params": {"local": "maybe"}}),
    app(redirect_uris="https://[::1"),
    app(redirect_uris="https://a", website="http://[::1"),
    # OAuth.
    ("POST", "/oauth/token", {"data": {"grant_type": "password", "client_id": "\x00"}}),
    ("POST", "/oauth/token", {"json": {"grant_type": ["password"]}}),
    ("POST", "/oauth/token", {"headers": {"Authorization": "Basic " + "A" * 100001}}),
    ("POST", "/oauth/token", {"headers": {"Authorization": "Basic //8="}}),
    ("POST", "/oauth/revoke", {"json": {"token": {"a": 1}}}),
    ("GET", "/oauth/authorize", {"params": {"client_id": "\x00", "redirect_uri": "\x00"}}),
    ("GET", "/api/v1/streaming/hashtag", {"params": {"tag": "x" * 10000}}),
]


async def test_hostile_input_never_breaks_the_server(client: httpx.AsyncClient) -> None:
    auth = await user_token(client)
    await post(client, auth, status="hello #x")
    failures = []
    for headers in (auth, {}):
        for method, path, options in CASES:
            options = dict(options)
            sent = {**options.pop("headers", {}), **headers}
            request = client.request(method, path, headers=sent, **options)
            try:
                response = await asyncio.wait_for(request, 10)
            except Exception as error:  # noqa: BLE001 - the transport re-raises the app's error
                failures.append((method, path[:80], str(options)[:100], repr(error)[:200]))
                continue
            if response.status_code >= 500:
                failures.append((method, path[:80], str(options)[:100], response.text[:200]))
    assert not failures, "\n".join(map(str, failures))
