"""`/proxy/<sig>/<url>`: remote files served from our origin through the media cache, and the
template helpers that name them (`media_src`, the `emoji` filter).

Pages never point at another server: the CSP allows only our own images, and a reader's browser
should not tell every server whose avatar it shows who is reading. The views keep remote URLs;
templates turn them into signed proxy paths here, where the running instance's key is known.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from solo.federation.context import Federation, federation_of
from solo.media.emoji import Emoji, emojify, emojify_text, from_json
from solo.media.serve import IMMUTABLE, media_response
from solo.net.fetch import FetchError, ForbiddenAddress, HTTPStatusError

# A failed fetch is not retried by every reader's browser on every page for a while.
_FAILED_CACHE: Final = "public, max-age=600"


def _plain(message: str, status: int, cache_control: str = "no-store") -> Response:
    return PlainTextResponse(message, status_code=status, headers={"Cache-Control": cache_control})


async def proxied(request: Request) -> Response:
    media = federation_of(request).media
    url = media.proxy.target(request.path_params["sig"], request.path_params["encoded"])
    if url is None:
        return _plain("This media address was not signed by this server.", 403)
    try:
        data, media_type = await media.fetch(url)
    except HTTPStatusError as error:
        if error.status in (404, 410):
            return _plain("The remote server no longer has this file.", 404, _FAILED_CACHE)
        return _plain(f"The remote server answered {error.status} for this file.", 502)
    except ForbiddenAddress:
        return _plain("This file is on an address Solo does not fetch from.", 404, _FAILED_CACHE)
    except FetchError as error:
        return _plain(f"The file could not be fetched: {error}", 502, _FAILED_CACHE)
    return media_response(data, media_type, cache_control=IMMUTABLE, head=request.method == "HEAD")


routes = [Route("/proxy/{sig}/{encoded}", proxied, methods=["GET", "HEAD"])]


def _federation(context: Context) -> Federation | None:
    request = context.get("request")
    if not isinstance(request, Request):
        return None
    found: Federation | None = getattr(request.app.state, "federation", None)
    return found


@pass_context
def media_src(context: Context, url: str | None) -> str | None:
    """Where a page loads a picture from: our own files as they are, others' through the proxy;
    None when there is none to show."""
    if not url:
        return None
    federation = _federation(context)
    if federation is None:
        return None
    own = federation.settings.base_url
    if url.startswith(own + "/"):
        url = url[len(own) :]
    if url.startswith("/") and not url.startswith("//"):
        return url
    return federation.media.proxy_url(url)


@pass_context
def emoji_filter(context: Context, value: Any, emojis: str | Iterable[Emoji] | None) -> Markup:
    """`{{ text | emoji(emojis) }}`: text (escaped) or sanitized Markup with its custom emoji
    as images; `emojis` is an `emojis_json` column or parsed emoji."""
    known = from_json(emojis) if isinstance(emojis, str) or emojis is None else emojis
    federation = _federation(context)
    if isinstance(value, Markup):
        if federation is None:
            return value
        return emojify(str(value), known, federation.media.proxy_url)
    text = "" if value is None else str(value)
    if federation is None:
        return Markup.escape(text)
    return emojify_text(text, known, federation.media.proxy_url)


def install(env: Environment) -> None:
    """Add the helpers to the templates' environment."""
    env.globals["media_src"] = media_src
    env.filters["emoji"] = emoji_filter
