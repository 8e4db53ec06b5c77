"""The stampede (issue 15): a public post, our actor and our avatar carry strong ETags and a
public `Cache-Control`, answer `If-None-Match` with 304, come from memory on a repeat fetch (one
SQL statement, the one that says they are current), and change as soon as the post is edited or
deleted or the profile updated. Answers that depend on the signer carry none of it."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
from starlette.applications import Starlette

from solo.actions import statuses as status_actions
from solo.actions.polls import PollDraft
from solo.config import Settings
from solo.federation.signatures import HTTPSignatureAuth
from solo.http_cache import PUBLIC_DOCUMENT
from solo.store import polls as poll_store
from tests.ingress_helpers import follow_solo
from tests.secure_fleet import fleet_with, instance_auth, signed_get
from tests.test_api_accounts import png
from tests.test_api_statuses import user_token
from tests.test_objects import federation, path_of
from tests.test_web_queries import statements

AS_JSON = {"Accept": "application/activity+json"}
ACTOR = "/users/alice"


def background(sql: str) -> bool:
    """A statement of the job workers, which poll and claim whatever the request does (a claim
    is an item of the group commit: within a savepoint of its transaction)."""
    return (
        re.search(r"\bjobs\b", sql) is not None
        or sql in ("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")
        or sql.endswith(" solo_item")  # SAVEPOINT, RELEASE, ROLLBACK TO
    )


def seen_status(seen: list[str]) -> str:
    found = [sql for sql in seen if "FROM statuses" in sql]
    assert len(found) == 1, seen
    return found[0]


async def revalidate(client: httpx.AsyncClient, path: str) -> tuple[httpx.Response, str]:
    """The first answer at `path` and its ETag, after checking the ETag's 304 and its misses."""
    first = await client.get(path, headers=AS_JSON)
    assert first.status_code == 200, first.text
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')  # strong, not W/
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = await client.get(path, headers={**AS_JSON, "If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == first.headers["cache-control"]
    other = await client.get(path, headers={**AS_JSON, "If-None-Match": '"not-this-one"'})
    assert other.status_code == 200 and other.content == first.content
    return first, etag


async def test_public_note_and_create_have_etags_and_answer_304(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    status = await status_actions.post(federation(app), "going viral", visibility="unlisted")
    path = path_of(status.ap_id, settings)
    note, note_etag = await revalidate(client, path)
    assert note.json()["id"] == status.ap_id and "going viral" in note.json()["content"]
    assert note.headers["cache-control"] == PUBLIC_DOCUMENT == "public, max-age=180"
    create, create_etag = await revalidate(client, f"{path}/activity")
    assert create.json()["type"] == "Create" and create_etag != note_etag

    # A repeat fetch is served from memory: the status lookup is its only SQL.
    async with statements(federation(app).db) as seen:
        repeat = await client.get(path, headers=AS_JSON)
    assert repeat.content == note.content and repeat.headers["etag"] == note_etag
    assert [sql for sql in seen if not background(sql)] == [seen_status(seen)], seen


async def test_actor_has_an_etag_and_answers_304(app: Starlette, client: httpx.AsyncClient) -> None:
    actor, etag = await revalidate(client, ACTOR)
    assert actor.json()["type"] == "Person"
    assert actor.headers["cache-control"] == PUBLIC_DOCUMENT
    async with statements(federation(app).db) as seen:
        repeat = await client.get(ACTOR, headers=AS_JSON)
    assert repeat.content == actor.content and repeat.headers["etag"] == etag
    assert [sql for sql in seen if not background(sql)] == ["SELECT * FROM account WHERE id = 1"], (
        seen
    )
    # The profile page at the same URL is not the actor and shares none of its validator.
    page = await client.get(ACTOR, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "etag" not in page.headers


async def test_avatar_has_an_etag_and_answers_304(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    auth = await user_token(client)
    response = await client.patch(
        "/api/v1/accounts/update_credentials",
        files={"avatar": ("me.png", png(), "image/png")},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    actor = (await client.get(ACTOR, headers=AS_JSON)).json()
    avatar = path_of(actor["icon"]["url"], settings)
    first = await client.get(avatar)
    assert first.status_code == 200 and first.headers["content-type"].startswith("image/")
    etag = first.headers["etag"]
    assert "public" in first.headers["cache-control"]
    again = await client.get(avatar, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    assert (await client.get(avatar, headers={"If-None-Match": '"x"'})).content == first.content
    # A file that is gone is gone, whatever validator the requester holds.
    missing = await client.get("/media/profile/nothing.png", headers={"If-None-Match": etag})
    assert missing.status_code == 404


async def test_edit_and_delete_change_what_is_served(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    status = await status_actions.post(federation(app), "first words")
    path = path_of(status.ap_id, settings)
    _, etag = await revalidate(client, path)
    await status_actions.edit(federation(app), status.id, "second thoughts")
    after = await client.get(path, headers={**AS_JSON, "If-None-Match": etag})
    assert after.status_code == 200
    assert "second thoughts" in after.json()["content"] and "updated" in after.json()
    assert after.headers["etag"] != etag
    await status_actions.delete(federation(app), status.id)
    gone = await client.get(path, headers={**AS_JSON, "If-None-Match": after.headers["etag"]})
    assert gone.status_code == 410 and gone.json()["type"] == "Tombstone"
    assert "etag" not in gone.headers


async def test_profile_update_changes_the_actor(app: Starlette, client: httpx.AsyncClient) -> None:
    _, etag = await revalidate(client, ACTOR)
    auth = await user_token(client)
    response = await client.patch(
        "/api/v1/accounts/update_credentials", json={"display_name": "Alice Renamed"}, headers=auth
    )
    assert response.status_code == 200, response.text
    after = await client.get(ACTOR, headers={**AS_JSON, "If-None-Match": etag})
    assert after.status_code == 200 and after.json()["name"] == "Alice Renamed"
    assert after.headers["etag"] != etag


async def test_followers_only_and_direct_answers_are_never_cacheable(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    for visibility in ("private", "direct"):
        status = await status_actions.post(federation(app), "just us", visibility=visibility)
        response = await client.get(path_of(status.ap_id, settings), headers=AS_JSON)
        assert response.status_code == 404
        assert "etag" not in response.headers
        assert "public" not in response.headers.get("cache-control", "")


async def test_signed_answers_in_secure_mode_carry_no_validator(
    tmp_path: Path, template_root: Path
) -> None:
    secure = {"authorized_fetch": True}
    async with fleet_with(tmp_path, template_root, {"alice": secure, "bob": {}}) as (_, nodes):
        alice, bob = nodes["alice"], nodes["bob"]
        await follow_solo(bob, alice)
        public = await status_actions.post(alice.federation, "public, but secure mode")
        private = await status_actions.post(alice.federation, "followers", visibility="private")
        follower = bob.federation.user_auth
        assert isinstance(follower, HTTPSignatureAuth)
        for url, auth, cache_control in (
            (alice.actor, instance_auth(bob), "private"),
            (public.ap_id, instance_auth(bob), "private"),
            (private.ap_id, follower, "private, no-store"),
        ):
            for _ in range(2):  # the first answer and the one from memory
                response = await signed_get(alice, url, auth)
                assert response.status_code == 200, url
                assert response.headers["cache-control"] == cache_control
                assert "etag" not in response.headers
                vary = response.headers["vary"].removesuffix(", Accept-Encoding")  # compressed
                assert vary == "Accept, Signature"
                again = await signed_get(alice, url, auth)
                assert again.status_code == 200
        full = await signed_get(alice, alice.actor, instance_auth(bob))
        assert "summary" in full.json()
        # Unsigned, the actor is the minimal one, never the full one from memory.
        minimal = await alice.client.get(alice.actor, headers=AS_JSON)
        assert "summary" not in minimal.json() and "etag" not in minimal.headers


async def test_a_vote_changes_a_cached_question(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    """A vote changes the poll's counts, not the status row: the cached Question is checked
    against the poll before it is served."""
    posted = await status_actions.post(
        federation(app), "Tea or coffee?", poll=PollDraft(("Tea", "Coffee"))
    )
    path = path_of(posted.ap_id, settings)
    before, etag = await revalidate(client, path)
    assert [o["replies"]["totalItems"] for o in before.json()["oneOf"]] == [0, 0]
    async with federation(app).db.transaction() as conn:
        assert await poll_store.add_vote(conn, posted.id, None, 1, None, time.time())
        await poll_store.recount(conn, posted.id)
    after = await client.get(path, headers={**AS_JSON, "If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert [o["replies"]["totalItems"] for o in after.json()["oneOf"]] == [0, 1]
