"""Delivery signatures made in batches, on the signing threads or in the signing process."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from solo.federation import batch_signing, sign_worker
from solo.federation.batch_signing import BatchSigner

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def verifies(key: rsa.RSAPrivateKey, text: bytes, signature: bytes) -> bool:
    key.public_key().verify(signature, text, padding.PKCS1v15(), hashes.SHA256())
    return True


async def test_many_signatures_at_once_each_signed_with_its_key() -> None:
    signer = BatchSigner()
    texts = [f"(request-target): post /inbox\nhost: h{i}.test".encode() for i in range(300)]
    keys = [KEY if i % 3 else OTHER for i in range(300)]
    try:
        signatures = await asyncio.gather(
            *(signer.sign(key, text) for key, text in zip(keys, texts, strict=True))
        )
    finally:
        await signer.aclose()
    assert all(verifies(k, t, s) for k, t, s in zip(keys, texts, signatures, strict=True))


@pytest.mark.parametrize("threads", [1, 2])
async def test_signatures_asked_for_together_go_in_few_batches(threads: int) -> None:
    signer = BatchSigner(threads)
    try:
        signatures = await asyncio.gather(*(signer.sign(KEY, b"text %d" % i) for i in range(600)))
    finally:
        await signer.aclose()
    assert all(verifies(KEY, b"text %d" % i, s) for i, s in enumerate(signatures))
    # Asked for in one turn of the loop: batches as large as allowed, not one hand-off each.
    assert signer.batches == 600 // batch_signing.MAX_BATCH + 1


async def test_a_cancelled_delivery_leaves_the_others_signed() -> None:
    signer = BatchSigner()
    try:
        tasks = [asyncio.create_task(signer.sign(KEY, b"text %d" % i)) for i in range(20)]
        await asyncio.sleep(0)
        tasks[3].cancel()
        done = await asyncio.gather(*tasks, return_exceptions=True)
        # And the signer still signs afterwards.
        later = await signer.sign(KEY, b"later")
    finally:
        await signer.aclose()
    assert isinstance(done[3], asyncio.CancelledError)
    assert all(verifies(KEY, b"text %d" % i, s) for i, s in enumerate(done) if i != 3)
    assert verifies(KEY, b"later", later)


def nice_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[16])


def burst(signer: BatchSigner, keys: list[rsa.RSAPrivateKey], count: int) -> list[Awaitable[bytes]]:
    return [signer.sign(keys[i % len(keys)], b"burst %d" % i) for i in range(count)]


async def process_up(signer: BatchSigner) -> batch_signing._SigningProcess:
    """After a burst, the signing process it started."""
    await asyncio.gather(*burst(signer, [KEY], 100))
    assert signer._process is not None
    return signer._process


@pytest.mark.parametrize(("process", "count"), [(True, batch_signing.MAX_BATCH - 1), (False, 400)])
async def test_a_few_signatures_or_a_signer_told_not_to_start_no_process(
    process: bool, count: int
) -> None:
    signer = BatchSigner(process=process)
    try:
        signatures = await asyncio.gather(*burst(signer, [KEY], count))
    finally:
        await signer.aclose()
    assert all(verifies(KEY, b"burst %d" % i, s) for i, s in enumerate(signatures))
    assert signer.processes == 0


async def test_a_burst_is_signed_in_the_signing_process_at_a_lower_priority() -> None:
    signer = BatchSigner(process=True)
    try:
        first = await asyncio.gather(*burst(signer, [KEY, OTHER], 400))
        process = signer._process  # the one started by the burst, still there
        assert process is not None
        pid = process.process.pid
        assert nice_of(pid) > nice_of(os.getpid())
        # The next burst goes to the same process, and (once up) all of it is signed there.
        batches_before = signer.batches
        second = await asyncio.gather(*burst(signer, [OTHER, KEY], 200))
        assert signer.processes == 1
        assert signer.batches - batches_before == -(-200 // batch_signing.MAX_BATCH)
    finally:
        await signer.aclose()
    keys = [KEY, OTHER]
    assert all(verifies(keys[i % 2], b"burst %d" % i, s) for i, s in enumerate(first))
    assert all(verifies(keys[(i + 1) % 2], b"burst %d" % i, s) for i, s in enumerate(second))
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


async def test_more_keys_than_the_process_keeps_are_each_sent_again() -> None:
    keys = [KEY, OTHER] + [
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        for _ in range(sign_worker.MAX_KEYS)
    ]
    signer = BatchSigner(process=True)
    try:
        await process_up(signer)
        signatures = await asyncio.gather(*burst(signer, keys, 3 * len(keys)))
    finally:
        await signer.aclose()
    assert all(verifies(keys[i % len(keys)], b"burst %d" % i, s) for i, s in enumerate(signatures))


async def test_a_key_that_cannot_sign_fails_alone_in_the_process() -> None:
    class Broken:
        def sign(self, *_: object) -> bytes:
            raise ValueError("no such key")

    signer = BatchSigner(process=True)
    try:
        await process_up(signer)
        items = [
            signer.sign(Broken(), b"x")  # type: ignore[arg-type]
            if i == 7
            else signer.sign(KEY, b"burst %d" % i)
            for i in range(40)
        ]
        results = await asyncio.gather(*items, return_exceptions=True)
    finally:
        await signer.aclose()
    assert isinstance(results[7], ValueError)
    assert all(verifies(KEY, b"burst %d" % i, s) for i, s in enumerate(results) if i != 7)


async def test_when_the_process_dies_its_signatures_fail_and_signing_goes_on() -> None:
    signer = BatchSigner(process=True)
    try:
        process = await process_up(signer)
        waiting = asyncio.gather(*burst(signer, [KEY], 2000), return_exceptions=True)
        await asyncio.sleep(0.05)
        process.process.kill()
        results = await waiting
        failed = [r for r in results if isinstance(r, Exception)]
        assert failed and all(isinstance(r, RuntimeError) for r in failed)
        assert all(
            verifies(KEY, b"burst %d" % i, r) for i, r in enumerate(results) if isinstance(r, bytes)
        )
        # Signing goes on: a few on the threads, and the next burst starts a new process.
        assert verifies(KEY, b"after", await signer.sign(KEY, b"after"))
        again = await asyncio.gather(*burst(signer, [KEY], 200))
        assert signer.processes == 2
    finally:
        await signer.aclose()
    assert all(verifies(KEY, b"burst %d" % i, s) for i, s in enumerate(again))


async def test_the_process_stops_when_idle_and_a_burst_starts_it_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch_signing, "PROCESS_IDLE", 0.3)
    signer = BatchSigner(process=True)
    try:
        process = await process_up(signer)
        await asyncio.wait_for(process.process.wait(), 5)
        assert signer._process is None
        signatures = await asyncio.gather(*burst(signer, [KEY], 100))
        assert signer.processes == 2
    finally:
        await signer.aclose()
    assert all(verifies(KEY, b"burst %d" % i, s) for i, s in enumerate(signatures))


async def test_a_stuck_process_is_killed_and_the_threads_sign(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch_signing, "PROCESS_STUCK", 0.5)
    signer = BatchSigner(process=True)
    try:
        process = await process_up(signer)
        os.kill(process.process.pid, signal.SIGSTOP)  # alive, but answering nothing
        results = await asyncio.wait_for(
            asyncio.gather(*burst(signer, [KEY], 300), return_exceptions=True), 10
        )
        assert await asyncio.wait_for(process.process.wait(), 5) == -signal.SIGKILL
        failed = [r for r in results if isinstance(r, Exception)]
        assert failed and all(isinstance(r, RuntimeError) for r in failed)
        signed = [(i, r) for i, r in enumerate(results) if isinstance(r, bytes)]
        assert signed and all(verifies(KEY, b"burst %d" % i, r) for i, r in signed)
        again = await asyncio.gather(*burst(signer, [KEY], 100))
        assert signer.processes == 2
    finally:
        await signer.aclose()
    assert all(verifies(KEY, b"burst %d" % i, s) for i, s in enumerate(again))
