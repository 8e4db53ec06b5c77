"""The app shell as served: the navigation marks the page shown with `aria-current`, the
composer sits in the side column only where a timeline takes new posts, and every icon used
is drawn in the one sprite."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from solo.edge.templating import nav_section
from solo.paths import static_dir, templates_dir
from tests.test_web_pages import user

__all__ = ["user"]  # the fixture, used by name

CURRENT = re.compile(r'<a href="([^"]+)"[^>]*aria-current="page"')


@pytest.mark.parametrize(
    ("path", "section"),
    [
        ("/", "home"),
        ("/notifications", "notifications"),
        ("/notification_requests/5", "notifications"),
        ("/search", "search"),
        ("/local", "local"),
        ("/federated", "federated"),
        ("/bookmarks", "bookmarks"),
        ("/lists/3", "lists"),
        ("/tags/solo", "lists"),
        ("/settings/filters/2", "settings"),
        ("/server", "server"),
        ("/compose", "compose"),
        ("/@alice", "profile"),
        ("/@alice/followers", "profile"),
        ("/@alice/117716226537291776", None),  # a post, not the profile
        ("/@bob@elsewhere.example", None),
        ("/login", None),
    ],
)
def test_each_path_belongs_to_its_section(path: str, section: str | None) -> None:
    assert nav_section(path, "alice") == section


async def test_the_current_page_is_marked_in_both_navigations(user: httpx.AsyncClient) -> None:
    home = await user.get("/")
    # The side navigation and the tab bar each mark Home, and nothing else.
    assert CURRENT.findall(home.text) == ["/", "/"]
    assert 'aria-labelledby="composer-title"' in home.text
    assert home.text.index('id="compose-text"') > home.text.index('<aside class="side">')
    assert 'class="shell has-aside"' in home.text

    local = await user.get("/local")
    assert CURRENT.findall(local.text) == ["/local", "/local"]
    assert 'id="compose-text"' not in local.text  # a page away: /compose
    assert '<aside class="side">' not in local.text
    assert 'href="/compose"' in local.text

    settings = await user.get("/settings")
    assert CURRENT.findall(settings.text) == ["/settings", "/settings"]
    assert '<summary class="current">' in settings.text  # "More" holds Settings on a phone


async def test_visitors_get_no_app_navigation(client: httpx.AsyncClient) -> None:
    profile = await client.get("/@alice")
    assert profile.status_code == 200
    assert 'class="tab-bar"' not in profile.text
    assert 'class="side-nav"' not in profile.text
    # The header's link to the profile, and the profile's own Posts tab.
    assert CURRENT.findall(profile.text) == ["https://solo.test/@alice", "/@alice"]


def test_every_icon_used_is_in_the_sprite() -> None:
    sprite = (Path(static_dir()) / "icons.svg").read_text()
    drawn = set(re.findall(r'<symbol id="([a-z-]+)"', sprite))
    used: set[str] = set()
    for template in Path(templates_dir()).glob("*.html"):
        text = template.read_text()
        used |= set(re.findall(r'icon\("([a-z-]+)"\)', text))
        used |= set(re.findall(r'"[a-z]+": "([a-z]+)"', text)) & drawn  # the ICONS map
        used |= set(re.findall(r"icons\.svg#([a-z-]+)", text))
    assert used and used <= drawn, used - drawn
    # Strokes in the text's colour: no fills or colours of their own, nothing fetched.
    assert "http" not in sprite.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in sprite and "style=" not in sprite
