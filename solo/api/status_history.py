"""`GET /api/v1/statuses/:id/history`: a post's versions as StatusEdit entities, oldest first,
the current one last (a post never edited has that one only).

Earlier versions keep their text, content warning and sensitivity (`solo.store.edits`); their
attachments, poll options and emoji are not kept apart, so each version shows the current ones.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from solo.api.auth import Caller, api
from solo.api.entities import iso
from solo.api.ids import path_id
from solo.api.status_entities import render_status, thread_root
from solo.federation.context import federation_of
from solo.store import edits as edit_store
from solo.text import sanitize_remote_html


def _poll(entity: dict[str, Any]) -> dict[str, Any] | None:
    poll = entity["poll"]
    if poll is None:
        return None
    return {"options": [{"title": option["title"]} for option in poll["options"]]}


@api("read:statuses", public=True)
async def history(request: Request, caller: Caller | None) -> Response:
    federation = federation_of(request)
    status = await thread_root(federation, path_id(request), caller)
    current = await render_status(federation, status.id, caller)
    shared = {
        "account": current["account"],
        "poll": _poll(current),
        "media_attachments": current["media_attachments"],
        "emojis": current["emojis"],
    }
    earlier = await edit_store.earlier_versions(federation.db, status.id)
    versions = [
        {
            "content": version.content_html
            if status.actor_id is None
            else sanitize_remote_html(version.content_html),
            "spoiler_text": version.summary,
            "sensitive": version.sensitive,
            "created_at": iso(version.created_at),
            **shared,
        }
        for version in reversed(earlier)
    ]
    versions.append(
        {
            "content": current["content"],
            "spoiler_text": current["spoiler_text"],
            "sensitive": current["sensitive"],
            "created_at": current["edited_at"] or current["created_at"],
            **shared,
        }
    )
    return JSONResponse(versions)
