"""A generated Mastodon archive of any size: `posts` posts, one image on every
`posts // images`-th, each image a small distinct JPEG. Written a post at a time, so a large
archive never sits in memory."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

OLD = "https://old.example/users/alice"
START = 1_500_000_000  # 2017-07-14: the archive's first post


def _image(n: int) -> bytes:
    out = io.BytesIO()
    colour = (n * 37 % 256, n * 91 % 256, n * 53 % 256)
    Image.new("RGB", (96, 64), colour).save(out, "JPEG", quality=70)
    return out.getvalue()


def _iso(stamp: int) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_archive(target: Path, posts: int, images: int) -> Path:
    """An archive with `posts` posts (every tenth a reply to the one before), `images` of them
    with a photo, and one boost per hundred posts."""
    every = max(1, posts // images) if images else 0
    photos: list[tuple[int, str]] = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("outbox.json", "w", force_zip64=True) as outbox:
            outbox.write(b'{"type":"OrderedCollection","id":"outbox.json","orderedItems":[')
            for n in range(posts):
                when = _iso(START + n * 3600)
                note: dict[str, object] = {
                    "id": f"{OLD}/statuses/{n}",
                    "type": "Note",
                    "published": when,
                    "url": f"https://old.example/@alice/{n}",
                    "attributedTo": OLD,
                    "to": ["https://www.w3.org/ns/activitystreams#Public"],
                    "cc": [f"{OLD}/followers"],
                    "content": f"<p>Post number {n} about #topic{n % 50}</p>",
                    "inReplyTo": f"{OLD}/statuses/{n - 1}" if n % 10 == 9 else None,
                    "tag": [{"type": "Hashtag", "name": f"#topic{n % 50}"}],
                    "attachment": [],
                }
                if every and n % every == 0 and n // every < images:
                    path = f"media_attachments/files/{n:09d}/original/photo.jpg"
                    note["attachment"] = [
                        {
                            "type": "Document",
                            "mediaType": "image/jpeg",
                            "url": path,
                            "name": f"Photo {n}",
                        }
                    ]
                    photos.append((n, path))
                item = {
                    "id": f"{note['id']}/activity",
                    "type": "Create",
                    "actor": OLD,
                    "published": when,
                    "object": note,
                }
                outbox.write((b"," if n else b"") + json.dumps(item).encode())
                if n % 100 == 50:
                    boost = {
                        "id": f"{OLD}/statuses/b{n}/activity",
                        "type": "Announce",
                        "actor": OLD,
                        "object": "https://elsewhere.example/1",
                    }
                    outbox.write(b"," + json.dumps(boost).encode())
            outbox.write(b"]}")
        for n, path in photos:
            archive.writestr(path, _image(n), zipfile.ZIP_STORED)
    return target
