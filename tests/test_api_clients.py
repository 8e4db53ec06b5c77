"""Real Mastodon clients (Mastodon.py, toot) log in to a real `solo serve` process.

Part 1 of the client API: app registration, the password grant and the code flow, the
instance documents and verify_credentials. The instance is reached as 127.0.0.1:port, its own
domain, so the URLs it hands out (the OAuth metadata's endpoints) resolve for the clients.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mastodon import Mastodon

from tests.conftest import PASSWORD
from tests.processes import SoloProcess

OOB = "urn:ietf:wg:oauth:2.0:oob"
SCOPES = ["read", "write", "follow", "push"]


@pytest.fixture
async def node(tmp_path: Path, template_root: Path) -> AsyncIterator[SoloProcess]:
    async with SoloProcess("alice", tmp_path) as process:
        process.domain = f"127.0.0.1:{process.port}"
        process.base_url = f"http://{process.domain}"
        process.environment["SOLO_DOMAIN"] = process.domain
        await process.initialise(template_root)
        await process.start()
        yield process


def _mastodon_py_password_login(base_url: str, secrets: Path) -> dict[str, object]:
    client_id, client_secret = Mastodon.create_app(
        "Solo test", scopes=SCOPES, api_base_url=base_url, to_file=secrets
    )
    mastodon = Mastodon(client_id=secrets)
    mastodon.log_in("alice", PASSWORD, scopes=SCOPES, allow_http=True)
    me = mastodon.account_verify_credentials()
    instance = mastodon.instance()
    return {
        "client_id": client_id,
        "client_secret": client_secret,
        "username": me["username"],
        "acct": me["acct"],
        "source_privacy": me["source"]["privacy"],
        "version": instance["version"],
        "major": mastodon.mastodon_major,
        "minor": mastodon.mastodon_minor,
    }


async def test_mastodon_py_password_login(node: SoloProcess, tmp_path: Path) -> None:
    result = await asyncio.to_thread(
        _mastodon_py_password_login, node.base_url, tmp_path / "secrets.txt"
    )
    assert result["username"] == "alice"
    assert result["acct"] == "alice"
    assert result["source_privacy"] == "public"
    assert str(result["version"]).startswith("4.2.0 (compatible; Solo ")
    assert (result["major"], result["minor"]) == (4, 2)


async def test_mastodon_py_code_flow(node: SoloProcess, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.txt"

    def request_url() -> str:
        Mastodon.create_app(
            "Solo code flow", scopes=SCOPES, api_base_url=node.base_url, to_file=secrets
        )
        url: str = Mastodon(client_id=secrets).auth_request_url(
            redirect_uris=OOB, scopes=SCOPES, allow_http=True
        )
        return url

    url = await asyncio.to_thread(request_url)
    assert url.startswith(f"{node.base_url}/oauth/authorize?")
    assert "state=None" in url and "force_login=False" in url
    async with node.logged_in() as browser:
        page = await browser.get(url.removeprefix(node.base_url))
        assert page.status_code == 200, page.text
        fields = dict(
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)
        )
        shown = await browser.post("/oauth/authorize", data={**fields, "decision": "approve"})
        match = re.search(r'id="authorization-code">([^<]+)<', shown.text)
        assert match, shown.text
    code = match.group(1)

    def log_in() -> str:
        mastodon = Mastodon(client_id=secrets)
        mastodon.log_in(code=code, redirect_uri=OOB, scopes=SCOPES, allow_http=True)
        username: str = mastodon.me()["username"]
        return username

    assert await asyncio.to_thread(log_in) == "alice"


def _toot(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(config)}
    return subprocess.run(
        [sys.executable, "-m", "toot", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_toot_login_cli_and_whoami(node: SoloProcess, tmp_path: Path) -> None:
    config = tmp_path / "config"
    login = await asyncio.to_thread(
        _toot, config, "login_cli", "-i", node.base_url, "-e", "alice", "-p", PASSWORD
    )
    assert login.returncode == 0, login.stdout + login.stderr
    assert "Successfully logged in" in login.stdout
    whoami = await asyncio.to_thread(_toot, config, "whoami", "--json")
    assert whoami.returncode == 0, whoami.stdout + whoami.stderr
    assert json.loads(whoami.stdout)["acct"] == "alice"
    plain = await asyncio.to_thread(_toot, config, "whoami")
    assert plain.returncode == 0, plain.stderr
    assert "@alice" in plain.stdout
    stored = json.loads((config / "toot" / "config.json").read_text())
    assert f"alice@{node.domain}" in stored["users"]
