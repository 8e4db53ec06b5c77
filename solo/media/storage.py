"""Where uploaded and cached media files live: a directory, or an S3-compatible bucket.

Both backends store opaque bytes under keys that we make (`new_key`) and check (`check_key`,
both from `solo.media.keys`).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Protocol

from solo.config import Settings
from solo.media.keys import check_key as check_key
from solo.media.keys import new_key as new_key
from solo.media.s3 import S3Storage


class Storage(Protocol):
    async def put(self, key: str, data: bytes, media_type: str) -> None: ...

    async def get(self, key: str) -> bytes | None:
        """The file's bytes, None when there is none under `key`."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the file; a missing one is fine."""
        ...

    async def aclose(self) -> None: ...


class LocalStorage:
    """Files under `root`, written atomically (a temporary file renamed into place), so that a
    reader never sees half a file, and off the event loop."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        await asyncio.to_thread(self._write, self.root / check_key(key), data)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._read, self.root / check_key(key))

    async def delete(self, key: str) -> None:
        await asyncio.to_thread((self.root / check_key(key)).unlink, missing_ok=True)

    async def aclose(self) -> None:
        pass

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None


def open_storage(settings: Settings) -> Storage:
    if settings.media_storage == "s3":
        return S3Storage(settings)
    return LocalStorage(settings.media_dir)
