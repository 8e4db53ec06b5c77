"""A status card's actions for the signed-in owner, drawn in Python instead of Jinja macros.

A timeline page shows twenty cards of up to six forms each (reply, boost, favourite, bookmark,
pin or delete, mute), each with its icon, label, count and CSRF fields: as macros that was a
thousand template calls a page and most of the page's time. Here each card's footer is one
string built from labels translated once per language. The markup is what `_macros.html`'s
`status` macro used to write; static/app.js and the in-place actions rely on it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Final
from urllib.parse import quote

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from solo.catalogues import translations
from solo.web.views import StatusView

# The icon of each action drawn as one (the rest are words in the "More" menu).
ICONS: Final = {
    "boost": "boost",
    "unboost": "boost",
    "favourite": "star",
    "unfavourite": "star",
    "bookmark": "bookmark",
    "unbookmark": "bookmark",
}


@functools.cache
def _labels(locale: str) -> dict[str, Markup]:
    """Every fixed text of the footer in `locale`, escaped once."""
    _ = translations(locale).gettext
    texts = {
        "reply": _("Reply"),
        "boost": _("Boost"),
        "unboost": _("Unboost"),
        "favourite": _("Favourite"),
        "unfavourite": _("Unfavourite"),
        "bookmark": _("Bookmark"),
        "unbookmark": _("Unbookmark"),
        "more": _("More"),
        "edit": _("Edit"),
        "pin": _("Pin on profile"),
        "unpin": _("Unpin from profile"),
        "delete": _("Delete"),
        "confirm_delete": _("Delete this post for good?"),
        "original": _("Open the original"),
        "mute": _("Mute conversation"),
        "unmute": _("Unmute conversation"),
        # What the page's live region says once an action is done in place (static/app.js).
        "done_favourite": _("Favourited"),
        "done_unfavourite": _("Favourite undone"),
        "done_boost": _("Boosted"),
        "done_unboost": _("Boost undone"),
        "done_bookmark": _("Bookmarked"),
        "done_unbookmark": _("Bookmark removed"),
        "done_pin": _("Pinned on your profile"),
        "done_unpin": _("Unpinned from your profile"),
        "done_mute": _("Conversation muted"),
        "done_unmute": _("Conversation unmuted"),
        "done_delete": _("Post deleted"),
    }
    return {key: escape(text) for key, text in texts.items()}


@functools.lru_cache(maxsize=1024)
def _account_texts(locale: str, handle: str) -> dict[str, str]:
    """The menu's texts naming a card's author, in `locale`: a timeline names the same few
    authors again and again, so each is filled (and escaped) once."""
    _ = translations(locale).gettext
    name = handle.split("@")[0]

    def filled(pattern: str, **values: str) -> str:
        return str(Markup(escape(pattern)) % values)  # noqa: S704 - our text, values escaped

    return {
        "report": filled(_("Report @%(name)s…"), name=name),
        "mute_title": filled(_("Mute @%(handle)s"), handle=handle),
        "mute": filled(_("Mute @%(name)s…"), name=name),
        "block_title": filled(_("Block @%(handle)s"), handle=handle),
        "block": filled(_("Block @%(name)s…"), name=name),
    }


class _Card:
    """One card's footer being written."""

    def __init__(
        self,
        view: StatusView,
        labels: dict[str, Markup],
        csrf: str,
        here: str,
        icon: Callable[[str], Markup],
    ) -> None:
        self.view = view
        self.labels = labels
        self.icon = icon
        back = escape(f"{here}#s-{view.entry_id}")
        self.fields = (
            f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
            f'<input type="hidden" name="back" value="{back}">'
            f'<input type="hidden" name="entry" value="{view.entry_id}">'
        )

    def action(
        self, name: str, pressed: bool | None = None, count: int = 0, confirm: str = ""
    ) -> str:
        label = self.labels[name]
        confirming = f' data-confirm="{self.labels[confirm]}"' if confirm else ""
        pressing = "" if pressed is None else f' aria-pressed="{"true" if pressed else "false"}"'
        glyph = ICONS.get(name)
        if glyph:
            face = f'{self.icon(glyph)}<span class="label">{label}</span>'
            pressing += f' title="{label}"'
        else:
            face = str(label)
        counted = f' <span class="count">{count}</span>' if count else ""
        return (
            f'<form method="post" action="/statuses/{self.view.id}/{name}" class="action {name}"'
            f' data-inplace data-done="{self.labels["done_" + name]}"{confirming}>'
            f'{self.fields}<button type="submit"{pressing}>{face}{counted}</button></form>'
        )


def footer(
    view: StatusView, locale: str, csrf: str, here: str, icon: Callable[[str], Markup]
) -> Markup:
    """The actions under `view`'s card for the signed-in owner."""
    labels = _labels(locale)
    card = _Card(view, labels, csrf, here, icon)
    counts = view.counts
    replies = f' <span class="count">{counts.replies}</span>' if counts.replies else ""
    parts = [
        '<footer class="actions">',
        f'<a class="action reply" href="/compose?in_reply_to={view.id}" title="{labels["reply"]}">'
        f'{icon("reply")}<span class="label">{labels["reply"]}</span>{replies}</a>',
    ]
    if view.boostable:
        if counts.boosted:
            parts.append(card.action("unboost", True, counts.boosts))
        else:
            parts.append(card.action("boost", False, counts.boosts))
    if counts.favourited:
        parts.append(card.action("unfavourite", True, counts.favourites))
    else:
        parts.append(card.action("favourite", False, counts.favourites))
    parts.append(
        card.action("unbookmark", True) if counts.bookmarked else card.action("bookmark", False)
    )
    parts.append(
        f'<details class="more"><summary title="{labels["more"]}">{icon("more")}'
        f'<span class="label">{labels["more"]}</span></summary><div class="menu">'
    )
    if view.own:
        parts.append(f'<a href="/compose?edit={view.id}">{labels["edit"]}</a>')
        if counts.pinned:
            parts.append(card.action("unpin", True))
        elif view.boostable:
            parts.append(card.action("pin", False))
        parts.append(card.action("delete", confirm="confirm_delete"))
    else:
        parts.append(
            f'<a href="{escape(view.original_url)}" rel="nofollow noopener" target="_blank">'
            f"{labels['original']}</a>"
            f'<a class="report-link" href="{escape(view.author.page)}/report?status={view.id}">'
            f"{_account_texts(locale, view.author.handle)['report']}</a>"
        )
    parts.append(card.action("unmute", True) if counts.muted else card.action("mute", False))
    if not view.own:
        texts = _account_texts(locale, view.author.handle)
        back = _quoted(f"{here}#s-{view.entry_id}")
        query = f"account={_quoted_account(view.author.ap_id)}&amp;back={back}"
        parts.append(
            f'<a href="/mute?{query}" title="{texts["mute_title"]}">{texts["mute"]}</a>'
            f'<a class="danger" href="/block?{query}" title="{texts["block_title"]}">'
            f"{texts['block']}</a>"
        )
    parts.append("</div></details></footer>")
    return Markup("".join(parts))  # noqa: S704 - every variable part is escaped above


def _quoted(value: str) -> str:
    """As Jinja's `urlencode` filter writes a value into a query string."""
    return str(escape(quote(value, safe="/")))


_quoted_account = functools.lru_cache(maxsize=1024)(_quoted)  # the same few authors again


@pass_context
def status_actions(context: Context, view: StatusView) -> Markup:
    """`{{ status_actions(view) }}` in a card: its footer for the page's reader and language."""
    return footer(
        view, context["locale"], context["csrf_token"](), context["here"], context["icon"]
    )
