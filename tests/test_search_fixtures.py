"""Posts captured from real servers, through the real inbox and ingress worker, are found by
their words, poll options and links as soon as they are stored, and leave the index when
deleted."""

from __future__ import annotations

from pathlib import Path

from solo.activitystreams import id_of
from solo.db import Database
from solo.store import search, search_query
from tests.test_fixtures_ingress import document, world

QUESTION = "mastodon/pleroma.mastodon-question-activity.json"
ATTACHED = "mastodon/pleroma.mastodon-create-with-attachment.json"


async def found(db: Database, text: str) -> list[int]:
    return await search.find(db, search_query.parse(text), search.Page(), {})


async def test_fixture_posts_are_found(tmp_path: Path, template_root: Path) -> None:
    async with world(tmp_path, template_root) as w:
        assert (await w.send(QUESTION)).applied
        assert (await w.send(ATTACHED)).applied
        question = await w.status(id_of(document(QUESTION)["object"]) or "")
        attached = await w.status(id_of(document(ATTACHED)["object"]) or "")
        assert question is not None and attached is not None
        assert await found(w.db, "corndog cute") == [question.id]
        assert await found(w.db, "TENSHI") == [question.id]
        assert await found(w.db, '"funny"') == [question.id]  # a poll option
        assert await found(w.db, "has:poll") == [question.id]
        assert await found(w.db, "has:media") == [attached.id]
        assert await found(w.db, "has:link") == [attached.id]
        assert await found(w.db, "mastodon.example.org") == [attached.id]
        assert await found(w.db, "corndog -dunno") == []
        async with w.db.transaction() as conn:  # what a Delete does to the row
            await conn.execute("UPDATE statuses SET deleted_at = 1 WHERE id = ?", (question.id,))
        assert await found(w.db, "corndog") == []
