"""The Signature header's fast reading agrees with the full parser wherever it answers."""

from __future__ import annotations

import base64
import hashlib
import random
import re

import pytest

from solo.federation.cavage import (
    _check_digest_header,
    _parse_params,
    _plain_params,
    parse_signature_header,
)
from solo.federation.signature_errors import DigestMismatch, MalformedSignature

NAMES = ["keyId", "headers", "signature", "a-b_1", "1x", "", " keyId", "keyId ", "k=y"]
EQUALS = ['="', "=", ' ="', '= "', '=""']
VALUES = ["k", "", "c2ln", "a b", "\\", '\\"', "é", "x=", '"', ","]
ENDS = ['"', "", '" ', '""']
SEPARATORS = [",", ", ", ",,", ";", " ,"]


def random_header(chooser: random.Random) -> str:
    """Parameters as servers write them, now and then with a mistake."""
    text = ""
    for index in range(chooser.randint(0, 4)):
        if index:
            text += chooser.choice(SEPARATORS) if chooser.random() < 0.2 else ","
        value = "".join(chooser.choice(VALUES) for _ in range(chooser.randint(0, 3)))
        usual = chooser.random() < 0.6
        equals = '="' if usual else chooser.choice(EQUALS)
        end = '"' if usual else chooser.choice(ENDS)
        text += chooser.choice(NAMES) + equals + value + end
    return text


SIGNATURE = "c2lnbmF0dXJl"


def test_the_usual_header_is_read_fast() -> None:
    value = (
        'keyId="https://a.example/users/b#main-key",algorithm="rsa-sha256",'
        f'headers="(request-target) host date digest",signature="{SIGNATURE}"'
    )
    assert _plain_params(value) == _parse_params(value)
    params = parse_signature_header(value)
    assert params.key_id == "https://a.example/users/b#main-key"
    assert params.headers == ("(request-target)", "host", "date", "digest")


@pytest.mark.parametrize(
    "value",
    [
        'keyId="k", signature="c2ln"',  # a space after the comma
        'keyId="k",algorithm=hs2019,signature="c2ln"',  # a token
        'keyId="k\\"x",signature="c2ln"',  # an escape
        'keyId="k",keyId="j",signature="c2ln"',  # twice
        'keyId="k",signature="c2ln",',  # a trailing comma
        'keyId="k" ,signature="c2ln"',
        '1d="k",signature="c2ln"',
        'keyId="k',
        "",
    ],
)
def test_anything_unusual_goes_to_the_full_parser(value: str) -> None:
    assert _plain_params(value) is None


def test_random_headers_read_alike() -> None:
    chooser = random.Random(9421)
    fast = 0
    for _ in range(20_000):
        value = random_header(chooser)
        plain = _plain_params(value)
        if plain is None:
            continue
        fast += 1
        assert plain == _parse_params(value), value
    assert fast > 500  # the comparison did happen


def test_refusals_are_the_full_parsers() -> None:
    with pytest.raises(MalformedSignature, match="has keyId twice"):
        parse_signature_header(f'keyId="k",keyId="j",signature="{SIGNATURE}"')
    with pytest.raises(MalformedSignature, match="at position 9"):
        parse_signature_header(f'keyId="k"; signature="{SIGNATURE}"')


def test_the_usual_digest_is_checked_fast_and_any_other_in_full() -> None:
    body = b'{"type":"Like"}'
    good = base64.b64encode(hashlib.sha256(body).digest()).decode()
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    _check_digest_header(f"SHA-256={good}", body)
    _check_digest_header(f"sha-256={good}", body)
    sha512 = base64.b64encode(hashlib.sha512(body).digest()).decode()
    _check_digest_header(f"SHA-256={good},SHA-512={sha512}", body)
    with pytest.raises(DigestMismatch, match=f"computed sha-256={re.escape(good)}, given"):
        _check_digest_header(f"SHA-256={wrong}", body)
    with pytest.raises(DigestMismatch, match="sha-512"):
        _check_digest_header(f"SHA-256={good},SHA-512={wrong}", body)
    with pytest.raises(MalformedSignature, match="not base64"):
        _check_digest_header(f"SHA-256={good}!", body)


def test_signed_times_still_need_their_parameters() -> None:
    with pytest.raises(MalformedSignature, match=r"\(created\) is signed but"):
        parse_signature_header(f'keyId="k",headers="(created) host",signature="{SIGNATURE}"')
    params = parse_signature_header(
        f'keyId="k",headers="(created)",created="1700000000",signature="{SIGNATURE}"'
    )
    assert (params.created, params.expires) == (1700000000, None)
    with pytest.raises(MalformedSignature, match="expires must be a Unix time"):
        parse_signature_header(f'keyId="k",expires="soon",signature="{SIGNATURE}"')
