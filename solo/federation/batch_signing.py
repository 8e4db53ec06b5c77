"""RSA signatures for deliveries and key fetches, made off the event loop in batches.

A fan-out signs one request per inbox, thousands in a burst. `asyncio.to_thread` per signature
costs the event loop a future, a thread hand-off and a wake-up each, and the pool's threads then
queue for the GIL behind the loop more than they sign (py-spy, issue 15). Here every signature
asked for while a batch is being signed waits for the next batch, and one hand-off carries them
all: the loop pays once per batch.

Where the batches are signed depends on the demand:

- A few signatures at a time (a post to a few dozen servers, a key fetch now and then) are
  signed on `threads` threads of this process: cryptography lets go of the GIL while it signs.
- A burst (a whole batch waiting, `MAX_BATCH` signatures) starts the signing process
  (`sign_worker`) where this process may run on two cores or more, and the batches go there
  once it is up, until it has had nothing to sign for `PROCESS_IDLE` seconds. On a thread, each
  signature takes the GIL back when it is done, and the event loop, which holds it whenever it
  runs, must hand it over: on two cores the loop waited on the GIL a fifth of a fan-out, and a
  thread signing beside a busy Python thread made 160 signatures a second instead of 1,050.
  The process has a GIL of its own and runs at a lower priority, so that the loop wins a
  contended core. It costs about 20 MB while it runs, which is why it runs only for bursts; on
  one core it gains nothing, so there the threads sign everything.

If the process cannot be started, or dies, or answers nothing for `PROCESS_STUCK` seconds (it
is killed then), the signatures it had fail (their deliveries are tried again later, like any
failure) and the threads sign until the next burst starts it again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final

from solo.federation.sign_worker import HEAD, MAX_KEYS, decode_answer, sign_all

if TYPE_CHECKING:  # the keys' type only: cryptography loads at the first signature
    from cryptography.hazmat.primitives.asymmetric import rsa

log = logging.getLogger(__name__)

# About 25 ms of signing on a slow core. Small, so that a thread finishing its batch finds the
# next one waiting: with 256, half the 512 deliveries in flight came back together, the other
# half were on the other thread, and nothing was left to sign while the loop sent the first
# half (a thread found the queue empty after 8 of 28 batches, against 3 of 132 with 32). A
# hand-off costs the loop some 30 µs: 1 µs per delivery.
MAX_BATCH: Final = 32
PROCESS_IDLE: Final = 60.0  # seconds without a batch before the signing process stops
# Seconds a batch may wait for its answer (32 signatures: 30 ms of CPU, seconds at nice 10 on
# a core the loop keeps busy) before the process is taken for stuck and killed: the threads
# then sign, and its batches' deliveries are tried again later.
PROCESS_STUCK: Final = 30.0

_Item = tuple["rsa.RSAPrivateKey", bytes, "asyncio.Future[bytes]"]


def signing_threads() -> int:
    """Two signing threads where there are two cores to run them: RSA is two thirds of a
    delivery's CPU, so one thread would leave the fan-out bound by one core's signing."""
    return max(1, min(2, len(os.sched_getaffinity(0))))


def _settle(batch: list[_Item], results: list[bytes | Exception]) -> None:
    for (_, _, future), result in zip(batch, results, strict=True):
        if future.done():
            continue  # its delivery was cancelled meanwhile
        if isinstance(result, Exception):
            future.set_exception(result)
        else:
            future.set_result(result)


def _fail(batch: list[_Item], why: str) -> None:
    _settle(batch, [RuntimeError(why) for _ in batch])


class _SigningProcess:
    """One `sign_worker` process: batches written to its stdin, answers read from its stdout."""

    def __init__(self, process: asyncio.subprocess.Process, on_answer: Callable[[], None]) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.stdin = process.stdin
        self.in_flight: dict[int, list[_Item]] = {}
        self.last_used = asyncio.get_running_loop().time()
        self.progress = self.last_used  # its last answer, or the batch that found it waiting
        self._keys: dict[int, tuple[rsa.RSAPrivateKey, int]] = {}  # id(key) → (key, number)
        self._numbers = 0
        self._on_answer = on_answer
        self.stopped = False  # its answers ended: it is gone, or going
        self.reading = asyncio.ensure_future(self._read(process.stdout))

    def send(self, batch: list[_Item]) -> None:
        if len(self._keys) >= MAX_KEYS:  # between batches: those sent have their keys
            self._keys.clear()
            self.stdin.write(b"F" + HEAD.pack(0, 0))
        parts: list[bytes] = []
        for key, text, _ in batch:
            parts.append(HEAD.pack(self._key_number(key), len(text)))
            parts.append(text)
        self._numbers += 1
        self.stdin.write(b"B" + HEAD.pack(self._numbers, len(batch)) + b"".join(parts))
        self.last_used = asyncio.get_running_loop().time()
        if not self.in_flight:
            self.progress = self.last_used
        self.in_flight[self._numbers] = batch

    def _key_number(self, key: rsa.RSAPrivateKey) -> int:
        """The number the process knows `key` by, sent to it first if it does not know it (0,
        which it knows no key by, for a key that cannot be exported: that signature fails)."""
        known = self._keys.get(id(key))
        if known is not None and known[0] is key:
            return known[1]
        from cryptography.hazmat.primitives import serialization

        try:
            der = key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        except (AttributeError, TypeError, ValueError):
            return 0
        self._numbers += 1
        self.stdin.write(b"K" + HEAD.pack(self._numbers, len(der)) + der)
        self._keys[id(key)] = (key, self._numbers)
        return self._numbers

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                number, size = HEAD.unpack(await stdout.readexactly(HEAD.size))
                results = decode_answer(await stdout.readexactly(size))
                self.progress = loop.time()
                batch = self.in_flight.pop(number, None)
                if batch is not None:
                    _settle(batch, results)
                self._on_answer()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as error:
            if self.in_flight:
                log.warning("the signing process stopped with batches unsigned: %r", error)
        finally:
            self.stopped = True
            for batch in self.in_flight.values():
                _fail(batch, "the signing process stopped")
            self.in_flight.clear()
            self._on_answer()

    async def aclose(self) -> None:
        if not self.stdin.is_closing():
            self.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        await self.reading


class BatchSigner:
    """Owns the signing threads and process; `aclose` them when the deliveries stop."""

    def __init__(self, threads: int | None = None, *, process: bool | None = None) -> None:
        """`process`: whether bursts go to the signing process; None: where this process may
        run on two cores or more (on one, measured: cold keys 394 → 342/s, the fan-out no
        faster, for 22 MB more)."""
        self.threads = threads or signing_threads()
        if process is None:
            process = len(os.sched_getaffinity(0)) >= 2
        self._use_process = process
        self._pending: list[_Item] = []
        self._on_threads = 0  # batches on the threads
        self._scheduled = False
        self._executor: ThreadPoolExecutor | None = None
        self._process: _SigningProcess | None = None
        self._starting: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None  # the next `_check`: idle or stuck
        self._closing: set[asyncio.Task[None]] = set()  # processes stopping, idle
        self._closed = False
        self.batches = 0  # handed to the signing threads or process so far
        self.processes = 0  # signing processes started so far

    async def sign(self, private_key: rsa.RSAPrivateKey, text: bytes) -> bytes:
        """The PKCS#1 v1.5 SHA-256 signature of `text`, signed with the next batch."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        self._pending.append((private_key, text, future))
        self._schedule(loop)
        return await future

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._pending and not self._scheduled and self._room():
            self._scheduled = True
            # Not at once: the deliveries started in this turn of the loop join the batch.
            loop.call_soon(self._next_batch, loop)

    def _room(self) -> bool:
        """Whether a batch may go now: a batch each for the process's threads and one waiting
        there (its answer comes through the loop), or one per signing thread."""
        if self._process is not None:
            return len(self._process.in_flight) <= self.threads
        return self._on_threads < self.threads

    def _next_batch(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        if not self._room():
            return
        if (
            len(self._pending) >= MAX_BATCH
            and self._use_process
            and self._process is None
            and not self._closed
        ):
            self._start_process(loop)
        batch = [item for item in self._pending[:MAX_BATCH] if not item[2].done()]
        del self._pending[:MAX_BATCH]
        if batch:
            self.batches += 1
            if self._process is not None:
                self._process.send(batch)
            else:
                self._on_threads += 1
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        self.threads, thread_name_prefix="solo-sign"
                    )
                work = loop.run_in_executor(
                    self._executor, sign_all, [(key, text) for key, text, _ in batch]
                )
                work.add_done_callback(lambda done: self._signed(loop, batch, done))
        self._schedule(loop)

    def _signed(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[_Item],
        done: asyncio.Future[list[bytes | Exception]],
    ) -> None:
        self._on_threads -= 1
        if done.cancelled():
            _fail(batch, "signing stopped")
        elif (error := done.exception()) is not None:
            _fail(batch, f"signing failed: {error!r}")
        else:
            _settle(batch, done.result())
        self._schedule(loop)

    # --- The signing process ---------------------------------------------------------------

    def _start_process(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._starting is None:
            self._starting = loop.create_task(self._spawn(loop))

    async def _spawn(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "solo.federation.sign_worker",
                str(self.threads),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
        except OSError as error:
            log.warning("cannot start the signing process, signing on threads: %s", error)
            return
        finally:
            self._starting = None
        if self._closed:
            process.stdin.close()  # type: ignore[union-attr]
            await process.wait()
            return
        self.processes += 1
        self._process = _SigningProcess(process, lambda: self._answered(loop))
        self._timer = loop.call_later(min(PROCESS_IDLE, PROCESS_STUCK), self._check, loop)
        self._schedule(loop)

    def _answered(self, loop: asyncio.AbstractEventLoop) -> None:
        process = self._process
        if process is not None and process.stopped:
            self._process = None  # it stopped: the threads sign until the next burst
            self._cancel_timer()
        self._schedule(loop)

    def _check(self, loop: asyncio.AbstractEventLoop) -> None:
        """Stop the process once idle for `PROCESS_IDLE`, kill it once stuck for
        `PROCESS_STUCK`; else look again when either could be due."""
        self._timer = None
        process = self._process
        if process is None:
            return
        now = loop.time()
        if process.in_flight:
            if now - process.progress >= PROCESS_STUCK:
                log.warning("the signing process answered nothing in %g s: killed", PROCESS_STUCK)
                process.process.kill()  # its reader fails its batches; the threads sign
                return
            due = process.progress + PROCESS_STUCK
        else:
            due = process.last_used + PROCESS_IDLE
            if now >= due:
                self._process = None
                closing = loop.create_task(process.aclose())
                self._closing.add(closing)
                closing.add_done_callback(self._closing.discard)
                return
        self._timer = loop.call_at(max(due, now + 0.1), self._check, loop)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def aclose(self) -> None:
        self._closed = True
        self._cancel_timer()
        if self._starting is not None:
            await asyncio.gather(self._starting, return_exceptions=True)
        process, self._process = self._process, None
        if process is not None:
            await process.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown)
