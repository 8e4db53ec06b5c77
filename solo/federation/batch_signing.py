"""RSA signatures for deliveries, made on one worker thread in batches.

A fan-out signs one request per inbox, thousands in a burst. `asyncio.to_thread` per signature
costs the event loop a future, a thread hand-off and a wake-up each, and the pool's threads then
queue for the GIL behind the loop more than they sign (py-spy, issue 15). Here every signature
asked for while a batch is being signed waits for the next batch, and one hand-off carries them
all: the loop pays once per batch, and the signing thread runs on the other core (cryptography
lets go of the GIL while it signs).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from cryptography.hazmat.primitives.asymmetric import rsa

from solo.federation.signatures import rsa_sign

MAX_BATCH: Final = 256  # about 60 ms of signing: no delivery waits long for its batch

_Item = tuple[rsa.RSAPrivateKey, bytes, "asyncio.Future[bytes]"]


def _sign_all(items: list[tuple[rsa.RSAPrivateKey, bytes]]) -> list[bytes | Exception]:
    results: list[bytes | Exception] = []
    for key, text in items:
        try:
            results.append(rsa_sign(key, text))
        except (ValueError, TypeError) as error:  # a key cryptography refuses: that one fails
            results.append(error)
    return results


class BatchSigner:
    """Owns the signing thread; `aclose` it when the deliveries stop."""

    def __init__(self) -> None:
        self._pending: list[_Item] = []
        self._signing = False
        self._executor: ThreadPoolExecutor | None = None
        self.batches = 0  # handed to the signing thread so far

    async def sign(self, private_key: rsa.RSAPrivateKey, text: bytes) -> bytes:
        """The PKCS#1 v1.5 SHA-256 signature of `text`, signed with the next batch."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        self._pending.append((private_key, text, future))
        if not self._signing:
            self._signing = True
            # Not at once: the deliveries started in this turn of the loop join the batch.
            loop.call_soon(self._next_batch, loop)
        return await future

    def _next_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = [item for item in self._pending[:MAX_BATCH] if not item[2].done()]
        del self._pending[:MAX_BATCH]
        if not batch:
            if self._pending:
                loop.call_soon(self._next_batch, loop)
            else:
                self._signing = False
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="solo-sign")
        self.batches += 1
        work = loop.run_in_executor(
            self._executor, _sign_all, [(key, text) for key, text, _ in batch]
        )
        work.add_done_callback(lambda done: self._signed(loop, batch, done))

    def _signed(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[_Item],
        done: asyncio.Future[list[bytes | Exception]],
    ) -> None:
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
        self._signing = False
        if self._pending:
            self._signing = True
            loop.call_soon(self._next_batch, loop)

    async def aclose(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown)
