"""Following hashtags (their public posts enter home) and featuring hashtags on the profile.

Bounded: MAX_FOLLOWED followed tags (each is checked for every post entering home) and
MAX_FEATURED featured ones (Mastodon's limit).
"""

from __future__ import annotations

from typing import Final

from solo import hashtags
from solo.errors import NotFound, RequestError
from solo.federation.context import Federation
from solo.store import tag_follows as store
from solo.store.tag_follows import FeaturedTag

MAX_FOLLOWED: Final = 1_000
MAX_FEATURED: Final = 10


class InvalidTag(RequestError):
    status = 422


def tag_name(text: str) -> str:
    """A hashtag as typed (`#Cats`), normalised; InvalidTag when it is none."""
    name = hashtags.parse(text)
    if name is None:
        raise InvalidTag("That is not a hashtag: tags are letters, digits and underscores.")
    return name


async def follow(federation: Federation, text: str) -> str:
    name = tag_name(text)
    db = federation.db
    if not await store.followed_names(db, [name]):
        if await store.count_followed(db) >= MAX_FOLLOWED:
            raise InvalidTag(
                "You follow %(limit)s hashtags, the most there can be.", limit=MAX_FOLLOWED
            )
        async with db.transaction() as conn:
            await store.follow(conn, name)
        await federation.feeds.rebuild_timeline("home")
    return name


async def unfollow(federation: Federation, text: str) -> str:
    name = tag_name(text)
    if await store.followed_names(federation.db, [name]):
        async with federation.db.transaction() as conn:
            await store.unfollow(conn, name)
        await federation.feeds.rebuild_timeline("home")
    return name


async def feature(federation: Federation, text: str) -> FeaturedTag:
    name = tag_name(text)
    display = text.strip().removeprefix("#")
    db = federation.db
    existing = {tag.name: tag for tag in await store.featured(db)}
    if name not in existing:
        if len(existing) >= MAX_FEATURED:
            raise InvalidTag("You can feature at most %(limit)s hashtags.", limit=MAX_FEATURED)
        async with db.transaction() as conn:
            await store.feature(conn, name, display)
    found = {tag.name: tag for tag in await store.featured(db)}
    return found[name]


async def unfeature(federation: Federation, tag_id: int) -> None:
    async with federation.db.transaction() as conn:
        removed = await store.unfeature(conn, tag_id)
    if not removed:
        raise NotFound("Record not found")
