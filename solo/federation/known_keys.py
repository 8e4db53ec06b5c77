"""Which key ids may be stored: a Bloom filter, so that a key never seen costs no database read.

A viral post's first contacts each bring a key Solo has never stored; asking SQLite whether it
has it cost the event loop a thread hop per request (a sixth of a first contact's loop time).
The filter answers "surely not" for those; "maybe" sends the question to the database as before.

The resolver fills it from the actors table once, then from the inserts and updates that
`Database.watch` reports, so it holds every key stored since; only a key stored by another
process (a `solo` command) can be missing, and such a key is then fetched again and stored anew,
never trusted unchecked. Deleted keys stay in (a "maybe" costs only the read). Sized for four
times the keys stored at start (at least `MIN_CAPACITY`) at a 1 % false-positive rate: about
120 KB for 100,000 keys; past its capacity the rate rises, which costs reads, not correctness.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from typing import Final

from solo.store import actors as actor_store

MIN_CAPACITY: Final = 100_000
ERROR_RATE: Final = 0.01


class KnownKeys:
    def __init__(self, capacity: int = MIN_CAPACITY, error_rate: float = ERROR_RATE) -> None:
        capacity = max(1, capacity)
        self.bits = max(64, math.ceil(-capacity * math.log(error_rate) / math.log(2) ** 2))
        self.hashes = max(1, round(self.bits / capacity * math.log(2)))
        self._array = bytearray((self.bits + 7) // 8)

    def _positions(self, key_id: str) -> list[int]:
        digest = hashlib.blake2b(key_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        first = int.from_bytes(digest[:8], "little")
        step = int.from_bytes(digest[8:], "little") | 1
        bits = self.bits
        return [(first + i * step) % bits for i in range(self.hashes)]

    def add(self, key_id: str) -> None:
        array = self._array
        for position in self._positions(key_id):
            array[position >> 3] |= 1 << (position & 7)

    def __contains__(self, key_id: object) -> bool:
        """False: surely never added; True: maybe."""
        if not isinstance(key_id, str):
            return False
        array = self._array
        return all(array[p >> 3] & (1 << (p & 7)) for p in self._positions(key_id))


def load(conn: sqlite3.Connection) -> KnownKeys:
    """The filter of every key id in the actors table (on a reader's thread)."""
    known = KnownKeys(max(MIN_CAPACITY, 4 * actor_store.count_key_ids(conn)))
    for key_id in actor_store.each_key_id(conn):
        known.add(key_id)
    return known
