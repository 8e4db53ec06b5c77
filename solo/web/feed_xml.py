"""RSS 2.0 and Atom documents for our posts, built with ElementTree: every piece of text,
the post HTML included, is escaped by the serializer, never pasted into markup by hand."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from solo import __version__
from solo.sanitize import plain_text

ATOM = "http://www.w3.org/2005/Atom"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
TITLE_CHARS = 80

# The prefix of the one Atom element in RSS (ElementTree would otherwise call it ns0).
ET.register_namespace("atom", ATOM)


@dataclass(frozen=True)
class Enclosure:
    url: str
    media_type: str
    length: int


@dataclass(frozen=True)
class Entry:
    id: str  # the post's ActivityPub id: stable whatever its page address becomes
    url: str  # its page
    content_html: str  # the sanitized HTML we store
    summary: str  # the content warning, plain text
    published: float
    updated: float
    enclosures: tuple[Enclosure, ...]


@dataclass(frozen=True)
class Channel:
    title: str
    description: str
    page: str  # the HTML page the feed mirrors
    self_url: str  # the feed's own address, without a query
    author_name: str
    author_uri: str
    updated: float
    language: str | None
    entries: Sequence[Entry]


def rfc822(when: float) -> str:
    return format_datetime(datetime.fromtimestamp(when, UTC), usegmt=True)


def rfc3339(when: float) -> str:
    return datetime.fromtimestamp(int(when), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _title(entry: Entry, fallback: str) -> str:
    """The content warning, else the start of the text: a reader lists entries by title."""
    if entry.summary:
        return entry.summary
    text = " ".join(plain_text(entry.content_html).split())
    if not text:
        return fallback
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


def _serialize(root: ET.Element) -> bytes:
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def rss(channel: Channel) -> bytes:
    root = ET.Element("rss", {"version": "2.0"})
    node = _sub(root, "channel")
    _sub(node, "title", channel.title)
    _sub(node, "link", channel.page)
    _sub(node, "description", channel.description)
    # RSS has no self link of its own; the Atom one is what validators ask for.
    _sub(node, f"{{{ATOM}}}link", href=channel.self_url, rel="self", type="application/rss+xml")
    if channel.language:
        _sub(node, "language", channel.language)
    _sub(node, "lastBuildDate", rfc822(channel.updated))
    _sub(node, "generator", f"Solo {__version__}")
    _sub(node, "ttl", "1")
    for entry in channel.entries:
        item = _sub(node, "item")
        if entry.summary:
            _sub(item, "title", entry.summary)
        _sub(item, "link", entry.url)
        _sub(item, "guid", entry.url, isPermaLink="true")
        _sub(item, "pubDate", rfc822(entry.published))
        _sub(item, "description", entry.content_html)
        for enclosure in entry.enclosures:
            _sub(
                item,
                "enclosure",
                url=enclosure.url,
                length=str(enclosure.length),
                type=enclosure.media_type,
            )
    return _serialize(root)


def atom(channel: Channel) -> bytes:
    # Atom is the default namespace, declared by hand: ElementTree's `default_namespace`
    # refuses the unqualified attribute names (rel, href) that Atom uses.
    root = ET.Element("feed", {"xmlns": ATOM, XML_BASE: channel.page})
    _atom_feed(root, channel)
    return _serialize(root)


def _a(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    return _sub(parent, tag, text, **attrs)


def _author(parent: ET.Element, channel: Channel) -> None:
    author = _a(parent, "author")
    _a(author, "name", channel.author_name)
    _a(author, "uri", channel.author_uri)


def _atom_feed(root: ET.Element, channel: Channel) -> None:
    _a(root, "id", channel.self_url)
    _a(root, "title", channel.title)
    _a(root, "subtitle", channel.description)
    _a(root, "updated", rfc3339(channel.updated))
    _author(root, channel)
    _a(root, "link", rel="alternate", type="text/html", href=channel.page)
    _a(root, "link", rel="self", type="application/atom+xml", href=channel.self_url)
    _a(root, "generator", "Solo", version=__version__)
    for entry in channel.entries:
        node = _a(root, "entry")
        _a(node, "id", entry.id)
        _a(node, "title", _title(entry, f"A post by {channel.author_name}"))
        _a(node, "updated", rfc3339(entry.updated))
        _a(node, "published", rfc3339(entry.published))
        _author(node, channel)
        _a(node, "link", rel="alternate", type="text/html", href=entry.url)
        if entry.summary:
            _a(node, "summary", entry.summary)
        _a(node, "content", entry.content_html, type="html")
        for enclosure in entry.enclosures:
            _a(
                node,
                "link",
                rel="enclosure",
                href=enclosure.url,
                type=enclosure.media_type,
                length=str(enclosure.length),
            )
