"""The user's profile and password, as the settings page changes them.

A profile change is stored and its Update(Person) queued for every follower's server in ONE
transaction, so that peers never miss a change that was saved (and never hear of one that was
not). Mastodon replaces its copy of the actor with the embedded one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from solo import urls
from solo.actions import ActionError, WrongPassword
from solo.actions import follows as follow_actions
from solo.actions import media as media_actions
from solo.activitystreams import PUBLIC
from solo.federation import verify_links, vocab
from solo.federation.audience import FOLLOWERS
from solo.federation.context import Federation
from solo.federation.delivery import enqueue_delivery
from solo.media.storage import new_key
from solo.passwords import (
    MAX_LENGTH,
    check_password_async,
    hash_password,
    validate_new_password,
)
from solo.store import account as account_store
from solo.store import actors as actor_store
from solo.store import follows
from solo.store.account import Account, ProfileField
from solo.text import MentionTarget, find_mentions, render_post

# Mastodon's limits, so that what we send fits what the biggest peer keeps.
MAX_NAME: Final = 30
MAX_BIO: Final = 500
MAX_FIELDS: Final = 4
MAX_FIELD: Final = 255


def _checked_fields(pairs: Sequence[tuple[str, str]]) -> tuple[ProfileField, ...]:
    fields = []
    for name, value in pairs:
        name, value = " ".join(name.split()), value.strip()
        if not name and not value:
            continue  # an empty row of the form
        if not name:
            raise ActionError(
                "The field with the value %(value)s needs a label.", value=repr(value[:40])
            )
        if len(name) > MAX_FIELD or len(value) > MAX_FIELD:
            raise ActionError(
                "Profile field labels and values take at most %(max_field)s characters.",
                max_field=MAX_FIELD,
            )
        fields.append(ProfileField(name, value))
    if len(fields) > MAX_FIELDS:
        raise ActionError("A profile has at most %(max_fields)s fields.", max_fields=MAX_FIELDS)
    return tuple(fields)


def _kept_marks(
    fields: tuple[ProfileField, ...], before: tuple[ProfileField, ...]
) -> tuple[ProfileField, ...]:
    """The fields with the rel="me" marks of those whose value is unchanged; a changed value
    loses its mark until it is verified again."""
    marks = {field.value: field.verified_at for field in before if field.verified_at}
    return tuple(ProfileField(f.name, f.value, marks.get(f.value)) for f in fields)


async def _bio_html(federation: Federation, bio: str) -> str:
    """The bio as HTML, with links, hashtags and mentions of accounts we already know (a
    profile save should not wait on other servers)."""
    if not bio:
        return ""
    known: dict[tuple[str, str | None], MentionTarget] = {}
    for username, host in find_mentions(bio):
        if host is None or host == federation.settings.domain:
            continue
        actor = await actor_store.get_actor_by_handle(federation.db, username, host)
        if actor is not None:
            known[(username, host)] = MentionTarget(actor.url or actor.ap_id, actor.ap_id)
    rendered = render_post(
        bio, base_url=federation.settings.base_url, resolve_mention=lambda u, h: known.get((u, h))
    )
    return rendered.html


def update_person(federation: Federation, account: Account, update_id: str) -> vocab.Document:
    """Update(Person): the whole actor embedded, as Mastodon sends and expects it."""
    settings = federation.settings
    person = vocab.person(settings, account, federation.instance.user_keys.public_pem)
    person.pop("@context", None)
    return vocab.with_context(
        {
            "id": update_id,
            "type": "Update",
            "actor": urls.actor(settings),
            "to": [PUBLIC],
            "cc": [urls.followers(settings)],
            "object": person,
        },
        vocab.ACTOR_CONTEXT,
    )


@dataclass(frozen=True, slots=True)
class ImageUpload:
    """An avatar or header as uploaded."""

    data: bytes
    filename: str = ""
    content_type: str = ""


def _own_key(federation: Federation, url: str) -> str | None:
    """The storage key of one of our files, from its URL (None for anything else)."""
    prefix = urls.media(federation.settings, "")
    return url.removeprefix(prefix) if url.startswith(prefix + "profile/") else None


async def _remove(federation: Federation, keys: Sequence[str]) -> None:
    for key in keys:
        await federation.storage.delete(key)


async def _image_url(
    federation: Federation, upload: ImageUpload | None, what: str, stored: list[str]
) -> str | None:
    """Process and store an avatar (at most 640 pixels a side) or a header; its URL."""
    if upload is None:
        return None
    processed = await media_actions.process(
        federation, upload.data, upload.filename, upload.content_type
    )
    if processed.kind != "image":
        if what == "avatar":
            raise ActionError("The avatar must be an image: JPEG, PNG, GIF or WebP.")
        raise ActionError("The header must be an image: JPEG, PNG, GIF or WebP.")
    data, media_type = processed.data, processed.media_type
    if what == "avatar" and processed.thumbnail is not None and processed.thumbnail_type:
        data, media_type = processed.thumbnail, processed.thumbnail_type
    key = new_key("profile", media_type.split("/")[1].replace("jpeg", "jpg"))
    await federation.storage.put(key, data, media_type)
    stored.append(key)
    return urls.media(federation.settings, key)


async def update_profile(
    federation: Federation,
    *,
    display_name: str,
    bio: str,
    fields: Sequence[tuple[str, str]],
    locked: bool,
    avatar: ImageUpload | None = None,
    header: ImageUpload | None = None,
    remove_avatar: bool = False,
    remove_header: bool = False,
) -> Account:
    """Save the profile and tell followers' servers; nothing is sent when nothing changed.

    A new avatar or header replaces the old one (whose file goes once the change is saved).
    Unlocking the account approves the follow requests waiting, as Mastodon does.
    """
    display_name = " ".join(display_name.split())
    bio = bio.strip()
    if len(display_name) > MAX_NAME:
        raise ActionError(
            "The display name takes at most %(max_name)s characters.", max_name=MAX_NAME
        )
    if len(bio) > MAX_BIO:
        raise ActionError(
            "The bio takes at most %(max_bio)s characters; this one has %(count)s.",
            max_bio=MAX_BIO,
            count=len(bio),
        )
    before = await account_store.get_account(federation.db)
    assert before is not None
    checked = _kept_marks(_checked_fields(fields), before.fields)
    bio_html = (
        before.summary_html if bio == before.summary_source else await _bio_html(federation, bio)
    )
    new_files: list[str] = []
    try:
        avatar_url = await _image_url(federation, avatar, "avatar", new_files)
        header_url = await _image_url(federation, header, "header", new_files)
    except BaseException:
        await _remove(federation, new_files)
        raise
    avatar_url = None if remove_avatar and avatar is None else avatar_url or before.avatar_url
    header_url = None if remove_header and header is None else header_url or before.header_url
    if (display_name, bio, checked, locked, avatar_url, header_url) == (
        before.display_name,
        before.summary_source,
        before.fields,
        before.locked,
        before.avatar_url,
        before.header_url,
    ):
        return before
    update_id = vocab.activity_id(federation.settings, "Update", federation.ids.next())
    async with federation.db.transaction() as conn:
        await account_store.update_profile(
            conn,
            display_name=display_name,
            summary_source=bio,
            summary_html=bio_html,
            fields=checked,
            locked=locked,
            avatar_url=avatar_url,
            header_url=header_url,
        )
        account = await account_store.read_account(conn)
        activity = update_person(federation, account, update_id)
        await enqueue_delivery(
            conn, activity, FOLLOWERS, object_ap_id=urls.actor(federation.settings)
        )
    federation.push.wake.set()
    replaced = [
        url
        for url, now in ((before.avatar_url, avatar_url), (before.header_url, header_url))
        if url is not None and url != now
    ]
    await _remove(federation, [key for url in replaced if (key := _own_key(federation, url))])
    verify_links.start(federation, checked)
    if before.locked and not locked:
        for request in await follows.pending_requests(federation.db):
            actor = await actor_store.get_actor_by_id(federation.db, request.actor_id)
            if actor is not None:
                await follow_actions.approve(federation, actor.ap_id)
    return account


async def change_password(federation: Federation, current: str, new: str, repeated: str) -> Account:
    """Set a new password once the current one is given; every other session ends with it."""
    problem = validate_new_password(new)
    if problem is not None:
        raise ActionError(problem)
    if new != repeated:
        raise ActionError("The new password and its repetition differ.")
    account = await account_store.get_account(federation.db)
    assert account is not None
    if not await check_password_async(current[:MAX_LENGTH], account.password_hash):
        raise WrongPassword("The current password is not right.")
    # Argon2 takes tens of milliseconds: off the event loop, as checking it is.
    await account_store.set_password_hash(
        federation.db, await asyncio.to_thread(hash_password, new)
    )
    changed = await account_store.get_account(federation.db)
    assert changed is not None
    return changed
