"""Our posts served as ActivityStreams at their ids: Notes, Creates, boosts, 404s and 410s."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from solo import urls
from solo.actions import interactions as interaction_actions
from solo.actions import statuses as status_actions
from solo.activitystreams import AS_CONTEXT, PUBLIC
from solo.config import Settings
from solo.federation.context import Federation

AS_JSON = {"Accept": "application/activity+json"}
LD_JSON = {"Accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def path_of(url: str, settings: Settings) -> str:
    assert url.startswith(settings.base_url)
    return url[len(settings.base_url) :]


def federation(app: Starlette) -> Federation:
    found: Federation = app.state.federation
    return found


async def test_public_note_and_its_create(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    status = await status_actions.post(
        federation(app), "Hello @alice, #Python", summary="greeting", language="en"
    )
    path = path_of(status.ap_id, settings)
    for headers in (AS_JSON, LD_JSON):
        response = await client.get(path, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/activity+json"
        assert "Accept" in response.headers["vary"]
        note = response.json()
        assert note["@context"][0] == AS_CONTEXT
        assert note["id"] == status.ap_id
        assert note["type"] == "Note"
        assert note["attributedTo"] == urls.actor(settings)
        assert note["summary"] == "greeting"
        assert note["sensitive"] is True
        assert note["contentMap"] == {"en": note["content"]}
        assert note["url"] == urls.status_page(settings, status.id)
        assert note["to"] == [PUBLIC]
        assert note["cc"] == [urls.followers(settings), urls.actor(settings)]
        assert note["tag"] == [
            {"type": "Mention", "href": urls.actor(settings), "name": "@alice@solo.test"},
            {"type": "Hashtag", "href": "https://solo.test/tags/python", "name": "#python"},
        ]
        assert "updated" not in note

    response = await client.get(f"{path}/activity", headers=AS_JSON)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/activity+json"
    create = response.json()
    assert create["@context"][0] == AS_CONTEXT
    assert create["id"] == f"{status.ap_id}/activity"
    assert create["type"] == "Create"
    assert create["object"]["id"] == status.ap_id
    assert create["object"]["tag"] == note["tag"]

    head = await client.head(path, headers=AS_JSON)
    assert head.status_code == 200


async def test_edited_note_is_served_with_updated(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    status = await status_actions.post(federation(app), "draft", visibility="unlisted")
    await status_actions.edit(federation(app), status.id, "final #done")
    note = (await client.get(path_of(status.ap_id, settings), headers=AS_JSON)).json()
    assert note["to"] == [urls.followers(settings)]
    assert note["cc"] == [PUBLIC]
    assert "final" in note["content"]
    assert "updated" in note
    assert [tag["name"] for tag in note["tag"]] == ["#done"]


async def test_browsers_are_sent_to_the_page(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    status = await status_actions.post(federation(app), "for people")
    path = path_of(status.ap_id, settings)
    for url in (path, f"{path}/activity"):
        response = await client.get(url, headers=HTML)
        assert response.status_code in (302, 303)
        assert response.headers["location"] == urls.status_page(settings, status.id)


@pytest.mark.parametrize("visibility", ["private", "direct"])
async def test_followers_only_and_direct_are_not_served(
    app: Starlette, client: httpx.AsyncClient, settings: Settings, visibility: str
) -> None:
    # Until fetches signed by a follower's server are checked, nobody gets them this way.
    status = await status_actions.post(federation(app), "secret", visibility=visibility)
    path = path_of(status.ap_id, settings)
    for url in (path, f"{path}/activity"):
        response = await client.get(url, headers=AS_JSON)
        assert response.status_code == 404
        assert "secret" not in response.text


async def test_deleted_post_is_gone(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    status = await status_actions.post(federation(app), "regrettable")
    await status_actions.delete(federation(app), status.id)
    path = path_of(status.ap_id, settings)
    for url, expected_id in (
        (path, status.ap_id),
        (f"{path}/activity", f"{status.ap_id}/activity"),
    ):
        response = await client.get(url, headers=AS_JSON)
        assert response.status_code == 410
        assert response.headers["content-type"] == "application/activity+json"
        assert response.json() == {
            "@context": AS_CONTEXT,
            "id": expected_id,
            "type": "Tombstone",
        }


@pytest.mark.parametrize(
    "path",
    [
        "/users/alice/statuses/12345",
        "/users/alice/statuses/12345/activity",
        "/users/bob/statuses/12345",
        "/users/alice/statuses/not-a-number",
    ],
)
async def test_unknown_posts_are_not_found(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers=AS_JSON)
    assert response.status_code == 404


async def test_other_accounts_posts_are_not_served_here(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    status = await status_actions.post(federation(app), "mine")
    other = path_of(status.ap_id, settings).replace("/users/alice/", "/users/bob/")
    assert (await client.get(other, headers=AS_JSON)).status_code == 404


async def test_boost_is_served_as_its_announce(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    status = await status_actions.post(federation(app), "boost this")
    boost = await interaction_actions.boost(federation(app), status.id)
    boost_path = path_of(urls.status(settings, boost.id), settings)
    response = await client.get(f"{boost_path}/activity", headers=AS_JSON)
    assert response.status_code == 200
    announce = response.json()
    assert announce["type"] == "Announce"
    assert announce["id"] == boost.ap_id == f"{urls.status(settings, boost.id)}/activity"
    assert announce["object"] == status.ap_id
    assert announce["to"] == [PUBLIC]
    # A boost is an activity, not an object of its own.
    assert (await client.get(boost_path, headers=AS_JSON)).status_code == 404
    redirect = await client.get(f"{boost_path}/activity", headers=HTML)
    assert redirect.headers["location"] == urls.status_page(settings, status.id)

    await interaction_actions.unboost(federation(app), status.id)
    assert (await client.get(f"{boost_path}/activity", headers=AS_JSON)).status_code == 404
