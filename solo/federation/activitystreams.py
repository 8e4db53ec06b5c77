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
