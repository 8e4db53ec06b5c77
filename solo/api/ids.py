"""Ids as clients send them: text (or a JSON number) in a path, a parameter or a list.

id_of("109876543210")      # 109876543210; None for anything that cannot be an id
path_id(request)       # the `{status_id}` of the path, else RecordNotFound (404)
"""

from __future__ import annotations

from starlette.requests import Request

from solo.api.errors import RecordNotFound
from solo.api.paging import MAX_ID


def id_of(raw: object) -> int | None:
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19 or int(text) > MAX_ID:
        return None
    return int(text)


def path_id(request: Request, key: str = "status_id") -> int:
    found = id_of(request.path_params[key])
    if found is None:
        raise RecordNotFound()
    return found
