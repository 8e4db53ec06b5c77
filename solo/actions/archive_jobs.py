"""Archive imports started from the web page, run in the background by the server.

Each import is a row (`archive_imports`) and an uploaded file under `<data dir>/imports/`.
The row says how far it got; a server stopped mid-import (even by kill -9) finds the row
still `running` at its next start and runs the import again, which stores only what is
missing (`archive_import`). The file is removed once the import has finished or failed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Final

from starlette.datastructures import UploadFile

from solo.actions import ActionError
from solo.actions.archive_zip import MAX_ARCHIVE_BYTES, Archive, ArchiveError
from solo.federation.context import Federation
from solo.lazy import lazy
from solo.store import archive as archive_store

if TYPE_CHECKING:
    from solo.actions import archive_import
    from solo.actions.archive_import import Report
else:  # at the first archive imported, not at start (see solo.lazy)
    archive_import = lazy("solo.actions.archive_import")

CHUNK: Final = 1024 * 1024
BUSY: Final = "An import is already running; wait until it has finished."
log = logging.getLogger("uvicorn.error")


def summary(report: Report) -> str:
    return (
        f"Imported {report.imported} of {report.total} posts ({report.already} were already"
        f" here); skipped {report.boosts} boosts. None of them was sent to anyone."
    )


class ArchiveImports:
    """The imports of one running server; the app's lifespan resumes and stops them."""

    def __init__(self, federation: Federation) -> None:
        self.federation = federation
        self.folder = federation.settings.data_dir / "imports"
        self._tasks: set[asyncio.Task[None]] = set()

    async def resume(self) -> None:
        """Run again the imports a stopped server left unfinished."""
        for unfinished in await archive_store.running_imports(self.federation.db):
            if await asyncio.to_thread(Path(unfinished.path).is_file):
                self._run(unfinished.id, Path(unfinished.path))
            else:
                await archive_store.finish(
                    self.federation.db,
                    unfinished.id,
                    "failed",
                    "The uploaded archive was lost when the server stopped; upload it again.",
                )

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def start(self, upload: UploadFile) -> int:
        """Keep the upload and start importing it; ActionError (nothing kept) when it is no
        archive we take."""
        if await archive_store.running_imports(self.federation.db):
            raise ActionError(BUSY)
        path = await self._keep(upload)
        try:
            archive = await asyncio.to_thread(Archive, path)
            archive.close()
        except BaseException:
            await asyncio.to_thread(path.unlink, missing_ok=True)
            raise
        import_id = await archive_store.start_import(
            self.federation.db, str(path), upload.filename or "archive.zip"
        )
        self._run(import_id, path)
        return import_id

    async def _keep(self, upload: UploadFile) -> Path:
        """The upload copied into the data folder a chunk at a time (it outlives the request
        and survives a restart)."""
        await asyncio.to_thread(self.folder.mkdir, parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(dir=self.folder, prefix="archive-", suffix=".zip")
        written = 0
        try:
            with os.fdopen(descriptor, "wb") as file:
                while chunk := await upload.read(CHUNK):
                    written += len(chunk)
                    if written > MAX_ARCHIVE_BYTES:
                        raise ArchiveError(
                            "The archive is larger than %(limit)s GB.",
                            limit=MAX_ARCHIVE_BYTES // 1024**3,
                        )
                    await asyncio.to_thread(file.write, chunk)
                await asyncio.to_thread(os.fsync, file.fileno())
        except BaseException:
            os.unlink(name)
            raise
        if written == 0:
            os.unlink(name)
            raise ActionError("Choose your archive (.zip) first.")
        return Path(name)

    def _run(self, import_id: int, path: Path) -> None:
        task = asyncio.get_running_loop().create_task(
            self._work(import_id, path), name=f"solo-archive-import-{import_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self, import_id: int, path: Path) -> None:
        federation = self.federation
        db = federation.db

        async def progress(report: Report) -> None:
            await archive_store.progress(
                db,
                import_id,
                total=report.total,
                done=report.done,
                imported=report.imported,
                boosts=report.boosts,
                failures=report.failures,
            )

        target = archive_import.Target(db, federation.settings, federation.storage)
        try:
            report = await archive_import.import_archive(
                target, path, progress=progress, now=time.time()
            )
        except ArchiveError as error:
            await archive_store.finish(db, import_id, "failed", error.message)
        except asyncio.CancelledError:
            raise  # the server stops: the row stays running, and the next start resumes it
        except Exception as error:  # a bug: say so on the page rather than run forever
            log.exception("archive import %d failed", import_id)
            await archive_store.finish(db, import_id, "failed", f"The import stopped: {error}")
        else:
            await progress(report)
            await archive_store.finish(db, import_id, "done", summary(report))
            await federation.feeds.rebuild()
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def wait(self) -> None:
        """Until every running import has finished (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
