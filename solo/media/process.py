"""Uploads: what a file really is, and the copy of it we store, serve and preview.

The type comes from the bytes, never from the name or the declared type (which may only agree
with it). Images are decoded and re-encoded, which drops every piece of metadata (EXIF with its
GPS position, XMP, comments) except an ICC colour profile; they are turned upright from their
EXIF orientation and shrunk to at most 3840×2160 worth of pixels, as Mastodon stores them. GIFs
are the exception: re-encoding animations is slow and bloats them, so their blocks are copied
as they are, minus comments, plain text and application extensions other than the loop count.
Audio and video are checked and stored as sent (see `solo.media.av`).

Decoding is CPU-bound and takes tens of MB: `solo.media.upload.process_upload_async` runs it
in a thread, one upload at a time, and loads this module (with Pillow, blurhash and mutagen) only
then.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Callable
from typing import IO, Any, Final, Literal

import blurhash
from PIL import (
    ExifTags,
    GifImagePlugin,
    Image,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    WebPImagePlugin,
)

from solo.media import av
from solo.media.upload import MAX_PIXELS, MediaError, Processed

STORED_PIXELS: Final = 3840 * 2160  # larger images are shrunk to this many pixels
ANIMATION_PIXELS: Final = 10 * MAX_PIXELS  # width × height × frames of an animation
# Animated PNG and WebP are re-encoded, and Pillow's encoders hold every frame while they work
# (measured: ~6.6 bytes per pixel for APNG, ~3.6 for WebP; a 522-byte WebP of ten 7680×4320
# frames took 1.2 GB). GIFs are copied, not decoded, and keep ANIMATION_PIXELS.
REENCODED_ANIMATION_PIXELS: Final = 40_000_000
THUMBNAIL_SIZE: Final = 640
BAND_ROWS: Final = 256  # rows resized at a time when shrinking
BLURHASH_SIZE: Final = 32

UNSUPPORTED: Final = "This file is not a JPEG, PNG, GIF, WebP, MP4, WebM, MP3 or Ogg file."
TOO_MANY_PIXELS: Final = "The image has too many pixels; the limit is 7680×4320."
DAMAGED_IMAGE: Final = "The image could not be read: it may be damaged or cut short."
MEGABYTE: Final = 1024 * 1024

Family = Literal["jpeg", "png", "gif", "webp", "mp4", "webm", "mp3", "ogg"]
DESCRIPTIONS: Final[dict[str, str]] = {
    "jpeg": "a JPEG image",
    "png": "a PNG image",
    "gif": "a GIF image",
    "webp": "a WebP image",
    "mp4": "an MP4 file",
    "webm": "a WebM file",
    "mp3": "an MP3 file",
    "ogg": "an Ogg file",
}
# What names and declared types claim. Foreign entries count too: PNG bytes named .svg are as
# suspect as PNG bytes named .jpg. A name or type not listed here claims nothing.
EXTENSIONS: Final[dict[str, str]] = {
    **dict.fromkeys(("jpg", "jpeg", "jpe", "jfif"), "jpeg"),
    **dict.fromkeys(("png", "apng"), "png"),
    "gif": "gif",
    "webp": "webp",
    **dict.fromkeys(("mp4", "m4v", "m4a", "mov"), "mp4"),
    "webm": "webm",
    "mp3": "mp3",
    **dict.fromkeys(("ogg", "oga", "ogv", "opus"), "ogg"),
    **{name: name for name in ("svg", "html", "htm", "xml", "json", "pdf", "txt", "js")},
    **{name: name for name in ("heic", "avif", "bmp", "tif", "tiff", "wav", "flac", "mkv")},
}
TYPES: Final[dict[str, str]] = {
    **dict.fromkeys(("image/jpeg", "image/jpg", "image/pjpeg"), "jpeg"),
    **dict.fromkeys(("image/png", "image/apng", "image/x-png"), "png"),
    "image/gif": "gif",
    "image/webp": "webp",
    **dict.fromkeys(("video/mp4", "audio/mp4", "audio/x-m4a", "video/quicktime"), "mp4"),
    **dict.fromkeys(("video/webm", "audio/webm"), "webm"),
    **dict.fromkeys(("audio/mpeg", "audio/mp3", "audio/x-mpeg"), "mp3"),
    **dict.fromkeys(("audio/ogg", "video/ogg", "application/ogg", "audio/opus"), "ogg"),
    **dict.fromkeys(("image/svg+xml", "text/html", "application/xhtml+xml"), "markup"),
    **dict.fromkeys(("text/plain", "application/json", "application/pdf", "text/xml"), "text"),
}
OPENERS: Final[dict[str, Callable[[IO[bytes]], ImageFile.ImageFile]]] = {
    "jpeg": JpegImagePlugin.JpegImageFile,
    "png": PngImagePlugin.PngImageFile,
    "gif": GifImagePlugin.GifImageFile,
    "webp": WebPImagePlugin.WebPImageFile,
}
# Pillow's own errors for bytes it cannot decode.
DECODE_ERRORS: Final = (OSError, SyntaxError, ValueError, EOFError, struct.error)
TRANSPOSE: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def process_upload(
    data: bytes, *, filename: str = "", declared_type: str | None = None, max_bytes: int
) -> Processed:
    """Check an upload and make the copy we keep; raises MediaError. CPU-bound: from the event
    loop, call `solo.media.upload.process_upload_async`."""
    if not data:
        raise MediaError("The file is empty.")
    if len(data) > max_bytes:
        size, limit = _megabytes(len(data)), _megabytes(max_bytes)
        if size == limit:
            raise MediaError(f"The file is larger than the limit of {limit} MB.", 413)
        raise MediaError(f"The file is {size} MB; the limit is {limit} MB.", 413)
    family = sniff(data)
    if family is None:
        raise MediaError(UNSUPPORTED)
    _check_claims(family, filename, declared_type)
    if family in OPENERS:
        return _process_image(data, family)
    assert family in ("mp4", "webm", "mp3", "ogg")
    try:
        info = av.probe(data, family)
    except av.Unreadable as error:
        raise MediaError(str(error)) from None
    return Processed(
        kind=info.kind,
        media_type=info.media_type,
        extension=info.extension,
        data=data,
        thumbnail=None,
        thumbnail_type=None,
        width=info.width,
        height=info.height,
        duration=info.duration,
        blurhash=None,
    )


def sniff(data: bytes) -> Family | None:
    """The format the bytes are in, from their magic numbers."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp"
    return av.sniff(data)


def _check_claims(family: str, filename: str, declared_type: str | None) -> None:
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    claimed = EXTENSIONS.get(extension)
    if claimed is not None and claimed != family:
        raise MediaError(
            f"The file's content is {DESCRIPTIONS[family]} but its name says .{extension}."
        )
    media_type = (declared_type or "").partition(";")[0].strip().lower()
    claimed = TYPES.get(media_type)
    if claimed is not None and claimed != family:
        raise MediaError(
            f"The file's content is {DESCRIPTIONS[family]} but it was sent as {media_type}."
        )


def _megabytes(size: int) -> str:
    return f"{round(size / MEGABYTE, 1):g}"


# Images


def _process_image(data: bytes, family: str) -> Processed:
    try:
        source = OPENERS[family](io.BytesIO(data))
    except Image.DecompressionBombError:
        # Pillow's own check, on opening a GIF or WebP whose canvas is beyond its limit.
        raise MediaError(TOO_MANY_PIXELS, 413) from None
    except DECODE_ERRORS:
        raise MediaError(DAMAGED_IMAGE) from None
    width, height = source.size
    if width * height > MAX_PIXELS:
        raise MediaError(f"The image is {width}×{height} pixels; the limit is 7680×4320.", 413)
    if family == "gif":
        return _process_gif(data)
    frames = getattr(source, "n_frames", 1)
    if frames > 1 and frames * width * height > REENCODED_ANIMATION_PIXELS:
        raise MediaError("The animation is too long for its size; shorten it or make it smaller.")
    try:
        if frames > 1:
            return _animated(source, family)
        image = _decoded(source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaError(TOO_MANY_PIXELS, 413) from None
    except DECODE_ERRORS:
        raise MediaError(DAMAGED_IMAGE) from None
    stored = io.BytesIO()
    if family == "jpeg":
        image.save(stored, "JPEG", quality=85, icc_profile=image.info.get("icc_profile"))
    elif family == "png":
        image.save(stored, "PNG", compress_level=6, icc_profile=image.info.get("icc_profile"))
    else:
        image.save(stored, "WEBP", quality=85, icc_profile=image.info.get("icc_profile"))
    return _processed(image, family, stored.getvalue())


def _decoded(source: ImageFile.ImageFile) -> Image.Image:
    """The decoded image, shrunk to STORED_PIXELS, upright, with only its ICC profile and
    transparency left of its metadata."""
    orientation = _orientation(source)
    keep: dict[str | tuple[int, int], Any] = {
        key: source.info[key] for key in ("icc_profile", "transparency") if key in source.info
    }
    width, height = source.size
    target = None
    if width * height > STORED_PIXELS:
        scale = math.sqrt(STORED_PIXELS / (width * height))
        target = max(1, int(width * scale)), max(1, int(height * scale))
        # JPEG can decode at 1/2, 1/4, 1/8 scale directly: far less time and memory.
        source.draft(source.mode, target)
    source.load()
    image: Image.Image = source
    if image.mode == "CMYK":
        image = image.convert("RGB")
        keep.pop("icc_profile", None)  # a CMYK profile no longer describes the pixels
    elif image.mode not in ("L", "LA", "RGB", "RGBA") and (target or image.mode not in ("1", "P")):
        image = image.convert("RGBA" if "A" in image.mode or "transparency" in keep else "RGB")
        keep.pop("transparency", None)
    if target is not None:
        image = _shrunk(image, target, TRANSPOSE.get(orientation))
    elif orientation in TRANSPOSE:
        image = image.transpose(TRANSPOSE[orientation])
    if image is not source:
        source.close()  # the full-size pixels go now, not when the caller lets go of `source`
    image.info = keep
    return image


def _shrunk(image: Image.Image, size: tuple[int, int], turn: Image.Transpose | None) -> Image.Image:
    """`image` resized to `size`, then turned, a band of rows at a time.

    Pillow resizes in two passes, through an intermediate image as large as the result; and
    turning makes one more copy. Band by band, only the result is ever whole: a 12 MP photo
    peaks at ~85 MB instead of ~120 MB.
    """
    width, height = size
    sideways = turn in (
        Image.Transpose.ROTATE_90,
        Image.Transpose.ROTATE_270,
        Image.Transpose.TRANSPOSE,
        Image.Transpose.TRANSVERSE,
    )
    result = Image.new(image.mode, (height, width) if sideways else size)
    scale_y = image.height / height
    for top in range(0, height, BAND_ROWS):
        bottom = min(height, top + BAND_ROWS)
        box = (0.0, top * scale_y, float(image.width), bottom * scale_y)
        # Bicubic: at these scales (rarely below 1/2) it looks as Lanczos does, in 2/3 the time.
        band = image.resize((width, bottom - top), Image.Resampling.BICUBIC, box=box)
        if turn is not None:
            band = band.transpose(turn)
        # Where rows top..bottom of the unturned image land once turned.
        if turn in (Image.Transpose.ROTATE_90, Image.Transpose.TRANSPOSE):
            position = top, 0
        elif turn in (Image.Transpose.ROTATE_270, Image.Transpose.TRANSVERSE):
            position = height - bottom, 0
        elif turn in (Image.Transpose.FLIP_TOP_BOTTOM, Image.Transpose.ROTATE_180):
            position = 0, height - bottom
        else:
            position = 0, top
        result.paste(band, position)
    return result


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except DECODE_ERRORS:
        return 1  # a broken EXIF block costs only the orientation: it is thrown away anyway
    return value if isinstance(value, int) else 1


def _animated(source: ImageFile.ImageFile, family: str) -> Processed:
    """An animated PNG or WebP, every frame re-encoded (metadata is not carried over). Unlike
    still images they are neither shrunk nor turned: REENCODED_ANIMATION_PIXELS bounds them
    instead."""
    source.load()
    first = source.convert("RGBA")
    stored = io.BytesIO()
    options = {"duration": source.info.get("duration", 100), "loop": source.info.get("loop", 0)}
    if family == "png":
        source.save(stored, "PNG", save_all=True, **options)
    else:
        source.save(stored, "WEBP", save_all=True, quality=85, **options)
    return _processed(first, family, stored.getvalue())


def _process_gif(data: bytes) -> Processed:
    cleaned, width, height, frames = _clean_gif(data)
    if frames * width * height > ANIMATION_PIXELS:
        raise MediaError("The animation is too long for its size; shorten it or make it smaller.")
    try:
        first = GifImagePlugin.GifImageFile(io.BytesIO(cleaned))
        first.load()
    except (*DECODE_ERRORS, Image.DecompressionBombError):
        raise MediaError(DAMAGED_IMAGE) from None
    return _processed(first, "gif", cleaned)


def _clean_gif(data: bytes) -> tuple[bytes, int, int, int]:
    """The GIF's blocks without comments, plain text and application extensions other than the
    loop count, with the canvas size and number of frames; checks that every block is whole."""
    if len(data) < 13:
        raise MediaError(DAMAGED_IMAGE)
    width, height = struct.unpack_from("<HH", data, 6)
    position = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    out = bytearray(data[:position])
    frames = 0
    while True:
        if position >= len(data):
            if frames == 0:
                raise MediaError(DAMAGED_IMAGE)
            break  # a missing trailer is common and harmless
        block = data[position]
        if block == 0x3B:
            break
        if block == 0x21 and position + 2 < len(data):
            end = _skip_sub_blocks(data, position + 2)
            label, application = data[position + 1], data[position + 3 : position + 14]
            if label == 0xF9 or (label == 0xFF and application in (b"NETSCAPE2.0", b"ANIMEXTS1.0")):
                out += data[position:end]
        elif block == 0x2C and position + 10 < len(data):
            left, top, frame_width, frame_height, flags = struct.unpack_from(
                "<HHHHB", data, position + 1
            )
            width, height = max(width, left + frame_width), max(height, top + frame_height)
            if width * height > MAX_PIXELS:
                raise MediaError(
                    f"The image is {width}×{height} pixels; the limit is 7680×4320.", 413
                )
            table = 3 << ((flags & 7) + 1) if flags & 0x80 else 0
            end = _skip_sub_blocks(data, position + 10 + table + 1)  # + LZW minimum code size
            out += data[position:end]
            frames += 1
        else:
            raise MediaError(DAMAGED_IMAGE)
        position = end
    out.append(0x3B)
    return bytes(out), width, height, frames


def _skip_sub_blocks(data: bytes, position: int) -> int:
    while position < len(data):
        size = data[position]
        position += 1 + size
        if size == 0:
            return position
    raise MediaError(DAMAGED_IMAGE)


def _processed(image: Image.Image, family: str, stored: bytes) -> Processed:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    mode = "RGBA" if has_alpha else "RGB"
    preview = image if image.mode == mode else image.convert(mode)
    ratio = min(THUMBNAIL_SIZE / preview.width, THUMBNAIL_SIZE / preview.height, 1.0)
    if ratio < 1:
        size = max(1, round(preview.width * ratio)), max(1, round(preview.height * ratio))
        preview = preview.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    thumbnail = io.BytesIO()
    if has_alpha:
        preview.save(thumbnail, "WEBP", quality=80)
    else:
        preview.save(thumbnail, "JPEG", quality=80)
    extension = {"jpeg": "jpg"}.get(family, family)
    return Processed(
        kind="image",
        media_type=f"image/{family}",
        extension=extension,
        data=stored,
        thumbnail=thumbnail.getvalue(),
        thumbnail_type="image/webp" if has_alpha else "image/jpeg",
        width=image.width,
        height=image.height,
        duration=None,
        blurhash=_blurhash(preview),
    )


def _blurhash(preview: Image.Image) -> str:
    tiny = preview.convert("RGB")
    tiny.thumbnail((BLURHASH_SIZE, BLURHASH_SIZE), Image.Resampling.BILINEAR)
    raw, stride = tiny.tobytes(), tiny.width * 3
    rows = [
        [raw[x : x + 3] for x in range(y * stride, (y + 1) * stride, 3)] for y in range(tiny.height)
    ]
    return str(blurhash.encode(rows, components_x=4, components_y=3))
