"""Uploads: the type from the bytes, images re-encoded without metadata, refusals for bad input,
audio/video recognised from small hand-made samples (tests/fixtures/media)."""

from __future__ import annotations

import asyncio
import io
import struct
import subprocess
import sys
from pathlib import Path

import blurhash
import pytest
from PIL import ExifTags, Image, ImageChops
from PIL.PngImagePlugin import PngInfo

from solo.errors import RequestError
from solo.media.process import STORED_PIXELS, UNSUPPORTED, _shrunk, process_upload
from solo.media.upload import (
    MAX_PIXELS,
    MediaError,
    Processed,
    parse_focus,
    process_upload_async,
)

SAMPLES = Path(__file__).parent / "fixtures" / "media"
LIMIT = 16 * 1024 * 1024


def process(data: bytes, filename: str = "", declared_type: str | None = None) -> Processed:
    return process_upload(data, filename=filename, declared_type=declared_type, max_bytes=LIMIT)


def refused(data: bytes, filename: str = "", declared_type: str | None = None) -> MediaError:
    with pytest.raises(MediaError) as caught:
        process(data, filename, declared_type)
    return caught.value


def camera_exif(orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "SecretCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 12.0)
    return exif.tobytes()


def encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def photo(width: int, height: int) -> Image.Image:
    """Dark on the left, light on the right, blue growing downwards."""
    vertical = Image.linear_gradient("L").resize((width, height))
    horizontal = (
        Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize((width, height))
    )
    return Image.merge("RGB", (horizontal, horizontal, vertical))


def animated_gif(frames: int = 4) -> bytes:
    images = [Image.new("RGB", (64, 48), (i * 60, 0, 255 - i * 60)) for i in range(frames)]
    return encoded(images[0], "GIF", save_all=True, append_images=images[1:], loop=0, duration=80)


# Images


def test_jpeg_is_turned_upright_and_loses_its_metadata() -> None:
    original = encoded(
        photo(1600, 800),
        "JPEG",
        exif=camera_exif(orientation=6),
        comment=b"SecretComment",
        xmp=b"<x:xmpmeta>SecretXmp</x:xmpmeta>",
    )
    assert b"SecretCam" in original and b"SecretComment" in original

    result = process(original, "photo.JPG", "image/jpeg")

    assert (result.kind, result.media_type, result.extension) == ("image", "image/jpeg", "jpg")
    assert (result.width, result.height) == (800, 1600)  # turned a quarter
    for secret in (b"SecretCam", b"SecretComment", b"SecretXmp", b"Exif"):
        assert secret not in result.data
    stored = Image.open(io.BytesIO(result.data))
    assert stored.size == (800, 1600)
    assert dict(stored.getexif()) == {}
    assert stored.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    # The gradient's dark end was on the left; after a 90° turn clockwise it is at the top.
    assert sum(stored.getpixel((400, 10))) < sum(stored.getpixel((400, 1590)))

    assert result.thumbnail_type == "image/jpeg" and result.thumbnail is not None
    thumbnail = Image.open(io.BytesIO(result.thumbnail))
    assert thumbnail.size == (320, 640)
    assert result.blurhash is not None
    assert blurhash.components(result.blurhash) == (4, 3)
    assert len(blurhash.decode(result.blurhash, 8, 8)) == 8


def test_large_images_are_shrunk_keeping_their_shape() -> None:
    result = process(encoded(photo(4800, 2400), "JPEG", quality=70), "big.jpg")
    assert result.width is not None and result.height is not None
    assert result.width * result.height <= STORED_PIXELS
    assert result.width * result.height > STORED_PIXELS * 0.99
    assert abs(result.width / result.height - 2) < 0.01
    assert Image.open(io.BytesIO(result.data)).size == (result.width, result.height)


def test_png_with_alpha_keeps_it_and_has_a_webp_preview() -> None:
    image = Image.new("RGBA", (900, 300), (0, 0, 255, 128))
    text = PngInfo()
    text.add_text("Comment", "SecretText")
    result = process(encoded(image, "PNG", pnginfo=text, exif=camera_exif(1)), "logo.png")
    assert (result.media_type, result.extension, result.thumbnail_type) == (
        "image/png",
        "png",
        "image/webp",
    )
    assert b"SecretText" not in result.data and b"SecretCam" not in result.data
    stored = Image.open(io.BytesIO(result.data))
    assert stored.mode == "RGBA" and stored.getpixel((0, 0)) == (0, 0, 255, 128)
    assert result.thumbnail is not None
    thumbnail = Image.open(io.BytesIO(result.thumbnail))
    assert thumbnail.format == "WEBP" and thumbnail.size == (640, 213)
    assert thumbnail.mode == "RGBA"


def test_webp_loses_its_metadata() -> None:
    original = encoded(photo(200, 100), "WEBP", exif=camera_exif(1), xmp=b"SecretXmp")
    result = process(original, "", "image/webp")
    assert (result.media_type, result.extension, result.width, result.height) == (
        "image/webp",
        "webp",
        200,
        100,
    )
    assert b"SecretCam" not in result.data and b"SecretXmp" not in result.data


def test_animated_webp_stays_animated() -> None:
    frames = [Image.new("RGB", (40, 30), (i * 80, 20, 20)) for i in range(3)]
    original = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=90)
    result = process(original, "moving.webp")
    stored = Image.open(io.BytesIO(result.data))
    assert getattr(stored, "n_frames", 1) == 3
    assert (result.width, result.height) == (40, 30)


def test_animated_gif_keeps_its_frames_and_loses_comments_and_xmp() -> None:
    original = animated_gif()
    # Add a comment and an XMP application extension right after the colour table.
    screen_flags = original[10]
    start = 13 + (3 << ((screen_flags & 7) + 1))
    extras = b"\x21\xfe\x0dSecretComment\x00" + b"\x21\xff\x0bXMP DataXMP\x09SecretXmp\x00"
    original = original[:start] + extras + original[start:]
    assert Image.open(io.BytesIO(original)).n_frames == 4

    result = process(original, "party.gif", "image/gif")

    assert (result.kind, result.media_type, result.extension) == ("image", "image/gif", "gif")
    assert b"SecretComment" not in result.data and b"SecretXmp" not in result.data
    stored = Image.open(io.BytesIO(result.data))
    assert stored.n_frames == 4 and stored.info["loop"] == 0
    assert (result.width, result.height) == (64, 48)
    assert result.thumbnail_type == "image/jpeg" and result.blurhash


# Refusals


def test_an_empty_file_is_refused() -> None:
    error = refused(b"", "empty.png")
    assert (error.status, error.message) == (422, "The file is empty.")


def test_a_file_over_the_byte_limit_is_refused() -> None:
    with pytest.raises(MediaError) as caught:
        process_upload(b"\x89PNG\r\n\x1a\n" + bytes(3 * 1024 * 1024), max_bytes=2 * 1024 * 1024)
    assert caught.value.status == 413
    assert caught.value.message == "The file is 3 MB; the limit is 2 MB."


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = encoded(Image.new("1", (10000, 10000)), "PNG")
    assert len(bomb) < 100_000
    error = refused(bomb, "bomb.png")
    assert error.status == 413
    assert error.message == "The image is 10000×10000 pixels; the limit is 7680×4320."


def test_a_gif_frame_larger_than_its_screen_is_refused_before_decoding() -> None:
    small = encoded(Image.new("P", (10, 10)), "GIF")
    descriptor = small.index(b"\x2c\x00\x00\x00\x00\x0a\x00\x0a\x00")
    bomb = small[: descriptor + 5] + struct.pack("<HH", 9000, 9000) + small[descriptor + 9 :]
    error = refused(bomb, "bomb.gif")
    assert error.status == 413 and "9000×9000" in error.message
    assert MAX_PIXELS < 9000 * 9000


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"<!doctype html><script>alert(1)</script>", "cat.png"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "cat.png"),
        (b'{"type": "Note"}', "note.json"),
        (b"%PDF-1.7\n", "paper.pdf"),
        (b"just some text", ""),
        (b"\x1a\x45\xdf\xa3\x84\x42\x82\x81\x00", "not-webm.mkv"),  # Matroska, not WebM
    ],
)
def test_content_that_is_not_media_is_refused(data: bytes, filename: str) -> None:
    error = refused(data, filename)
    assert (error.status, error.message) == (422, UNSUPPORTED)


def test_content_that_does_not_match_its_name_or_type_is_refused() -> None:
    png = encoded(Image.new("RGB", (8, 8)), "PNG")
    error = refused(png, "x.jpg")
    assert error.status == 422
    assert error.message == "The file's content is a PNG image but its name says .jpg."
    assert refused(png, "x.svg").status == 422
    error = refused(png, "x.png", "image/jpeg")
    assert error.message == "The file's content is a PNG image but it was sent as image/jpeg."
    mp3 = (SAMPLES / "sample.mp3").read_bytes()
    assert "an MP3 file" in refused(mp3, "song.ogg").message
    # Names and types that claim nothing in particular are fine.
    assert process(png, "x", "application/octet-stream").media_type == "image/png"
    assert process(png, "x.bin", None).media_type == "image/png"


def test_damaged_and_truncated_images_are_refused() -> None:
    jpeg = encoded(Image.effect_noise((300, 200), 40).convert("RGB"), "JPEG")
    damaged = "The image could not be read: it may be damaged or cut short."
    for data in (
        jpeg[: len(jpeg) // 2],
        jpeg[:300],
        jpeg[:4],
        b"\x89PNG\r\n\x1a\n" + bytes(64),
        b"GIF89a\x10\x00",
        b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    ):
        error = refused(data)
        assert (error.status, error.message) == (422, damaged)


def test_every_truncation_of_every_sample_is_refused_or_read_never_a_crash() -> None:
    images = [
        encoded(photo(64, 48), "JPEG", exif=camera_exif()),
        encoded(Image.new("RGBA", (64, 48), (1, 2, 3, 4)), "PNG"),
        encoded(photo(64, 48), "WEBP"),
        animated_gif(),
    ]
    samples = images + [path.read_bytes() for path in sorted(SAMPLES.glob("sample*"))]
    for data in samples:
        for cut in sorted({1, 4, 8, 12, 16, 30, 64, 100, 200, len(data) // 2, len(data) - 1}):
            try:
                process(data[:cut])
            except MediaError as error:
                assert error.status in (413, 422)


def test_media_error_is_a_request_error() -> None:
    error = refused(b"")
    assert isinstance(error, RequestError) and str(error) == error.message


# Audio and video


@pytest.mark.parametrize(
    ("name", "kind", "media_type", "duration", "size"),
    [
        ("sample.mp4", "video", "video/mp4", 2.5, (320, 240)),
        ("silent-portrait.mp4", "gifv", "video/mp4", 1.0, (240, 320)),
        ("sample.m4a", "audio", "audio/mp4", 3.0, (None, None)),
        ("sample.webm", "video", "video/webm", 2.5, (320, 240)),
        ("sample.mp3", "audio", "audio/mpeg", 0.99, (None, None)),
        ("sample.opus", "audio", "audio/ogg", 1.5, (None, None)),
        ("sample.ogg", "audio", "audio/ogg", 2.0, (None, None)),
    ],
)
def test_audio_and_video_are_recognised_and_kept_as_sent(
    name: str, kind: str, media_type: str, duration: float, size: tuple[int | None, int | None]
) -> None:
    data = (SAMPLES / name).read_bytes()
    result = process(data, name)
    assert (result.kind, result.media_type) == (kind, media_type)
    assert result.extension == name.rpartition(".")[2].replace("m4a", "mp4").replace("opus", "ogg")
    assert result.data == data
    assert result.duration == pytest.approx(duration, abs=0.01)
    assert (result.width, result.height) == size
    assert result.thumbnail is None and result.blurhash is None


def test_damaged_containers_are_refused() -> None:
    mp4 = (SAMPLES / "sample.mp4").read_bytes()
    webm = (SAMPLES / "sample.webm").read_bytes()
    ogg = (SAMPLES / "sample.opus").read_bytes()
    for data in (mp4[:100], mp4[:-9], webm[:200], ogg[:60], b"ID3\x04\x00\x00\x00\x00\x00\x00"):
        assert refused(data).status == 422
    assert "moov" in refused(mp4[:28]).message  # the ftyp box alone
    speex = bytearray(ogg)
    speex[28:36] = b"Speex   "
    assert refused(bytes(speex)).message == "This Ogg file holds neither Vorbis nor Opus audio."


# Focus points and the async front


def test_parse_focus() -> None:
    assert parse_focus("") == (0.0, 0.0)
    assert parse_focus("0.5,-0.25") == (0.5, -0.25)
    assert parse_focus("-1,1") == (-1.0, 1.0)
    for bad in ("1.5,0", "0", "a,b", "0,0,0", "nan,0", "inf,0", "0;0"):
        with pytest.raises(MediaError) as caught:
            parse_focus(bad)
        assert caught.value.status == 422


async def test_async_processing_waits_for_its_turn() -> None:
    gate = asyncio.Semaphore(1)
    data = encoded(photo(640, 480), "JPEG")
    async with gate:
        task = asyncio.create_task(process_upload_async(data, max_bytes=LIMIT, gate=gate))
        await asyncio.sleep(0.05)
        assert not task.done()
    result = await task
    assert (result.width, result.height) == (640, 480)
    # Without a gate of its own, uploads share one per event loop.
    results = await asyncio.gather(
        *(process_upload_async(data, filename="a.jpg", max_bytes=LIMIT) for _ in range(3))
    )
    assert all(r.data == results[0].data for r in results)
    with pytest.raises(MediaError):
        await process_upload_async(b"", max_bytes=LIMIT)


@pytest.mark.parametrize("turn", [None, *Image.Transpose])
def test_shrinking_band_by_band_matches_shrinking_at_once(turn: Image.Transpose | None) -> None:
    image = photo(300, 1400)
    image.paste((255, 0, 0), (0, 0, 40, 40))  # a red corner, to see where it went
    banded = _shrunk(image, (150, 700), turn)
    whole = image.resize((150, 700), Image.Resampling.BICUBIC)
    if turn is not None:
        whole = whole.transpose(turn)
    assert banded.size == whole.size
    difference = ImageChops.difference(banded, whole).getextrema()
    assert all(high <= 2 for _, high in difference)


def test_the_decoders_load_at_the_first_upload_not_at_start() -> None:
    """An idle server does not carry Pillow and mutagen (the idle memory target)."""
    script = (
        "import sys\n"
        "import solo.app\n"
        "from solo.media.upload import process_upload_async\n"
        "print(sorted(m for m in ('PIL', 'mutagen', 'solo.media.process') if m in sys.modules))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert output.strip() == "[]"
