"""The signing process: RSA signatures for `BatchSigner` in a process of its own.

    python -m solo.federation.sign_worker THREADS

It imports cryptography and nothing of Solo's but this module, reads requests from stdin and
writes answers to stdout, signs on THREADS threads, runs at a lower priority than Solo (nice
`NICENESS`: the event loop wins a contended core) and ends at the end of its input. Ctrl-C at a
terminal reaches it too; it leaves the stopping to Solo, which closes its input.

Messages (little-endian), each a kind byte and a head of two u32:

- `K` key: key number, length; then the private key, PKCS#8 DER.
- `F` forget every key (head 0, 0): Solo sends it before a batch once it has sent `MAX_KEYS`
  keys, and sends each key again before using it.
- `B` batch: batch number, item count; then per item a u32 key number, u32 length, the text.

Answers, one per batch: u32 batch number, u32 length of the rest; then per item a byte (1:
signed, 0: failed), u32 length, the signature (or why it failed, UTF-8).
"""

from __future__ import annotations

import os
import signal
import struct
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, BinaryIO, Final

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

HEAD: Final = struct.Struct("<II")
ITEM: Final = struct.Struct("<BI")
MAX_KEYS: Final = 16
NICENESS: Final = 10


def rsa_sign(private_key: rsa.RSAPrivateKey, text: bytes) -> bytes:
    """The RSA step of a draft-cavage rsa-sha256 signature (PKCS#1 v1.5 over SHA-256)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return private_key.sign(text, padding.PKCS1v15(), hashes.SHA256())


def sign_all(items: Sequence[tuple[rsa.RSAPrivateKey | None, bytes]]) -> list[bytes | Exception]:
    """Each text signed with its key; a key cryptography refuses (or none) fails that one."""
    results: list[bytes | Exception] = []
    for key, text in items:
        try:
            if key is None:
                raise ValueError("no such key")
            results.append(rsa_sign(key, text))
        except (ValueError, TypeError, AttributeError) as error:
            results.append(ValueError(str(error) or type(error).__name__))
    return results


def encode_answer(number: int, results: list[bytes | Exception]) -> bytes:
    parts = []
    for result in results:
        data = result if isinstance(result, bytes) else str(result).encode()
        parts.append(ITEM.pack(isinstance(result, bytes), len(data)))
        parts.append(data)
    body = b"".join(parts)
    return HEAD.pack(number, len(body)) + body


def decode_answer(body: bytes) -> list[bytes | Exception]:
    results: list[bytes | Exception] = []
    view = memoryview(body)
    at = 0
    while at < len(view):
        signed, length = ITEM.unpack_from(view, at)
        at += ITEM.size
        data = bytes(view[at : at + length])
        at += length
        results.append(data if signed else ValueError(data.decode(errors="replace")))
    return results


def _read(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError
    return data


def main(threads: int) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(NICENESS)
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    keys: dict[int, rsa.RSAPrivateKey] = {}
    writing = threading.Lock()

    def answer(number: int, items: list[tuple[rsa.RSAPrivateKey | None, bytes]]) -> None:
        data = encode_answer(number, sign_all(items))
        with writing:
            sink.write(data)
            sink.flush()

    with ThreadPoolExecutor(threads) as pool:
        try:
            while True:
                kind = _read(source, 1)
                number, size = HEAD.unpack(_read(source, HEAD.size))
                if kind == b"F":
                    keys.clear()
                elif kind == b"K":
                    key = serialization.load_der_private_key(_read(source, size), None)
                    if isinstance(key, rsa.RSAPrivateKey):
                        keys[number] = key
                elif kind == b"B":
                    items: list[tuple[rsa.RSAPrivateKey | None, bytes]] = []
                    for _ in range(size):
                        key_number, length = HEAD.unpack(_read(source, HEAD.size))
                        items.append((keys.get(key_number), _read(source, length)))
                    pool.submit(answer, number, items)
                else:
                    raise SystemExit(f"sign_worker: unknown message kind {kind!r}")
        except (EOFError, BrokenPipeError):
            pass


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
