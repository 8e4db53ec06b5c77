"""Why an incoming activity did nothing: the inbox's refusals and the ingress worker's ignored
activities, kept (bounded) in the database and shown by `solo queue`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from solo.cli import main
from solo.store import refusals
from tests.fleet import fleet_of
from tests.ingress_helpers import AS_JSON, FakeServer, activity, deliver


async def test_solo_queue_says_who_was_refused_or_ignored_and_why(
    tmp_path: Path, template_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        bob = FakeServer(fleet, "https://bob.test").actor("https://bob.test/users/bob")
        unsigned = activity("Like", bob, f"{alice.actor}/statuses/1")
        response = await alice.client.post(
            "/inbox", content=json.dumps(unsigned), headers={"Content-Type": AS_JSON}
        )
        assert response.status_code == 401
        elsewhere = activity("Like", bob, "https://bob.test/notes/1")
        assert (await deliver(alice, bob, elsewhere)).ignored
        accepted_before = await refusals.recent(alice.federation.db)

        code = await asyncio.to_thread(main, ["--data-dir", str(alice.settings.data_dir), "queue"])

    out = capsys.readouterr().out
    assert code == 0
    assert len(accepted_before) == 2
    listing = out.split("refused (HTTP status) or ignored (-), newest first:")[1]
    lines = listing.strip().splitlines()
    ignored, refused = lines[0] + lines[1], lines[2] + lines[3]
    assert " - " in ignored and "Like" in ignored and bob.actor in ignored
    assert "not a post of ours" in ignored
    assert "401" in refused and "Like" in refused and bob.actor in refused
    assert "not signed" in refused


async def test_the_record_is_bounded_and_an_accepted_activity_writes_nothing(
    tmp_path: Path, template_root: Path
) -> None:
    async with fleet_of(tmp_path, template_root, "alice") as (fleet, nodes):
        alice = nodes["alice"]
        db = alice.federation.db
        for n in range(5):
            await refusals.record(db, f"https://x.test/{n}", "Like", "no", status=401, kept=3)
        assert [r.sender for r in await refusals.recent(db)] == [
            "https://x.test/4",
            "https://x.test/3",
            "https://x.test/2",
        ]
        bob = FakeServer(fleet, "https://bob.test").actor("https://bob.test/users/bob")
        follow = activity("Follow", bob, alice.actor)
        assert (await deliver(alice, bob, follow)).applied
        assert len(await refusals.recent(db)) == 3
        assert refusals.recent_in(str(alice.settings.db_path), 1)[0].sender == "https://x.test/4"
