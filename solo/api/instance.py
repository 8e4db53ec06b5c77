"""`GET /api/v1/instance` and `/api/v2/instance`: what clients read first, to learn the
version, the limits (characters, attachments, polls) and whom the instance belongs to.

The version is `4.2.0 (compatible; Solo X.Y.Z)`: Mastodon.py keeps the text before the first
space and needs three numbers; claiming 4.3 or later would make it expect `api_versions`.
"""

from __future__ import annotations

from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from solo import __version__
from solo.api import entities
from solo.api.auth import Caller, api
from solo.config import Settings
from solo.instance import instance_of
from solo.store.account import Account, get_account
from solo.store.counts import account_counts, instance_counts

MASTODON_VERSION: Final = "4.2.0"
VERSION: Final = f"{MASTODON_VERSION} (compatible; Solo {__version__})"
# What the upload checks in solo.media.process accept.
MIME_TYPES: Final = (
    "image/jpeg", "image/png", "image/gif", "image/webp",
    "video/mp4", "video/quicktime", "video/webm",
    "audio/mpeg", "audio/mp3", "audio/mp4", "audio/ogg", "audio/webm", "audio/opus",
    "video/ogg", "application/ogg",
)  # fmt: skip
MAX_ATTACHMENTS: Final = 4
POLL_OPTIONS: Final = 4
POLL_OPTION_CHARS: Final = 50
POLL_MIN_EXPIRATION: Final = 300
POLL_MAX_EXPIRATION: Final = 2629746
IMAGE_MATRIX_LIMIT: Final = 7680 * 4320
VIDEO_MATRIX_LIMIT: Final = 3840 * 2160
VIDEO_FRAME_RATE_LIMIT: Final = 120
MAX_PINNED: Final = 5


def streaming_url(settings: Settings) -> str:
    return f"{'wss' if settings.scheme == 'https' else 'ws'}://{settings.domain}"


def configuration(settings: Settings) -> dict[str, Any]:
    """The `configuration` both versions share."""
    return {
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": MAX_PINNED},
        "statuses": {
            "max_characters": settings.max_post_chars,
            "max_media_attachments": MAX_ATTACHMENTS,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": list(MIME_TYPES),
            "image_size_limit": settings.max_upload_bytes,
            "image_matrix_limit": IMAGE_MATRIX_LIMIT,
            "video_size_limit": settings.max_upload_bytes,
            "video_frame_rate_limit": VIDEO_FRAME_RATE_LIMIT,
            "video_matrix_limit": VIDEO_MATRIX_LIMIT,
        },
        "polls": {
            "max_options": POLL_OPTIONS,
            "max_characters_per_option": POLL_OPTION_CHARS,
            "min_expiration": POLL_MIN_EXPIRATION,
            "max_expiration": POLL_MAX_EXPIRATION,
        },
    }


def _title(settings: Settings, account: Account) -> str:
    return account.display_name or settings.domain


async def _account(request: Request) -> tuple[Settings, Account, dict[str, Any]]:
    instance = instance_of(request)
    account = await get_account(instance.db)
    assert account is not None, "an open instance has its account"
    counts = await account_counts(instance.db)
    return (
        instance.settings,
        account,
        entities.local_account(instance.settings, account, counts),
    )


def _thumbnail(settings: Settings, account: Account) -> str:
    return entities.absolute(settings, account.header_url, entities.MISSING_HEADER)


@api(public=True)
async def instance_v1(request: Request, caller: Caller | None) -> Response:
    settings, account, contact = await _account(request)
    counts = await instance_counts(instance_of(request).db)
    return JSONResponse(
        {
            "uri": settings.domain,
            "title": _title(settings, account),
            "short_description": account.summary_source[:200],
            "description": account.summary_html,
            "email": "",
            "version": VERSION,
            "urls": {"streaming_api": streaming_url(settings)},
            "stats": {
                "user_count": 1,
                "status_count": counts.statuses,
                "domain_count": counts.domains,
            },
            "thumbnail": _thumbnail(settings, account),
            "languages": ["en"],
            "registrations": False,
            "approval_required": False,
            "invites_enabled": False,
            "configuration": configuration(settings),
            "contact_account": contact,
            "rules": [],
        }
    )


@api(public=True)
async def instance_v2(request: Request, caller: Caller | None) -> Response:
    settings, account, contact = await _account(request)
    config = configuration(settings)
    config["urls"] = {"streaming": streaming_url(settings), "status": None}
    config["vapid"] = {"public_key": instance_of(request).vapid.public_key}
    config["translation"] = {"enabled": False}
    return JSONResponse(
        {
            "domain": settings.domain,
            "title": _title(settings, account),
            "version": VERSION,
            # No public repository is named yet; the instance itself is where to ask.
            "source_url": f"{settings.base_url}/",
            "description": account.summary_html,
            "usage": {"users": {"active_month": 1}},
            "thumbnail": {"url": _thumbnail(settings, account), "blurhash": None, "versions": {}},
            "icon": [],
            "languages": ["en"],
            "configuration": config,
            "registrations": {
                "enabled": False,
                "approval_required": False,
                "message": None,
                "url": None,
            },
            "contact": {"email": "", "account": contact},
            "rules": [],
            # Mastodon 4.3+: the API's revision, which apps read instead of parsing `version`.
            "api_versions": {"mastodon": API_VERSION},
        }
    )


API_VERSION: Final = 2  # what Mastodon 4.3 answers


routes: list[BaseRoute] = [
    Route(path, endpoint, methods=["GET", "HEAD"])
    for version, endpoint in (("v1", instance_v1), ("v2", instance_v2))
    for path in (f"/api/{version}/instance", f"/api/{version}/instance/")
]
