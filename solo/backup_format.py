"""The backup file: a plain tar whose first member is `solo-backup.json`, the manifest.

The manifest names the Solo version, the schema version, when the backup was made, and every
other member with its size and SHA-256. Readers check the manifest first and the checksums
before anything is written, so a truncated file, a file that is not a backup and a backup from
a newer Solo are told apart and refused whole. Uncompressed on purpose: gzip would double the
CPU a backup takes from a small server that is serving at the same time, and the database is
most of the size.

Member names are fixed: `solo.db`, `solo.toml`, and `media/<storage key>` (keys checked by
`check_key`), so no name in a backup can reach outside the data directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from solo.errors import SetupError
from solo.media.keys import check_key

MANIFEST_NAME = "solo-backup.json"
FORMAT = "solo-backup"
FORMAT_VERSION = 1
MAX_MANIFEST_BYTES = 16 * 1024 * 1024
CHUNK = 1024 * 1024
BLOCK = tarfile.BLOCKSIZE
DB_NAME = "solo.db"
TOML_NAME = "solo.toml"
MEDIA_PREFIX = "media/"


@dataclass(frozen=True)
class Entry:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    solo_version: str
    schema_version: int
    created_at: float
    domain: str
    username: str
    files: tuple[Entry, ...]

    def to_json(self) -> bytes:
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "solo_version": self.solo_version,
            "schema_version": self.schema_version,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created_at)),
            "created_at_unix": self.created_at,
            "domain": self.domain,
            "username": self.username,
            "files": [
                {"name": entry.name, "size": entry.size, "sha256": entry.sha256}
                for entry in self.files
            ],
        }
        return json.dumps(document, indent=1).encode()

    @property
    def total_size(self) -> int:
        return sum(entry.size for entry in self.files)


def check_name(name: str) -> str:
    """`name` if a backup may hold a member of that name; else SetupError."""
    if name in (DB_NAME, TOML_NAME):
        return name
    if name.startswith(MEDIA_PREFIX):
        try:
            check_key(name.removeprefix(MEDIA_PREFIX))
        except ValueError:
            pass
        else:
            return name
    raise SetupError(f"the backup names a file Solo never writes: {name[:100]!r}")


def parse_manifest(data: bytes, latest_schema: int) -> Manifest:
    """The manifest, checked; SetupError saying what is wrong with it."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SetupError("this is not a Solo backup (its manifest is not JSON)") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SetupError("this is not a Solo backup (its manifest is of another format)")
    try:
        version = _int(document, "format_version")
        if version > FORMAT_VERSION:
            raise SetupError(
                f"this backup is in a newer backup format ({version}; this Solo reads up to"
                f" {FORMAT_VERSION}): upgrade Solo to restore it"
            )
        schema = _int(document, "schema_version")
        if schema > latest_schema:
            raise SetupError(
                f"this backup was made by a newer Solo ({document.get('solo_version')}, schema"
                f" {schema}; this one knows up to schema {latest_schema}): upgrade Solo first"
            )
        files = []
        seen: set[str] = set()
        if not isinstance(document["files"], list):
            raise ValueError("files")
        for item in document["files"]:
            name = check_name(str(item["name"]))
            if name in seen:
                raise SetupError(f"the backup's manifest names {name} twice")
            seen.add(name)
            size, digest = int(item["size"]), str(item["sha256"])
            if size < 0 or len(digest) != 64:
                raise SetupError(f"the backup's manifest has a bad entry for {name}")
            files.append(Entry(name, size, digest))
        if DB_NAME not in seen:
            raise SetupError("the backup holds no database")
        return Manifest(
            solo_version=str(document["solo_version"]),
            schema_version=schema,
            created_at=float(document["created_at_unix"]),
            domain=str(document["domain"]),
            username=str(document["username"]),
            files=tuple(files),
        )
    except (KeyError, TypeError, ValueError):
        raise SetupError("the backup's manifest is incomplete or garbled") from None


def _int(document: dict[str, Any], key: str) -> int:
    value = document[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(key)
    return value


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _header(name: str, size: int, mtime: float) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(mtime)
    info.mode = 0o600
    return info.tobuf(format=tarfile.PAX_FORMAT)


def _padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


def tar_chunks(manifest: Manifest, root: Path) -> Iterator[bytes]:
    """The backup file, chunk by chunk, reading each member from `root / name`: never more than
    one chunk in memory, so the web page can stream it as the CLI writes it."""
    data = manifest.to_json()
    yield _header(MANIFEST_NAME, len(data), manifest.created_at) + data + _padding(len(data))
    for entry in manifest.files:
        yield _header(entry.name, entry.size, manifest.created_at)
        left = entry.size
        with (root / entry.name).open("rb") as file:
            while left:
                chunk = file.read(min(CHUNK, left))
                if not chunk:
                    raise SetupError(f"{entry.name} shrank while the backup was written")
                left -= len(chunk)
                yield chunk
        yield _padding(entry.size)
    yield b"\0" * (2 * BLOCK)


def tar_size(manifest: Manifest) -> int:
    """The length of `tar_chunks(manifest, …)`, known before a byte is read (Content-Length)."""
    data = manifest.to_json()
    size = len(_header(MANIFEST_NAME, len(data), manifest.created_at)) + len(data)
    size += len(_padding(len(data)))
    for entry in manifest.files:
        size += len(_header(entry.name, entry.size, manifest.created_at)) + entry.size
        size += len(_padding(entry.size))
    return size + 2 * BLOCK


def read_backup(
    source: IO[bytes],
    latest_schema: int,
    sink: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Manifest, int]:
    """Read a backup from start to end, checking every member against the manifest; with
    `sink`, write each member under it as it is read. Returns the manifest and the bytes read.

    SetupError when the file is not a backup, is truncated, holds a member the manifest does not
    name, or a member whose size or checksum differs from the manifest's."""
    try:
        archive = tarfile.open(fileobj=source, mode="r|")  # noqa: SIM115 - closed below
    except tarfile.TarError:
        raise SetupError("this is not a Solo backup (not a tar file)") from None
    try:
        return _read_members(archive, latest_schema, sink, progress)
    except (tarfile.TarError, EOFError):
        raise SetupError(
            "the backup is truncated or damaged (its tar structure ends early): nothing was"
            " restored"
        ) from None
    finally:
        archive.close()


def _read_members(
    archive: tarfile.TarFile,
    latest_schema: int,
    sink: Path | None,
    progress: Callable[[int, int], None] | None,
) -> tuple[Manifest, int]:
    first = archive.next()
    if first is None or first.name != MANIFEST_NAME or not first.isfile():
        raise SetupError(f"this is not a Solo backup (it does not start with {MANIFEST_NAME})")
    if first.size > MAX_MANIFEST_BYTES:
        raise SetupError("the backup's manifest is implausibly large")
    handle = archive.extractfile(first)
    assert handle is not None
    raw = handle.read()
    if len(raw) != first.size:
        raise SetupError("the backup is truncated (inside its manifest)")
    manifest = parse_manifest(raw, latest_schema)
    expected = {entry.name: entry for entry in manifest.files}
    found: set[str] = set()
    total = 0
    # next(), not iteration: iterating a TarFile starts again from the members already read.
    while (member := archive.next()) is not None:
        name = member.name
        if name not in expected or name in found or not member.isfile():
            raise SetupError(f"the backup holds {name[:100]!r}, which its manifest does not name")
        entry = expected[name]
        if member.size != entry.size:
            raise SetupError(f"{name} in the backup is not the size its manifest says")
        found.add(name)
        total += _copy_member(archive, member, entry, sink)
        if progress is not None:
            progress(total, manifest.total_size)
    missing = sorted(set(expected) - found)
    if missing:
        raise SetupError(
            f"the backup is truncated: {len(missing)} of its files are missing"
            f" (first: {missing[0]}); nothing was restored"
        )
    return manifest, total


def _copy_member(
    archive: tarfile.TarFile, member: tarfile.TarInfo, entry: Entry, sink: Path | None
) -> int:
    handle = archive.extractfile(member)
    assert handle is not None
    digest = hashlib.sha256()
    out = None
    if sink is not None:
        target = sink / entry.name
        target.parent.mkdir(parents=True, exist_ok=True)
        out = target.open("wb")
    size = 0
    try:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if out is not None:
                out.write(chunk)
        if out is not None:
            out.flush()
            os.fsync(out.fileno())
    finally:
        if out is not None:
            out.close()
    if size != entry.size:
        raise SetupError(f"the backup is truncated (inside {entry.name}); nothing was restored")
    if digest.hexdigest() != entry.sha256:
        raise SetupError(
            f"{entry.name} in the backup does not match its checksum: the file is damaged"
        )
    return size
