"""Time-sortable ids in Mastodon's shape: milliseconds since the epoch << 16 | a sequence."""

from __future__ import annotations

import time


class IdGenerator:
    def __init__(self) -> None:
        self._last_ms = 0
        self._sequence = 0

    def next(self, at: float | None = None) -> int:
        """A new id; `at` (unix seconds) places a remote post at its publication time."""
        ms = int((time.time() if at is None else at) * 1000)
        if at is None:
            if ms <= self._last_ms:
                ms = self._last_ms
                self._sequence += 1
                if self._sequence > 0xFFFF:
                    ms += 1
                    self._sequence = 0
            else:
                self._sequence = 0
            self._last_ms = ms
            return (ms << 16) | self._sequence
        # Remote timestamps: spread within the millisecond by a rolling counter.
        self._sequence = (self._sequence + 1) & 0xFFFF
        return (ms << 16) | self._sequence


def id_to_unix(snowflake: int) -> float:
    return (snowflake >> 16) / 1000


def unix_to_id(at: float) -> int:
    """The smallest id of the millisecond `at` (unix seconds): ids below it are older."""
    return int(at * 1000) << 16
