"""RSA signing off the event loop, the signatures of a moment together on one thread.

An RSA-2048 signature costs about 230 µs of CPU: on the event loop, the key fetches of a viral
post's thousand first contacts a second would spend a quarter of it signing. `sign` hands the
work to one thread, which signs whatever is waiting (cryptography releases the GIL while it
signs) and answers the whole batch with one wake-up of the loop: a hand-off per batch, not per
signature, so the thread rarely waits for the GIL. On a single core (a Raspberry Pi, or a
process pinned to one) a second thread has no CPU to run on, so the loop signs by itself.

The thread starts at the first signature and ends after `IDLE_SECONDS` without one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from solo.lazy import lazy

if TYPE_CHECKING:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
else:  # at the first signature, not at start (see solo.lazy)
    hashes = lazy("cryptography.hazmat.primitives.hashes")
    padding = lazy("cryptography.hazmat.primitives.asymmetric.padding")

IDLE_SECONDS: Final = 5.0

# One signature to make: the key, the bytes, and where the answer goes.
_Work = tuple["rsa.RSAPrivateKey", bytes, asyncio.AbstractEventLoop, "asyncio.Future[bytes]"]


def rsa_sha256(private_key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """PKCS#1 v1.5 over SHA-256: rsa-sha256 of draft-cavage, rsa-v1_5-sha256 of RFC 9421."""
    return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _single_core() -> bool:
    try:
        return len(os.sched_getaffinity(0)) < 2
    except AttributeError:  # not on Linux
        return (os.cpu_count() or 1) < 2


class _SigningThread:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._work: list[_Work] = []
        self._wake = threading.Event()
        self._running = False

    def submit(self, private_key: rsa.RSAPrivateKey, data: bytes) -> asyncio.Future[bytes]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        with self._lock:
            self._work.append((private_key, data, loop, future))
            start, self._running = not self._running, True
        if start:
            threading.Thread(target=self._run, name="solo-signing", daemon=True).start()
        else:
            self._wake.set()
        return future

    def _run(self) -> None:
        while True:
            with self._lock:
                batch, self._work = self._work, []
                if not batch:
                    self._running = False
                    return
                self._wake.clear()
            answers: dict[asyncio.AbstractEventLoop, list[Callable[[], None]]] = {}
            for private_key, data, loop, future in batch:
                try:
                    answer = _answer(future, rsa_sha256(private_key, data))
                except Exception as error:  # noqa: BLE001 (raised to the caller, on its loop)
                    answer = _failure(future, error)
                answers.setdefault(loop, []).append(answer)
            for loop, done in answers.items():
                # A closed loop raises RuntimeError: nobody waits for these any more.
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(_deliver, done)
            if not self._work:
                self._wake.wait(IDLE_SECONDS)


def _answer(future: asyncio.Future[bytes], signature: bytes) -> Callable[[], None]:
    def set_result() -> None:
        if not future.done():
            future.set_result(signature)

    return set_result


def _failure(future: asyncio.Future[bytes], error: Exception) -> Callable[[], None]:
    def set_exception() -> None:
        if not future.done():
            future.set_exception(error)

    return set_exception


def _deliver(done: list[Callable[[], None]]) -> None:
    for answer in done:
        answer()


_THREAD = _SigningThread()


async def sign(private_key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    """`rsa_sha256(private_key, data)`, computed on the signing thread (inline on one core)."""
    if _single_core():
        return rsa_sha256(private_key, data)
    return await _THREAD.submit(private_key, data)
