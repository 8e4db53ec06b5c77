"""The settings page: the profile (name, bio, fields, locked), composing preferences, the
password, logging out everywhere, and downloading a backup."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from solo import backup, catalogues
from solo.actions import ActionError, WrongPassword, profile
from solo.backup_format import tar_size
from solo.catalogues import Message
from solo.edge import i18n
from solo.edge.ratelimit import client_address, failed_logins
from solo.edge.sessions import checked_form, log_in, log_out_everywhere
from solo.edge.templating import flash, render
from solo.errors import TooManyRequests
from solo.federation.context import federation_of
from solo.instance import instance_of
from solo.passwords import MAX_LENGTH, check_password_async
from solo.store import compose_prefs
from solo.store.account import Account
from solo.web import apps
from solo.web.common import form_page, login_required


@dataclass(frozen=True)
class ProfileForm:
    """What the profile form shows: the saved values, or what was typed when refused."""

    display_name: str
    bio: str
    fields: list[tuple[str, str]]
    locked: bool

    @classmethod
    def of(cls, account: Account) -> ProfileForm:
        return cls(
            account.display_name,
            account.summary_source,
            _padded([(field.name, field.value) for field in account.fields]),
            account.locked,
        )

    @classmethod
    def typed(cls, form: FormData) -> ProfileForm:
        names = [str(value) for value in form.getlist("field_name")]
        values = [str(value) for value in form.getlist("field_value")]
        pairs = list(zip(names, values, strict=False))
        return cls(
            str(form.get("display_name", "")),
            str(form.get("bio", "")),
            _padded(pairs),
            bool(form.get("locked")),
        )


def _padded(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The rows of the form: the fields, then empty rows up to the limit."""
    return pairs + [("", "")] * max(0, profile.MAX_FIELDS - len(pairs))


async def _page(request: Request, account: Account, **context: Any) -> Response:
    status = context.pop("status", 200)
    values = {
        "account": account,
        "authorized_apps": await apps.authorized_apps(request),
        "form": ProfileForm.of(account),
        # The saved values whose rel="me" link was verified (a changed value has no mark).
        "verified": {field.value for field in account.fields if field.verified_at is not None},
        "error": None,
        "notice": None,
        "password_error": None,
        "password_notice": None,
        "backup_error": None,
        "language_error": None,
        "language": getattr(request.app.state, "language", catalogues.AUTOMATIC),
        "languages": catalogues.LANGUAGES,
        "alt_text_reminder": await compose_prefs.alt_text_reminder(federation_of(request).db),
        **context,
    }
    return render(request, "settings.html", values, status=status)


@login_required
async def settings_page(request: Request, account: Account) -> Response:
    return await _page(request, account)


async def _image(form: FormData, name: str, limit: int) -> profile.ImageUpload | None:
    """An avatar or header file from the form; None when none was chosen."""
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    if upload.size is not None and upload.size > limit:
        size = {"size": round(upload.size / 1048576, 1), "limit": limit // 1048576}
        if name == "avatar":
            raise ActionError("The avatar file is %(size)s MB; the limit is %(limit)s MB.", **size)
        raise ActionError("The header file is %(size)s MB; the limit is %(limit)s MB.", **size)
    data = await upload.read(limit + 1)
    return profile.ImageUpload(data, upload.filename, upload.content_type or "")


@form_page
async def save_profile(request: Request, account: Account, form: FormData) -> Response:
    typed = ProfileForm.typed(form)
    federation = federation_of(request)
    try:
        await profile.update_profile(
            federation,
            display_name=typed.display_name,
            bio=typed.bio,
            fields=typed.fields,
            locked=typed.locked,
            avatar=await _image(form, "avatar", federation.settings.max_upload_bytes),
            header=await _image(form, "header", federation.settings.max_upload_bytes),
            remove_avatar=bool(form.get("remove_avatar")),
            remove_header=bool(form.get("remove_header")),
        )
    except ActionError as error:
        return await _page(request, account, form=typed, error=error.message, status=error.status)
    flash(request, "Your profile is saved, and on its way to your followers’ servers.")
    return RedirectResponse("/settings", status_code=303)


@form_page
async def save_composing(request: Request, account: Account, form: FormData) -> Response:
    """The composing preferences: for now, the reminder about images without alt text."""
    on = bool(form.get("alt_text_reminder"))
    await compose_prefs.set_alt_text_reminder(federation_of(request).db, on)
    if on:
        flash(request, "Saved: you will be asked before posting an image without a description.")
    else:
        flash(request, "Saved: images without a description are posted without asking.")
    return RedirectResponse("/settings#composing", status_code=303)


@login_required
async def change_password(request: Request, account: Account) -> Response:
    form = await checked_form(request)
    # The current password is a guess like a login's (a stolen cookie must not buy unlimited
    # ones): counted before the check, in the same budget.
    window = failed_logins(request)
    address = client_address(request)
    wait = window.reserve(address)
    if wait is not None:
        raise TooManyRequests(
            Message.counted(
                "Too many wrong passwords from your address. Try again in %(num)s second.",
                "Too many wrong passwords from your address. Try again in %(num)s seconds.",
                wait,
            ),
            wait,
        )
    try:
        changed = await profile.change_password(
            federation_of(request),
            str(form.get("current", "")),
            str(form.get("new", "")),
            str(form.get("repeat", "")),
        )
    except WrongPassword as error:
        return await _page(request, account, password_error=error.message, status=error.status)
    except ActionError as error:
        window.release(address)
        return await _page(request, account, password_error=error.message, status=error.status)
    window.release(address)
    # Every session ends, as Mastodon's do; this browser goes on in a new one.
    await log_out_everywhere(request)
    await log_in(request, changed)
    flash(request, "Your password is changed. Other sessions are logged out.")
    return RedirectResponse("/settings", status_code=303)


@login_required
async def download_backup(request: Request, account: Account) -> Response:
    """`POST /settings/backup`: the same file as `solo backup`, streamed as it is read.

    The password is asked again: the file holds the private keys and the password hash, which a
    stolen session cookie alone must not be enough to carry away."""
    form = await checked_form(request)
    window = failed_logins(request)
    address = client_address(request)
    wait = window.reserve(address)
    if wait is not None:
        raise TooManyRequests(
            Message.counted(
                "Too many wrong passwords from your address. Try again in %(num)s second.",
                "Too many wrong passwords from your address. Try again in %(num)s seconds.",
                wait,
            ),
            wait,
        )
    password = str(form.get("password", ""))[:MAX_LENGTH]
    if not await check_password_async(password, account.password_hash):
        message = "The password is not right, so no backup was made."
        return await _page(request, account, backup_error=message, status=403)
    window.release(address)
    settings = federation_of(request).settings
    manifest, chunks = await backup.stream(settings)
    day = time.strftime("%Y-%m-%d", time.gmtime(manifest.created_at))
    return StreamingResponse(
        chunks,
        media_type="application/x-tar",
        headers={
            "Content-Disposition": f'attachment; filename="solo-{settings.username}-{day}.tar"',
            "Content-Length": str(tar_size(manifest)),
            "Cache-Control": "no-store",
        },
    )


@login_required
async def end_sessions(request: Request, account: Account) -> Response:
    """`POST /settings/sessions/end`: log out everywhere, this browser included."""
    await checked_form(request)
    ended = await log_out_everywhere(request)
    ngettext = i18n.ngettext_for(request)
    message = ngettext(
        "You are logged out everywhere (%(num)s session ended).",
        "You are logged out everywhere (%(num)s sessions ended).",
        ended,
    )
    flash(request, message, num=ended)
    return RedirectResponse("/login", status_code=303)


@login_required
async def save_language(request: Request, account: Account) -> Response:
    """`POST /settings/language`: the web interface's language, or automatic (the browser's)."""
    form = await checked_form(request)
    _ = i18n.gettext_for(request)
    chosen = str(form.get("language", ""))
    if chosen != catalogues.AUTOMATIC and chosen not in catalogues.LANGUAGES:
        message = _("Choose one of the listed languages.")
        return await _page(request, account, language_error=message, status=422)
    await i18n.save_language(instance_of(request).db, chosen)
    request.app.state.language = chosen
    request.scope.pop(i18n.SCOPE_KEY, None)  # the confirmation speaks the new language
    flash(request, "The language is saved.")
    return RedirectResponse("/settings#language", status_code=303)


routes: list[BaseRoute] = [
    Route("/settings", settings_page, methods=["GET", "HEAD"]),
    Route("/settings", save_profile, methods=["POST"]),
    Route("/settings/password", change_password, methods=["POST"]),
    Route("/settings/composing", save_composing, methods=["POST"]),
    Route("/settings/sessions/end", end_sessions, methods=["POST"]),
    Route("/settings/backup", download_backup, methods=["POST"]),
    Route("/settings/language", save_language, methods=["POST"]),
]
