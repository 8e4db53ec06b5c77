"""Ids as clients send them: text (or a JSON number) in a path, a parameter or a list.

id_of("109876543210")      # 109876543210; None for anything that cannot be an id
path_id(request)       # the `{status_id}` of the path, else RecordNotFound (404)

Only ASCII digits count: `str.isdigit` also takes "²" and "١", which `int` then refuses or
reads, and thousands of digits make `int` itself raise.
"""

from __future__ import annotations

import re
from typing import Final

from starlette.requests import Request

from solo.api.errors import RecordNotFound

MAX_ID: Final = 2**63 - 1  # SQLite's largest integer
_DIGITS: Final = re.compile(r"[0-9]{1,19}")


def id_of(raw: object) -> int | None:
    text = str(raw).strip()
    if not _DIGITS.fullmatch(text) or int(text) > MAX_ID:
        return None
    return int(text)


def path_id(request: Request, key: str = "status_id") -> int:
    found = id_of(request.path_params[key])
    if found is None:
        raise RecordNotFound()
    return found
