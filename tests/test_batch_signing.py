"""Delivery signatures made in batches on the signing thread."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from solo.federation import batch_signing
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
