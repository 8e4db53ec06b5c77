"""Media storage: keys, the local directory backend, and the S3 backend against moto's server
on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from solo.actions import media as media_actions
from solo.actions import statuses as status_actions
from solo.app import create_app
from solo.config import Settings
from solo.media.s3 import S3Storage
from solo.media.storage import LocalStorage, check_key, new_key, open_storage
from tests.conftest import initialise_fast, make_settings


@pytest.mark.parametrize(
    "key", ["uploads/ab/0123456789abcdef.jpg", "cache/0f1e2d", "profile/aa/x_y-z.png"]
)
def test_good_keys_pass(key: str) -> None:
    assert check_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../secrets",
        "uploads/../../etc/passwd",
        "uploads/..",
        "uploads//x",
        "uploads/./x",
        "uploads/x/",
        "Uploads/X.JPG",
        "uploads/x y",
        "uploads\\..\\x",
        "uploads/x\x00.jpg",
        "uploads/é",
        "a" * 201,
    ],
)
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError):
        check_key(key)


def test_new_keys_are_fresh_and_well_formed() -> None:
    key = new_key("uploads", "jpg")
    assert re.fullmatch(r"uploads/([0-9a-f]{2})/\1[0-9a-f]{30}\.jpg", key)
    assert new_key("uploads", "jpg") != key
    assert re.fullmatch(r"cache/[0-9a-f]{2}/[0-9a-f]{32}", new_key("cache", ""))


async def test_local_storage_puts_gets_and_deletes(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    key = new_key("uploads", "png")
    assert await storage.get(key) is None
    await storage.put(key, b"first", "image/png")
    assert (tmp_path / "media" / key).read_bytes() == b"first"
    await storage.put(key, b"second", "image/png")
    assert await storage.get(key) == b"second"
    await storage.delete(key)
    assert await storage.get(key) is None
    await storage.delete(key)  # missing is fine
    await storage.aclose()
    # No temporary files are left behind.
    assert [p for p in (tmp_path / "media").rglob("*") if p.is_file()] == []


async def test_local_storage_refuses_keys_that_leave_its_directory(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    (tmp_path / "outside").write_bytes(b"keep me")
    for call in (
        storage.put("../outside", b"overwritten", "image/png"),
        storage.get("../outside"),
        storage.delete("../outside"),
        storage.get("/etc/passwd"),
    ):
        with pytest.raises(ValueError):
            await call
    assert (tmp_path / "outside").read_bytes() == b"keep me"


async def test_local_storage_writes_atomically(tmp_path: Path) -> None:
    """Readers racing a writer see the old file or the new one, never part of one."""
    storage = LocalStorage(tmp_path / "media")
    key = "uploads/aa/atomic.bin"
    old, new = b"a" * 2_000_000, b"b" * 2_000_000
    await storage.put(key, old, "video/mp4")
    seen: set[bytes] = set()

    async def read_many() -> None:
        for _ in range(30):
            data = await storage.get(key)
            assert data is not None
            seen.add(data[:1] + data[-1:] + str(len(data)).encode())

    async def write_many() -> None:
        for data in (new, old, new):
            await storage.put(key, data, "video/mp4")

    await asyncio.gather(read_many(), write_many())
    assert seen <= {b"aa2000000", b"bb2000000"}
    assert await storage.get(key) == new


def test_open_storage_picks_the_backend(tmp_path: Path) -> None:
    storage = open_storage(Settings(data_dir=tmp_path))
    assert isinstance(storage, LocalStorage) and storage.root == tmp_path / "media"


# S3, against moto's server on 127.0.0.1


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
async def s3(moto_endpoint: str, tmp_path: Path) -> AsyncIterator[S3Storage]:
    settings = Settings(
        data_dir=tmp_path,
        media_storage="s3",
        s3_endpoint=moto_endpoint,
        s3_bucket="solo-media",
        s3_region="eu-west-1",
        s3_access_key="test-access",
        s3_secret_key="test-secret",
    )
    storage = open_storage(settings)
    assert isinstance(storage, S3Storage)
    # The bucket is made with boto3's own client, built as S3Storage builds it.
    client = storage._client
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        await asyncio.to_thread(
            client.create_bucket,
            Bucket="solo-media",
            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
        )
    yield storage
    await storage.aclose()


async def test_s3_storage_puts_gets_and_deletes(s3: S3Storage) -> None:
    key = new_key("uploads", "jpg")
    assert await s3.get(key) is None
    await s3.put(key, b"\xff\xd8\xff jpeg bytes", "image/jpeg")
    assert await s3.get(key) == b"\xff\xd8\xff jpeg bytes"
    head = await asyncio.to_thread(s3._client.head_object, Bucket="solo-media", Key=key)
    assert head["ContentType"] == "image/jpeg"
    assert "immutable" in head["CacheControl"]
    await s3.delete(key)
    assert await s3.get(key) is None
    await s3.delete(key)  # missing is fine
    with pytest.raises(ValueError):
        await s3.put("../elsewhere", b"x", "image/jpeg")


async def test_s3_storage_talks_path_style_to_the_configured_endpoint(
    s3: S3Storage, moto_endpoint: str
) -> None:
    requested: list[str] = []
    s3._client.meta.events.register(
        "before-send.s3.*", lambda request, **_: requested.append(request.url)
    )
    await s3.get("cache/00/missing")
    assert requested == [f"{moto_endpoint}/solo-media/cache/00/missing"]


def test_boto3_is_not_loaded_for_local_storage(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from solo.config import Settings\n"
        "from solo.media.storage import open_storage\n"
        f"open_storage(Settings(data_dir=Path({str(tmp_path)!r})))\n"
        "print('boto3' in sys.modules, 'botocore' in sys.modules)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert output.strip() == "False False"


async def test_an_instance_on_s3_stores_serves_and_deletes_uploads(
    moto_endpoint: str, tmp_path: Path, template_root: Path
) -> None:
    """The whole path with `media_storage = "s3"`: an upload lands in the bucket (nothing in
    the data directory), is served from there, and goes with its post."""
    settings = make_settings(
        tmp_path / "data",
        media_storage="s3",
        s3_endpoint=moto_endpoint,
        s3_bucket="instance-media",
        s3_region="eu-west-1",
        s3_access_key="test-access",
        s3_secret_key="test-secret",
    )
    await initialise_fast(settings, template_root)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        federation = app.state.federation
        storage = federation.storage
        assert isinstance(storage, S3Storage)
        await asyncio.to_thread(
            storage._client.create_bucket,
            Bucket="instance-media",
            CreateBucketConfiguration={"LocationConstraint": "eu-west-1"},
        )
        picture = io.BytesIO()
        Image.new("RGB", (40, 30), (1, 2, 3)).save(picture, "PNG")
        upload = await media_actions.upload(federation, picture.getvalue(), filename="a.png")
        post = await status_actions.post(federation, "On S3", media_ids=[upload.id])
        assert upload.storage_key is not None
        assert not (tmp_path / "data" / "media").exists()
        stored = await asyncio.to_thread(storage._client.list_objects_v2, Bucket="instance-media")
        assert sorted(o["Key"] for o in stored["Contents"]) == sorted(
            [upload.storage_key, str(upload.thumbnail_key)]
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=settings.base_url
        ) as client:
            served = await client.get(f"/media/{upload.storage_key}")
            assert served.status_code == 200 and served.headers["content-type"] == "image/png"
            assert Image.open(io.BytesIO(served.content)).size == (40, 30)
            await status_actions.delete(federation, post.id)
            assert (await client.get(f"/media/{upload.storage_key}")).status_code == 404
        left = await asyncio.to_thread(storage._client.list_objects_v2, Bucket="instance-media")
        assert left.get("KeyCount") == 0
