"""Hostile uploads and proxy addresses: every one refused cleanly (a MediaError, or None from the
proxy), never another exception, an endless loop or unbounded memory."""

from __future__ import annotations

import base64
import contextlib
import io
import random
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from solo.media import av
from solo.media.process import REENCODED_ANIMATION_PIXELS, process_upload
from solo.media.proxy import MediaProxy, is_http_url
from solo.media.upload import MediaError

SAMPLES = Path(__file__).parent / "fixtures" / "media"

LIMIT = 40 * 1024 * 1024


def _box(kind: bytes, payload: bytes = b"", size: int | None = None) -> bytes:
    return struct.pack(">I4s", len(payload) + 8 if size is None else size, kind) + payload


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def _png(width: int, height: int, extra: bytes = b"") -> bytes:
    header = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    rows = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + header + extra + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b"")
    )


def _nested(kind: bytes, depth: int) -> bytes:
    data = b""
    for _ in range(depth):
        data = _box(kind, data)
    return data


FTYP = _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
HOSTILE: list[bytes] = [
    # MP4: sizes that lie, 64-bit sizes, size 0 and 1, deep nesting, huge counts.
    FTYP + _box(b"moov", size=0xFFFFFFFF),
    FTYP + _box(b"moov", size=1) + struct.pack(">Q", 2**63),
    FTYP + _box(b"moov", size=1) + struct.pack(">Q", 3),
    FTYP + _box(b"moov", size=0) + _box(b"trak", size=0),
    FTYP + _box(b"moov", size=4),
    FTYP + b"\x00\x00",
    _box(b"ftyp", size=0),
    FTYP + _box(b"moov", b"".join(_box(b"free") for _ in range(20_000))),
    FTYP + _box(b"moov", _box(b"trak", _box(b"mdia", _box(b"hdlr", b"\x00" * 4)))),
    FTYP + _box(b"moov", _box(b"trak", _box(b"tkhd", b"\x01" + b"\x00" * 3))),
    FTYP + _nested(b"moov", 5000),
    FTYP + _box(b"moov", _nested(b"trak", 5000)),
    FTYP
    + _box(
        b"moov",
        _box(b"udta", _box(b"meta", b"\x00" * 4 + _box(b"ilst", _box(b"\xa9nam", size=9_999_999)))),
    ),
    # WebM: unknown sizes, sizes past the end, too many elements, an empty ID.
    b"\x1a\x45\xdf\xa3\x84\x42\x82\x84webm" + b"\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff",
    b"\x1a\x45\xdf\xa3\x84\x42\x82\x84webm" + b"\x18\x53\x80\x67\x88" + b"\xec\x80" * 20_000,
    b"\x1a\x45\xdf\xa3\x84\x42\x82\x84webm" + b"\x18\x53\x80\x67\x84\x00\x00\x00\x00",
    b"\x1a\x45\xdf\xa3\x84\x42\x82\x84webm"
    + b"\x18\x53\x80\x67\x90\x15\x49\xa9\x66\x8a\x44\x89\x84\x7f\x80\x00\x00",
    b"\x1a\x45\xdf\xa3\xff",
    # MP3 and Ogg: frames that stop short, an ID3 tag that claims more than there is.
    b"\xff\xfb\x90\x00" * 3,
    b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + b"\x00" * 100,
    b"ID3" + b"\xff" * 200,
    b"OggS" + b"\x00" * 22 + b"\xff",
    b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x13OpusHead" + b"\x00" * 30,
    # Images: cut short, dimensions past the limit, broken chunks.
    b"\xff\xd8\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01",
    b"\xff\xd8\xff",
    _png(100_000, 100_000),
    _png(2, 2, _png_chunk(b"acTL", struct.pack(">II", 2**31 - 1, 0))),
    _png(7680, 4320, _png_chunk(b"acTL", struct.pack(">II", 11, 0))),
    b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0) + b"\x2c" + b"\x00" * 9,
    b"GIF89a"
    + struct.pack("<HHBBB", 1, 1, 0, 0, 0)
    + b"\x2c"
    + struct.pack("<HHHHB", 65000, 65000, 10, 10, 0)
    + b"\x02\x00;",
    b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0),
    b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0, 0, 0) + b"\x21\xf9" + b"\x10" * 50,
    b"RIFF\xff\xff\xff\xffWEBPVP8X" + b"\x0a\x00\x00\x00\x10\x00\x00\x00\xff\xff\xff\xff\xff\xff",
    b"RIFF\x00\x00\x00\x00WEBP",
]


@pytest.mark.parametrize("data", HOSTILE, ids=range(len(HOSTILE)))
def test_a_hostile_file_is_refused_cleanly(data: bytes) -> None:
    try:
        process_upload(data, filename="x", max_bytes=LIMIT)
    except MediaError as error:
        assert 400 <= error.status < 500 and str(error)


def test_random_damage_is_refused_cleanly() -> None:
    """Random bytes over the start of real files: a refusal or a result, nothing else."""
    rng = random.Random(20261126)
    picture = Image.new("RGB", (16, 16), (200, 10, 10))
    seeds = []
    for fmt in ("PNG", "JPEG", "GIF", "WEBP"):
        out = io.BytesIO()
        picture.save(out, fmt)
        seeds.append(out.getvalue())
    seeds += [data for data in HOSTILE if av.sniff(data) is not None]
    for _ in range(400):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(min(len(data), 64) if rng.random() < 0.7 else len(data))
            data[position] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(1, len(data) + 1)]
        with contextlib.suppress(MediaError):
            process_upload(bytes(data), max_bytes=LIMIT)


def test_an_animation_too_large_to_re_encode_is_refused() -> None:
    """Pillow holds every frame of an APNG or WebP it re-encodes: 51 frames of 1000×1000
    (a few kB of PNG) would take ~300 MB; the budget refuses it before decoding."""
    frames = [Image.new("L", (1000, 1000), shade) for shade in range(51)]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    assert REENCODED_ANIMATION_PIXELS < 51 * 1000 * 1000
    with pytest.raises(MediaError, match="animation is too long"):
        process_upload(out.getvalue(), filename="big.png", max_bytes=LIMIT)


@pytest.mark.parametrize(
    "url",
    [
        "https://:secret@media.example/a.png",
        "https://@media.example/a.png",
        "https://user@media.example/a.png",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "file:///etc/passwd",
        "https://media.example:99999/a.png",
        "https://[::1/a.png",
        "https:///a.png",
        "https://media.example/a b.png",
        'https://media.example/"onerror=x',
    ],
)
def test_the_proxy_signs_only_plain_http_urls(url: str) -> None:
    proxy = MediaProxy.of("session secret")
    assert not is_http_url(url)
    assert proxy.url(url) is None
    # A path made for it by someone with the key is refused all the same.
    encoded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    assert proxy.target(proxy._sign(url), encoded) is None


def test_the_proxy_refuses_bad_signatures_and_encodings() -> None:
    proxy = MediaProxy.of("session secret")
    path = proxy.url("https://media.example/a.png")
    assert path is not None
    _, _, sig, encoded = path.split("/", 3)
    assert proxy.target(sig, encoded) == "https://media.example/a.png"
    assert MediaProxy.of("another secret").target(sig, encoded) is None
    for bad_sig, bad_encoded in [
        (sig[:-1] + ("A" if sig[-1] != "A" else "B"), encoded),
        ("", encoded),
        ("é" * 22, encoded),
        (sig, "%%%"),
        (sig, "_-_-"),
        (sig, "A" * 5000),
        (sig, "wA"),  # not UTF-8
    ]:
        assert proxy.target(bad_sig, bad_encoded) is None


@pytest.mark.parametrize("value", [float("inf"), float("nan"), -5.0, 1e300])
def test_a_webm_with_an_impossible_duration_keeps_none(value: float) -> None:
    """A crafted length must not reach the API as `Infinity` or `NaN` (invalid JSON)."""
    sample = (SAMPLES / "sample.webm").read_bytes()
    marker = b"\x44\x89\x01\x00\x00\x00\x00\x00\x00\x08"  # Duration: an 8-byte float
    at = sample.index(marker) + len(marker)
    crafted = sample[:at] + struct.pack(">d", value) + sample[at + 8 :]
    processed = process_upload(crafted, filename="clip.webm", max_bytes=1 << 20)
    assert processed.duration is None
