"""RSA signatures for deliveries, made on the signing threads in batches.

A fan-out signs one request per inbox, thousands in a burst. `asyncio.to_thread` per signature
costs the event loop a future, a thread hand-off and a wake-up each, and the pool's threads then
queue for the GIL behind the loop more than they sign (py-spy, issue 15). Here every signature
asked for while a batch is being signed waits for the next batch, and one hand-off carries them
all: the loop pays once per batch, and the signing threads run beside it on the other cores
(cryptography lets go of the GIL while it signs).
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final

from solo.federation.signatures import rsa_sign

if TYPE_CHECKING:  # the keys' type only: cryptography loads at the first signature
    from cryptography.hazmat.primitives.asymmetric import rsa

# About 25 ms of signing on a slow core. Small, so that a thread finishing its batch finds the
# next one waiting: with 256, half the 512 deliveries in flight came back together, the other
# half were on the other thread, and nothing was left to sign while the loop sent the first
# half (a thread found the queue empty after 8 of 28 batches, against 3 of 132 with 32). A
# hand-off costs the loop some 30 µs: 1 µs per delivery.
MAX_BATCH: Final = 32

_Item = tuple["rsa.RSAPrivateKey", bytes, "asyncio.Future[bytes]"]


def _sign_all(items: list[tuple[rsa.RSAPrivateKey, bytes]]) -> list[bytes | Exception]:
    results: list[bytes | Exception] = []
    for key, text in items:
        try:
            results.append(rsa_sign(key, text))
        except (ValueError, TypeError) as error:  # a key cryptography refuses: that one fails
            results.append(error)
    return results


def signing_threads() -> int:
    """Two signing threads where there are two cores to run them: RSA is two thirds of a
    delivery's CPU, so one thread would leave the fan-out bound by one core's signing."""
    return max(1, min(2, len(os.sched_getaffinity(0))))


class BatchSigner:
    """Owns the signing threads; `aclose` them when the deliveries stop."""

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads or signing_threads()
        self._pending: list[_Item] = []
        self._in_flight = 0  # batches on the threads
        self._scheduled = False
        self._executor: ThreadPoolExecutor | None = None
        self.batches = 0  # handed to the signing threads so far

    async def sign(self, private_key: rsa.RSAPrivateKey, text: bytes) -> bytes:
        """The PKCS#1 v1.5 SHA-256 signature of `text`, signed with the next batch."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        self._pending.append((private_key, text, future))
        self._schedule(loop)
        return await future

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._pending and self._in_flight < self.threads and not self._scheduled:
            self._scheduled = True
            # Not at once: the deliveries started in this turn of the loop join the batch.
            loop.call_soon(self._next_batch, loop)

    def _next_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        batch = [item for item in self._pending[:MAX_BATCH] if not item[2].done()]
        del self._pending[:MAX_BATCH]
        if batch:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="solo-sign")
            self.batches += 1
            self._in_flight += 1
            work = loop.run_in_executor(
                self._executor, _sign_all, [(key, text) for key, text, _ in batch]
            )
            work.add_done_callback(lambda done: self._signed(loop, batch, done))
        self._schedule(loop)

    def _signed(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[_Item],
        done: asyncio.Future[list[bytes | Exception]],
    ) -> None:
        self._in_flight -= 1
        if done.cancelled():
            results: list[bytes | Exception] = [RuntimeError("signing stopped") for _ in batch]
        elif (error := done.exception()) is not None:
            results = [RuntimeError(f"signing failed: {error!r}") for _ in batch]
        else:
            results = done.result()
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():
                continue  # its delivery was cancelled meanwhile
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
        self._schedule(loop)

    async def aclose(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown)
