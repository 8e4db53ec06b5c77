"""Audio and video: recognising MP4, WebM, MP3 and Ogg from their bytes, and reading what a
client shows before playing (kind, duration, width and height) without decoding anything.

The bytes are stored as they came; these readers only vouch that the container is what it says
and is whole. Every walker here stays inside the buffer and is bounded in depth and steps, since
the bytes are a stranger's.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final, Literal

from mutagen import MutagenError
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

DAMAGED_AUDIO: Final = "The audio could not be read: it may be damaged or cut short."
DAMAGED_VIDEO: Final = "The video could not be read: it may be damaged or cut short."
# What mutagen raises for bytes it cannot read: its own errors, and RecursionError, since it
# descends into nested MP4 boxes by recursion (a few kB of boxes inside boxes reach the limit).
MUTAGEN_ERRORS: Final = (MutagenError, RecursionError)
MAX_STEPS: Final = 10_000  # boxes or elements looked at in one file; real files need a few dozen
AUDIO_ONLY_BRANDS: Final = frozenset({b"M4A ", b"M4B ", b"M4P "})
MP3_BITRATES: Final = {
    3: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),  # MPEG-1
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2
    0: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2.5
}
MP3_SAMPLE_RATES: Final = {
    3: (44100, 48000, 32000),
    2: (22050, 24000, 16000),
    0: (11025, 12000, 8000),
}

# Matroska element IDs (with their length marker), as WebM uses them.
EBML: Final = 0x1A45DFA3
DOC_TYPE: Final = 0x4282
SEGMENT: Final = 0x18538067
INFO: Final = 0x1549A966
TIMECODE_SCALE: Final = 0x2AD7B1
DURATION: Final = 0x4489
TRACKS: Final = 0x1654AE6B
TRACK_ENTRY: Final = 0xAE
TRACK_TYPE: Final = 0x83
VIDEO: Final = 0xE0
PIXEL_WIDTH: Final = 0xB0
PIXEL_HEIGHT: Final = 0xBA
CLUSTER: Final = 0x1F43B675


class Unreadable(Exception):
    """The container is damaged, cut short or not one we serve; the message is for a person."""


@dataclass(frozen=True, slots=True)
class AvInfo:
    kind: Literal["gifv", "video", "audio"]
    media_type: str
    extension: str
    duration: float | None
    width: int | None
    height: int | None


def sniff(data: bytes) -> Literal["mp4", "webm", "mp3", "ogg"] | None:
    """Which of our audio/video containers the bytes start like, if any."""
    if data[4:8] == b"ftyp":
        return "mp4"
    if data.startswith(b"OggS"):
        return "ogg"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        try:
            return "webm" if _webm_doc_type(data) == b"webm" else None
        except Unreadable:
            return None
    if data.startswith(b"ID3"):
        return "mp3"
    length = _mp3_frame_length(data)
    if length is not None and (length == len(data) or _mp3_frame_length(data[length:]) is not None):
        return "mp3"
    return None


def probe(data: bytes, family: Literal["mp4", "webm", "mp3", "ogg"]) -> AvInfo:
    """Kind, type and what can be read of duration and size; raises Unreadable."""
    if family == "mp4":
        return _probe_mp4(data)
    if family == "webm":
        return _probe_webm(data)
    if family == "mp3":
        try:
            duration = _length(MP3, data)
        except MUTAGEN_ERRORS:
            raise Unreadable(DAMAGED_AUDIO) from None
        return AvInfo("audio", "audio/mpeg", "mp3", duration, None, None)
    return _probe_ogg(data)


def _length(reader: Any, data: bytes) -> float | None:
    """The stream length mutagen reads (its types are partial, hence Any); raises MutagenError."""
    return _seconds(reader(io.BytesIO(data)).info.length)


def _seconds(value: object) -> float | None:
    """A duration worth keeping: positive and finite (an infinite or NaN length read from a
    crafted header would make invalid JSON for API clients)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    seconds = float(value)
    return seconds if math.isfinite(seconds) and 0 < seconds < 10**9 else None


def _kind(has_video: bool, has_audio: bool) -> Literal["gifv", "video", "audio"]:
    # A video without sound is shown like a GIF (looping, muted), as Mastodon does.
    if has_video:
        return "video" if has_audio else "gifv"
    return "audio"


# MP3


def _mp3_frame_length(header: bytes) -> int | None:
    """The length of the MPEG Layer III frame that `header` starts, None if it is not one."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate_index, rate_index, padding = header[2] >> 4, (header[2] >> 2) & 3, (header[2] >> 1) & 1
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    bitrate = MP3_BITRATES[version][bitrate_index] * 1000
    sample_rate = MP3_SAMPLE_RATES[version][rate_index]
    bytes_per_sample_slot = 144 if version == 3 else 72
    return bytes_per_sample_slot * bitrate // sample_rate + padding


# Ogg


def _probe_ogg(data: bytes) -> AvInfo:
    segments = data[26] if len(data) > 26 else 0
    first_packet = data[27 + segments : 27 + segments + 8]
    try:
        if first_packet == b"OpusHead":
            duration = _length(OggOpus, data)
        elif first_packet.startswith(b"\x01vorbis"):
            duration = _length(OggVorbis, data)
        else:
            raise Unreadable("This Ogg file holds neither Vorbis nor Opus audio.")
    except MUTAGEN_ERRORS:
        raise Unreadable(DAMAGED_AUDIO) from None
    return AvInfo("audio", "audio/ogg", "ogg", duration, None, None)


# MP4 (ISO base media file format)


def _boxes(data: bytes, start: int, end: int, steps: list[int]) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box between start and end."""
    position = start
    while position < end:
        steps[0] += 1
        if steps[0] > MAX_STEPS or end - position < 8:
            raise Unreadable(DAMAGED_VIDEO)
        size, kind = struct.unpack_from(">I4s", data, position)
        header = 8
        if size == 1:
            if end - position < 16:
                raise Unreadable(DAMAGED_VIDEO)
            size = struct.unpack_from(">Q", data, position + 8)[0]
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            raise Unreadable(DAMAGED_VIDEO)
        yield kind, position + header, position + size
        position += size


def _child(data: bytes, start: int, end: int, kind: bytes, steps: list[int]) -> tuple[int, int]:
    for found, payload_start, payload_end in _boxes(data, start, end, steps):
        if found == kind:
            return payload_start, payload_end
    return -1, -1


def _probe_mp4(data: bytes) -> AvInfo:
    steps = [0]
    top = {kind: (start, end) for kind, start, end in _boxes(data, 0, len(data), steps)}
    if b"moov" not in top:
        raise Unreadable("The video could not be read: it has no index (moov box).")
    brand = data[top[b"ftyp"][0] : top[b"ftyp"][0] + 4]
    has_video = has_audio = False
    width = height = None
    for kind, start, end in _boxes(data, *top[b"moov"], steps):
        if kind != b"trak":
            continue
        mdia = _child(data, start, end, b"mdia", steps)
        hdlr = _child(data, *mdia, b"hdlr", steps) if mdia[0] >= 0 else (-1, -1)
        handler = data[hdlr[0] + 8 : hdlr[0] + 12] if hdlr[0] >= 0 else b""
        has_audio |= handler == b"soun"
        if handler == b"vide":
            has_video = True
            tkhd = _child(data, start, end, b"tkhd", steps)
            if width is None and tkhd[0] >= 0:
                width, height = _tkhd_size(data[tkhd[0] : tkhd[1]])
    try:
        duration = _length(MP4, data)
    except MUTAGEN_ERRORS:
        duration = None
    if brand in AUDIO_ONLY_BRANDS or (has_audio and not has_video):
        return AvInfo("audio", "audio/mp4", "mp4", duration, None, None)
    if not has_video:
        raise Unreadable("The video could not be read: it has neither a video nor an audio track.")
    return AvInfo(_kind(has_video, has_audio), "video/mp4", "mp4", duration, width, height)


def _tkhd_size(tkhd: bytes) -> tuple[int | None, int | None]:
    """Display width and height from a track header, swapped when its matrix turns by 90°."""
    offset = 76 if tkhd[:1] == b"\x00" else 88  # version 1 has 64-bit times
    if len(tkhd) < offset + 8:
        return None, None
    a, b = struct.unpack_from(">ii", tkhd, offset - 36)
    width, height = (value >> 16 for value in struct.unpack_from(">II", tkhd, offset))
    if width == 0 or height == 0:
        return None, None
    if a == 0 and b != 0:
        return height, width
    return width, height


# WebM (Matroska)


def _vint(data: bytes, position: int, end: int, *, marker: bool) -> tuple[int, int, bool]:
    """An EBML variable-length integer: value, next position, whether it is 'unknown'."""
    if position >= end or data[position] == 0:
        raise Unreadable(DAMAGED_VIDEO)
    first = data[position]
    length = 9 - first.bit_length()
    if position + length > end or (marker and length > 4):
        raise Unreadable(DAMAGED_VIDEO)
    value = first if marker else first & (0xFF >> length)
    for byte in data[position + 1 : position + length]:
        value = value << 8 | byte
    unknown = not marker and value == (1 << (7 * length)) - 1
    return value, position + length, unknown


def _elements(
    data: bytes, start: int, end: int, steps: list[int]
) -> Iterator[tuple[int, int, int]]:
    """(ID, payload start, payload end) of each element between start and end."""
    position = start
    while position < end:
        steps[0] += 1
        if steps[0] > MAX_STEPS:
            raise Unreadable("The video could not be read: it has too many parts.")
        element, position, _ = _vint(data, position, end, marker=True)
        size, position, unknown = _vint(data, position, end, marker=False)
        payload_end = position + size
        if unknown or payload_end > end:
            # A live-written Segment or Cluster may have no size, or be cut short in the middle
            # of its frames; anything else that overruns its parent is damage.
            if element not in (SEGMENT, CLUSTER):
                raise Unreadable(DAMAGED_VIDEO)
            payload_end = end
        yield element, position, payload_end
        position = payload_end


def _uint(data: bytes) -> int:
    return int.from_bytes(data[:8], "big")


def _webm_doc_type(data: bytes) -> bytes:
    for element, start, end in _elements(data, 0, len(data), [0]):
        if element != EBML:
            break
        for child, child_start, child_end in _elements(data, start, end, [0]):
            if child == DOC_TYPE:
                return data[child_start:child_end].rstrip(b"\x00")
        break
    return b""


def _probe_webm(data: bytes) -> AvInfo:
    steps = [0]
    scale, raw_duration = 1_000_000, None
    has_video = has_audio = False
    width = height = None
    segment = next((e for e in _elements(data, 0, len(data), steps) if e[0] == SEGMENT), None)
    if segment is None:
        raise Unreadable("The video could not be read: it has no Segment.")
    for element, start, end in _elements(data, segment[1], segment[2], steps):
        if element == INFO:
            for child, child_start, child_end in _elements(data, start, end, steps):
                if child == TIMECODE_SCALE:
                    scale = _uint(data[child_start:child_end])
                elif child == DURATION and child_end - child_start in (4, 8):
                    fmt = ">f" if child_end - child_start == 4 else ">d"
                    raw_duration = struct.unpack_from(fmt, data, child_start)[0]
        elif element == TRACKS:
            for entry, entry_start, entry_end in _elements(data, start, end, steps):
                if entry != TRACK_ENTRY:
                    continue
                for child, child_start, child_end in _elements(data, entry_start, entry_end, steps):
                    if child == TRACK_TYPE:
                        track_type = _uint(data[child_start:child_end])
                        has_video |= track_type == 1
                        has_audio |= track_type == 2
                    elif child == VIDEO and width is None:
                        width, height = _webm_size(data, child_start, child_end, steps)
        elif element == CLUSTER:
            break  # the frames: Info and Tracks come before them
    if not (has_video or has_audio):
        raise Unreadable("The video could not be read: it has neither a video nor an audio track.")
    duration = _seconds(raw_duration * scale / 1e9) if raw_duration is not None else None
    if not has_video:
        return AvInfo("audio", "video/webm", "webm", duration, None, None)
    return AvInfo(_kind(has_video, has_audio), "video/webm", "webm", duration, width, height)


def _webm_size(
    data: bytes, start: int, end: int, steps: list[int]
) -> tuple[int | None, int | None]:
    width = height = None
    for child, child_start, child_end in _elements(data, start, end, steps):
        if child == PIXEL_WIDTH:
            width = _uint(data[child_start:child_end]) or None
        elif child == PIXEL_HEIGHT:
            height = _uint(data[child_start:child_end]) or None
    return width, height
