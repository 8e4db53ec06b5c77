"""ActivityStreams media types, contexts and the JSON answers we serve them in."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTIVITY_JSON = "application/activity+json"
LD_JSON = "application/ld+json"


def wants_activity_json(request: Request) -> bool:
    """True when the Accept header asks for ActivityStreams (activity+json or ld+json)."""
    accept = request.headers.get("accept", "").lower()
    return ACTIVITY_JSON in accept or LD_JSON in accept


def activity_response(document: dict[str, Any], status: int = 200) -> Response:
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(
        body,
        status_code=status,
        media_type=ACTIVITY_JSON,
        headers={"Vary": "Accept, Signature"},
    )


ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})


def as_list(value: Any) -> list[Any]:
    """Any AS2 value as a list: absent → [], one → [one], a list stays."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def id_of(value: Any) -> str | None:
    """The id of a link-or-object value: a string itself, an object's `id`, else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def href_of(value: Any) -> str | None:
    """The first URL of a `url`/`icon`-like value (a string, a Link, an Image, or a list)."""
    for item in as_list(value):
        if isinstance(item, str):
            return item
        if isinstance(item, dict):
            for key in ("href", "url"):
                found = href_of(item.get(key))
                if found:
                    return found
    return None


def types_of(document: dict[str, Any]) -> set[str]:
    return {t for t in as_list(document.get("type")) if isinstance(t, str)}


def text_of(value: Any) -> str:
    """A plain string value, or '' when absent or of another shape."""
    return value if isinstance(value, str) else ""
