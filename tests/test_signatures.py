"""Draft-cavage HTTP signatures: published vectors, Mastodon's spec cases, our signer, refusals.

RFC 9421 has its own file, tests/test_rfc9421.py. The vector files are described in
tests/fixtures/signatures/SOURCES.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from starlette.datastructures import Headers

from solo.errors import Unauthorized
from solo.federation.signatures import (
    BadSignature,
    DigestMismatch,
    HTTPSignatureAuth,
    MalformedSignature,
    PreparedSignature,
    SignatureError,
    SignatureMissing,
    SignatureParams,
    SignaturePolicyError,
    SignatureTimeError,
    UnsupportedAlgorithm,
    VerifiedSignature,
    body_digest,
    cavage_signing_string,
    draft_signature,
    http_date,
    parse_signature_header,
    post_draft,
    prepare,
    sign_headers,
    verify,
)

FIXTURES = Path(__file__).parent / "fixtures" / "signatures"
DRAFT = json.loads((FIXTURES / "draft-cavage.json").read_text())
MASTODON = json.loads((FIXTURES / "mastodon-signature-verification.json").read_text())
FROZEN: int = MASTODON["clock"]["unix"]  # 2023-12-20T10:00:00Z, Mastodon's spec clock
BOB = "https://remote.domain/users/bob#main-key"
ALICE = "https://remote.domain/users/alice#main-key"


def _private(name: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key((FIXTURES / "keys" / name).read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


BOB_PRIVATE = _private("mastodon-spec-bob.private.pem")
BOB_PUBLIC_PEM = (FIXTURES / "keys" / "mastodon-spec-bob.public.pem").read_text()
TEST_PUBLIC_PEM = (FIXTURES / "keys" / "draft-cavage-Test.public.pem").read_bytes()

DRAFT_CASES = [pytest.param(case, id=case["name"]) for case in DRAFT["cases"]]
MASTODON_DRAFT_CASES = [
    pytest.param(case, id=case["name"])
    for case in MASTODON["cases"]
    if case["scheme"] in ("draft-cavage", "none")
]


def _signature_value(headers: dict[str, str]) -> str:
    # httpsig's cases carry the draft's other form, "Authorization: Signature <params>".
    if "Signature" in headers:
        return headers["Signature"]
    return headers["Authorization"].removeprefix("Signature ")


# --- (a) signing strings -------------------------------------------------------------------------


@pytest.mark.parametrize("case", DRAFT_CASES)
def test_signing_string_matches_the_draft_vectors(case: dict[str, Any]) -> None:
    params = parse_signature_header(_signature_value(case["headers"]))
    assert list(params.headers) == case["signed_headers"]
    assert params.key_id == case["keyId"]
    assert (
        cavage_signing_string(case["method"], case["path"], case["headers"], params)
        == (case["signing_string"])
    )


# Mastodon retries with the query left out of (request-target); its vector shows that string.
QUERY_LEFT_OUT = "draft: query string left out of the signed (request-target)"


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c["name"]) for c in MASTODON["cases"] if c["scheme"] == "draft-cavage"],
)
def test_signing_string_matches_mastodon(case: dict[str, Any]) -> None:
    params = parse_signature_header(case["headers"]["Signature"])
    target = case["path"].partition("?")[0] if case["name"] == QUERY_LEFT_OUT else case["path"]
    assert (
        cavage_signing_string(case["method"], target, case["headers"], params)
        == (case["signing_string"])
    )


# --- (b) verdicts --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", DRAFT_CASES)
def test_draft_vectors_verify_cryptographically(case: dict[str, Any]) -> None:
    params = parse_signature_header(_signature_value(case["headers"]))
    message = case["signing_string"].encode()
    prepared = PreparedSignature(
        "draft-cavage", "Test", "rsa-v1_5-sha256", message, params.signature
    )
    if case["expect"] == "valid":
        assert verify(prepared, TEST_PUBLIC_PEM) == VerifiedSignature(
            "draft-cavage", "Test", "rsa-v1_5-sha256"
        )
    else:
        with pytest.raises(BadSignature):
            verify(prepared, TEST_PUBLIC_PEM)


AUTHORIZATION_FORM = "draft C.2 signature sent as an Authorization header"
# Our policy verdicts on the draft vectors (checked at each vector's own Date). They differ from
# the vectors' cryptographic verdict where the vector signs too little for us: the draft's
# examples predate the rules that host, (request-target) and, on a POST, digest be signed.
DRAFT_POLICY: dict[str, type[SignatureError] | None] = {
    "httpsig default (no headers parameter: signs date only)": SignaturePolicyError,
    "httpsig basic ((request-target) host date)": SignaturePolicyError,  # digest not signed
    "httpsig all headers": None,
    "draft-cavage-12 C.1 default test (Signature header)": SignaturePolicyError,
    "draft-cavage-12 C.2 basic test (Signature header)": SignaturePolicyError,
    "draft-cavage-12 C.3 all headers test (Signature header)": None,
    "httpsig basic signature sent with the draft's Date": SignaturePolicyError,
    "httpsig basic signature on a different request-target": SignaturePolicyError,
    "httpsig all-headers signature with the method changed": BadSignature,
    "draft C.3 signature with body, Digest and Content-Length swapped": BadSignature,
    # Like Mastodon, Solo reads the Signature header only.
    AUTHORIZATION_FORM: SignatureMissing,
}


@pytest.mark.parametrize("case", DRAFT_CASES)
def test_draft_vectors_against_our_policy(case: dict[str, Any]) -> None:
    headers = dict(case["headers"])
    if case["name"] != AUTHORIZATION_FORM and "Authorization" in headers:
        # httpsig's signatures are judged on their content, sent the way servers send them.
        headers["Signature"] = headers.pop("Authorization").removeprefix("Signature ")
    request = (case["method"], case["path"], headers, body(case))
    now = parse_date(headers["Date"])
    expected = DRAFT_POLICY[case["name"]]
    if expected is None:
        assert verify(prepare(*request, now=now), TEST_PUBLIC_PEM).key_id == "Test"
        return
    with pytest.raises(expected):
        verify(prepare(*request, now=now), TEST_PUBLIC_PEM)


# Mastodon's verdict and the reason we give. "mismatching method" is a GET signature replayed
# as a POST: Mastodon finds the signature wrong, we refuse earlier because a POST must sign its
# digest. The two "key cannot be fetched" cases are refused by the caller, which finds no key.
MASTODON_DRAFT_POLICY: dict[str, type[SignatureError] | None] = {
    "no Signature header": SignatureMissing,
    "no Signature header where a signature is required": SignatureMissing,
    "draft: valid GET": None,
    "draft: valid GET with query string": None,
    QUERY_LEFT_OUT: None,
    "draft: mismatching query string": BadSignature,
    "draft: mismatching path": BadSignature,
    "draft: mismatching method": SignaturePolicyError,
    "draft: unparsable Date": MalformedSignature,
    "draft: request older than a day": SignatureTimeError,
    "draft: valid POST with Digest": None,
    "draft: POST whose Digest is not signed": SignaturePolicyError,
    "draft: POST with tampered body": DigestMismatch,
    "draft: POST with tampered path": BadSignature,
    "draft: key cannot be fetched": None,
}


@pytest.mark.parametrize("case", MASTODON_DRAFT_CASES)
def test_mastodon_draft_cases_at_the_frozen_time(case: dict[str, Any]) -> None:
    expected = MASTODON_DRAFT_POLICY[case["name"]]
    request = (case["method"], case["path"], case["headers"], body(case))
    if expected is not None:
        assert case["expect"] == "invalid"
        with pytest.raises(expected):
            verify(prepare(*request, now=FROZEN, expected_host="www.example.com"), BOB_PUBLIC_PEM)
        return
    prepared = prepare(*request, now=FROZEN, expected_host="www.example.com")
    if case["name"] == "draft: key cannot be fetched":
        # The verdict is the caller's: it must fetch alice's key, which answers 404.
        assert case["expect"] == "invalid"
        assert prepared.key_id == ALICE
        return
    assert case["expect"] == "valid"
    assert verify(prepared, BOB_PUBLIC_PEM) == VerifiedSignature(
        "draft-cavage", BOB, "rsa-v1_5-sha256"
    )


def test_mastodon_cryptographic_verdicts_hold_apart_from_policy() -> None:
    for case in MASTODON["cases"]:
        if case["scheme"] != "draft-cavage":
            continue
        params = parse_signature_header(case["headers"]["Signature"])
        message = case["signing_string"].encode()
        prepared = PreparedSignature(
            "draft-cavage", BOB, "rsa-v1_5-sha256", message, params.signature
        )
        if case["signature_verifies_with_bob_key"]:
            verify(prepared, BOB_PUBLIC_PEM)
        else:
            with pytest.raises(BadSignature):
                verify(prepared, BOB_PUBLIC_PEM)


# --- (c) round trips through httpx ---------------------------------------------------------------


def test_auth_flow_signs_a_post_that_we_verify() -> None:
    auth = HTTPSignatureAuth(BOB, BOB_PRIVATE)
    request = httpx.Request(
        "POST", "https://solo.test:8443/users/alice/inbox?x=1", json={"type": "Follow"}
    )
    signed = next(auth.sync_auth_flow(request))
    assert signed.headers["Host"] == "solo.test:8443"
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", signed.headers["Date"])
    digest = base64.b64encode(hashlib.sha256(signed.content).digest()).decode()
    assert signed.headers["Digest"] == f"SHA-256={digest}"
    params = parse_signature_header(signed.headers["Signature"])
    assert params.algorithm == "rsa-sha256"
    assert params.headers == ("(request-target)", "host", "date", "digest", "content-type")
    prepared = prepare(
        "POST",
        signed.url.raw_path.decode(),
        signed.headers,
        signed.content,
        now=time.time(),
        expected_host="solo.test:8443",
    )
    assert verify(prepared, BOB_PRIVATE.public_key()).key_id == BOB


def _verifying_handler(seen: list[VerifiedSignature]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        try:
            prepared = prepare(
                request.method,
                request.url.raw_path.decode(),
                request.headers,
                request.content,
                now=time.time(),
                expected_host="solo.test",
            )
            seen.append(verify(prepared, BOB_PUBLIC_PEM))
        except SignatureError as error:
            return httpx.Response(401, text=error.message)
        return httpx.Response(202)

    return httpx.MockTransport(handle)


async def test_signed_client_round_trip() -> None:
    seen: list[VerifiedSignature] = []
    async with httpx.AsyncClient(
        transport=_verifying_handler(seen), auth=HTTPSignatureAuth(BOB, BOB_PRIVATE)
    ) as client:
        posted = await client.post("https://solo.test/inbox", json={"type": "Like"})
        fetched = await client.get("https://solo.test/users/alice/outbox?page=true")
        unsigned = await client.get("https://solo.test/users/alice", auth=None)
    assert (posted.status_code, fetched.status_code) == (202, 202)
    assert (unsigned.status_code, unsigned.text) == (401, "Request not signed")
    assert [v.key_id for v in seen] == [BOB, BOB]
    get_params = parse_signature_header(fetched.request.headers["Signature"])
    assert get_params.headers == ("(request-target)", "host", "date")
    assert "Digest" not in fetched.request.headers


def test_sign_headers_for_a_benchmark() -> None:
    added = sign_headers(
        "GET",
        "https://remote.example:443/users/bob?page=2",
        {"Accept": "application/activity+json"},
        b"",
        key_id=BOB,
        private_key=BOB_PRIVATE,
        now=FROZEN,
    )
    assert set(added) == {"Host", "Date", "Signature"}
    assert added["Host"] == "remote.example"  # the default port is left out
    assert added["Date"] == "Wed, 20 Dec 2023 10:00:00 GMT"
    params = parse_signature_header(added["Signature"])
    string = cavage_signing_string("GET", "/users/bob?page=2", added, params)
    assert string == (
        "(request-target): get /users/bob?page=2\n"
        "host: remote.example\n"
        "date: Wed, 20 Dec 2023 10:00:00 GMT"
    )
    prepared = prepare("GET", "/users/bob?page=2", added, b"", now=FROZEN)
    assert verify(prepared, BOB_PUBLIC_PEM).key_id == BOB


def test_sign_headers_keeps_given_date_and_host() -> None:
    given = {"Host": "remote.example", "Date": formatdate(FROZEN, usegmt=True)}
    added = sign_headers(
        "POST", "https://remote.example/inbox", given, b"{}", key_id=BOB, private_key=BOB_PRIVATE
    )
    assert set(added) == {"Digest", "Signature"}
    prepared = prepare("POST", "/inbox", {**given, **added}, b"{}", now=FROZEN + 60)
    verify(prepared, BOB_PUBLIC_PEM)


def test_a_deliverys_draft_is_the_general_draft_of_its_fields() -> None:
    date = http_date(FROZEN + 0.7)
    assert date == formatdate(FROZEN, usegmt=True)
    digest = body_digest(b"{}")
    fields = {
        "Host": "remote.example:8443",
        "User-Agent": "Solo",
        "Content-Type": "application/activity+json",
        "Digest": digest,
        "Date": date,
    }
    general = draft_signature("POST", "remote.example:8443", "/inbox?x=1", fields, b"", key_id=BOB)
    quick = post_draft(
        "remote.example:8443", "/inbox?x=1", date, digest, "application/activity+json", key_id=BOB
    )
    assert quick == general
    with pytest.raises(ValueError, match="key id"):
        post_draft("r.example", "/", date, digest, "application/activity+json", key_id='a"b')


@pytest.mark.parametrize("key_id", ["", 'a"b', "a\\b"])
def test_signer_refuses_key_ids_that_break_the_header(key_id: str) -> None:
    with pytest.raises(ValueError, match="key id"):
        HTTPSignatureAuth(key_id, BOB_PRIVATE)


# --- (d) refusals --------------------------------------------------------------------------------


def parse_date(value: str) -> float:
    return parsedate_to_datetime(value).timestamp()


def body(case: dict[str, Any]) -> bytes:
    return str(case["body"]).encode()


def cavage(
    method: str,
    target: str,
    headers: dict[str, str],
    names: str,
    *,
    algorithm: str | None = "rsa-sha256",
    created: int | None = None,
    expires: int | None = None,
    key: rsa.RSAPrivateKey = BOB_PRIVATE,
) -> dict[str, str]:
    """`headers` plus a Signature over `names`, built by hand to make unusual signatures."""
    params = SignatureParams(BOB, algorithm, tuple(names.split()), b"", created, expires)
    string = cavage_signing_string(method, target, headers, params)
    signature = base64.b64encode(key.sign(string.encode(), padding.PKCS1v15(), hashes.SHA256()))
    parts = [f'keyId="{BOB}"']
    parts += [f'algorithm="{algorithm}"'] if algorithm else []
    parts += [f"created={created}"] if created is not None else []
    parts += [f"expires={expires}"] if expires is not None else []
    parts += [f'headers="{names}"', f'signature="{signature.decode()}"']
    return {**headers, "Signature": ",".join(parts)}


BODY = b'{"type":"Create"}'
POST_HEADERS = {
    "Host": "www.example.com",
    "Date": "Wed, 20 Dec 2023 10:00:00 GMT",
    "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(BODY).digest()).decode(),
    "Content-Type": "application/activity+json",
}
GET_HEADERS = {"Host": "www.example.com", "Date": "Wed, 20 Dec 2023 10:00:00 GMT"}
POST_NAMES = "(request-target) host date digest content-type"


def check(
    method: str, target: str, headers: Any, payload: bytes, *, now: float = FROZEN
) -> VerifiedSignature:
    return verify(prepare(method, target, headers, payload, now=now), BOB_PUBLIC_PEM)


def test_a_well_signed_post_passes() -> None:
    headers = cavage("POST", "/inbox", POST_HEADERS, POST_NAMES)
    assert check("POST", "/inbox", headers, BODY).key_id == BOB


def test_tampered_body() -> None:
    headers = cavage("POST", "/inbox", POST_HEADERS, POST_NAMES)
    with pytest.raises(DigestMismatch, match="Digest does not match the body"):
        check("POST", "/inbox", headers, b'{"type":"Delete"}')


def test_tampered_digest() -> None:
    headers = cavage("POST", "/inbox", POST_HEADERS, POST_NAMES)
    other = b'{"type":"Delete"}'
    headers["Digest"] = "SHA-256=" + base64.b64encode(hashlib.sha256(other).digest()).decode()
    with pytest.raises(BadSignature, match="signature does not match the request"):
        check("POST", "/inbox", headers, other)
    headers["Digest"] = "SHA-256=AAAA"
    with pytest.raises(DigestMismatch):
        check("POST", "/inbox", headers, other)


@pytest.mark.parametrize(
    ("digest", "error"),
    [
        ("SHA-512={sha512}", DigestMismatch),  # SHA-256 is required
        ("MD5=AAAA", DigestMismatch),
        ("SHA-256={sha256},SHA-512=AAAA", DigestMismatch),  # an offered SHA-512 is checked too
        ("SHA-256=not base64!", MalformedSignature),
        ("SHA-256", MalformedSignature),
        ("sha-256={sha256}, SHA-512={sha512}", None),
    ],
)
def test_digest_header_forms(digest: str, error: type[SignatureError] | None) -> None:
    sums = {
        "sha256": base64.b64encode(hashlib.sha256(BODY).digest()).decode(),
        "sha512": base64.b64encode(hashlib.sha512(BODY).digest()).decode(),
    }
    headers = cavage(
        "POST", "/inbox", {**POST_HEADERS, "Digest": digest.format(**sums)}, POST_NAMES
    )
    if error is None:
        check("POST", "/inbox", headers, BODY)
    else:
        with pytest.raises(error):
            check("POST", "/inbox", headers, BODY)


@pytest.mark.parametrize(
    ("method", "names", "missing"),
    [
        ("POST", "(request-target) host date content-type", "Digest header not signed"),
        ("PUT", "(request-target) host date", "Digest header not signed"),
        ("GET", "(request-target) date", "host header not signed"),
        ("POST", "host date digest", r"\(request-target\) header not signed"),
        ("GET", "(request-target) host", "date header not signed"),
    ],
)
def test_required_headers_must_be_signed(method: str, names: str, missing: str) -> None:
    headers = cavage(method, "/inbox", POST_HEADERS, names)
    with pytest.raises(SignaturePolicyError, match=missing):
        check(method, "/inbox", headers, BODY if method != "GET" else b"")


@pytest.mark.parametrize(
    ("offset", "error"),
    [
        (-3600, None),  # an hour ahead of us is tolerated
        (-3601, "more than 1 hour in the future"),
        (3900, None),  # 5 minutes of validity plus an hour of skew
        (3901, "too old"),
        (2 * 86400, "too old"),
    ],
)
def test_clock_window(offset: int, error: str | None) -> None:
    headers = cavage("GET", "/users/alice", GET_HEADERS, "(request-target) host date")
    if error is None:
        check("GET", "/users/alice", headers, b"", now=FROZEN + offset)
    else:
        with pytest.raises(SignatureTimeError, match=error):
            check("GET", "/users/alice", headers, b"", now=FROZEN + offset)


@pytest.mark.parametrize("algorithm", ["rsa-sha512", "hmac-sha256", "ed25519", "ecdsa-sha256"])
def test_unknown_algorithm(algorithm: str) -> None:
    headers = cavage("GET", "/", GET_HEADERS, "(request-target) host date", algorithm=algorithm)
    with pytest.raises(UnsupportedAlgorithm, match=algorithm):
        check("GET", "/", headers, b"")


def test_missing_algorithm_means_hs2019_which_is_rsa_for_an_rsa_key() -> None:
    headers = cavage("GET", "/", GET_HEADERS, "(request-target) host date", algorithm=None)
    assert "algorithm" not in headers["Signature"]
    assert check("GET", "/", headers, b"").algorithm == "rsa-v1_5-sha256"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "keyId",
        'keyId="a"',
        'keyId="a",signature=',
        'keyId="a",signature="!!!"',
        'keyId="a",keyId="b",signature="AAAA"',
        'keyId="a,signature="AAAA"',
        'keyId="a" signature="AAAA"',
        'keyId="a",signature="AAAA",',
        'keyId="a",signature="AAAA",headers=""',
        'keyId="a",signature="AAAA",created="soon"',
        'keyId="a",signature="AAAA",created=²',
        'keyId="a",signature="AAAA",algorithm="hs2019",headers="(created) host"',
    ],
)
def test_malformed_signature_header(value: str) -> None:
    with pytest.raises(MalformedSignature):
        parse_signature_header(value)
    with pytest.raises(MalformedSignature):
        prepare("GET", "/", {**GET_HEADERS, "Signature": value}, b"", now=FROZEN)


def test_parser_accepts_the_drafts_spacing_tokens_and_escapes() -> None:
    params = parse_signature_header(
        'keyId="a\\"b", algorithm=hs2019, created=1402170695 ,expires=1402170699,'
        ' headers="(request-target) (created) (expires) Host", signature="AAAA", extra="x"'
    )
    assert params == SignatureParams(
        'a"b',
        "hs2019",
        ("(request-target)", "(created)", "(expires)", "host"),
        b"\0\0\0",
        1402170695,
        1402170699,
    )
    assert parse_signature_header('keyId="a",signature="AAAA"').headers == ("date",)


def test_more_than_one_signature_header() -> None:
    headers = cavage("GET", "/", GET_HEADERS, "(request-target) host date")
    pairs = [*headers.items(), ("Signature", headers["Signature"])]
    with pytest.raises(MalformedSignature, match="more than one"):
        check("GET", "/", pairs, b"")


def test_signature_for_another_path() -> None:
    headers = cavage("POST", "/users/alice/inbox", POST_HEADERS, POST_NAMES)
    with pytest.raises(BadSignature):
        check("POST", "/inbox", headers, BODY)


def test_wrong_key() -> None:
    headers = cavage("POST", "/inbox", POST_HEADERS, POST_NAMES)
    prepared = prepare("POST", "/inbox", headers, BODY, now=FROZEN)
    with pytest.raises(BadSignature, match=re.escape(BOB)):
        verify(prepared, TEST_PUBLIC_PEM)
    with pytest.raises(UnsupportedAlgorithm, match="RSA"):
        verify(prepared, ed25519.Ed25519PrivateKey.generate().public_key())
    with pytest.raises(BadSignature, match="cannot be read"):
        verify(prepared, "-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----\n")


def test_created_needs_hs2019() -> None:
    names = "(request-target) (created) host"
    headers = cavage("GET", "/", GET_HEADERS, names, created=FROZEN)
    with pytest.raises(SignaturePolicyError, match="hs2019"):
        check("GET", "/", headers, b"")
    headers = cavage("GET", "/", GET_HEADERS, names, algorithm="hs2019", created=FROZEN)
    assert check("GET", "/", headers, b"").key_id == BOB


@pytest.mark.parametrize(
    ("created", "expires", "now", "error"),
    [
        (FROZEN - 7200, None, FROZEN, "too old"),
        (FROZEN + 7200, None, FROZEN, "in the future"),
        (FROZEN - 600, FROZEN - 1, FROZEN, "expired at"),
        (FROZEN - 7200, FROZEN + 60, FROZEN, None),  # a signed expires stretches the age limit
        (FROZEN, FROZEN + 86400, FROZEN + 13 * 3600, None),
        (FROZEN, FROZEN + 86400, FROZEN + 13 * 3600 + 1, "too old"),  # ...up to 12 h
    ],
)
def test_hs2019_created_and_expires(
    created: int, expires: int | None, now: int, error: str | None
) -> None:
    names = "(request-target) host (created)" + (" (expires)" if expires else "")
    headers = cavage(
        "GET", "/", GET_HEADERS, names, algorithm="hs2019", created=created, expires=expires
    )
    if error is None:
        check("GET", "/", headers, b"", now=now)
    else:
        with pytest.raises(SignatureTimeError, match=error):
            check("GET", "/", headers, b"", now=now)


def test_unsigned_created_does_not_refresh_a_stale_date() -> None:
    stale = {**GET_HEADERS, "Date": formatdate(FROZEN - 7200, usegmt=True)}
    headers = cavage("GET", "/", stale, "(request-target) host date", algorithm="hs2019")
    headers["Signature"] += f",created={FROZEN}"
    with pytest.raises(SignatureTimeError, match="too old"):
        check("GET", "/", headers, b"")


def test_host_must_be_this_server() -> None:
    headers = cavage("POST", "/inbox", POST_HEADERS, POST_NAMES)
    with pytest.raises(SignaturePolicyError, match="not this server"):
        prepare("POST", "/inbox", headers, BODY, now=FROZEN, expected_host="solo.test")
    prepare("POST", "/inbox", headers, BODY, now=FROZEN, expected_host="WWW.example.com")


def test_repeated_fields_are_joined_and_trimmed() -> None:
    names = "(request-target) host date accept"
    signed = cavage("GET", "/", {**GET_HEADERS, "Accept": "a/b,  c/d"}, names)
    pairs = [(k, v) for k, v in signed.items() if k != "Accept"]
    pairs += [("accept", " a/b "), ("ACCEPT", "c/d")]
    with pytest.raises(BadSignature):
        check("GET", "/", pairs, b"")  # "a/b, c/d" was not what was signed
    signed = cavage("GET", "/", {**GET_HEADERS, "Accept": "a/b, c/d"}, names)
    pairs = [(k, v) for k, v in signed.items() if k != "Accept"]
    raw = [
        (k.lower().encode(), v.encode())
        for k, v in [*pairs, ("Accept", " a/b "), ("Accept", "c/d")]
    ]
    assert check("GET", "/", Headers(raw=raw), b"").key_id == BOB


def test_a_signed_digest_on_a_get_is_checked_too() -> None:
    names = "(request-target) host date digest"
    headers = cavage("GET", "/", {**GET_HEADERS, "Digest": POST_HEADERS["Digest"]}, names)
    with pytest.raises(DigestMismatch):
        check("GET", "/", headers, b"")


def test_signed_header_missing_from_the_request() -> None:
    headers = cavage(
        "GET", "/", {**GET_HEADERS, "Accept": "x"}, "(request-target) host date accept"
    )
    del headers["Accept"]
    with pytest.raises(MalformedSignature, match="accept header is signed but missing"):
        check("GET", "/", headers, b"")


def test_signature_errors_are_401_with_a_message() -> None:
    with pytest.raises(Unauthorized) as caught:
        prepare("GET", "/", GET_HEADERS, b"", now=FROZEN)
    assert caught.value.status == 401
    assert caught.value.message == "Request not signed"


def test_unsigned_request_with_only_other_auth() -> None:
    with pytest.raises(SignatureMissing):
        prepare("GET", "/", {**GET_HEADERS, "Authorization": "Bearer x"}, b"", now=FROZEN)
