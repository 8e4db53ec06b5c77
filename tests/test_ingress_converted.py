"""Objects Mastodon converts into posts (rule 40) through the real inbox and ingress worker:
PeerTube Videos (created and boosted), Funkwhale Audio, Mobilizon-style Events and Images,
each shown as its name linked to its page, its text, and the media its `url` names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from solo.activitystreams import PUBLIC
from solo.store import media as media_store
from solo.store.media import Media
from solo.store.statuses import Status
from tests.ingress_helpers import activity, deliver
from tests.test_api_statuses import user_token
from tests.test_fixtures_ingress import World, document, world

FRAMATUBE = "https://framatube.org/videos/watch/6050732a-8a7a-43d4-a6cd-809525a1d206"


async def _stored(w: World, ap_id: str) -> tuple[Status, list[Media]]:
    status = await w.status(ap_id)
    assert status is not None, ap_id
    return status, (await media_store.media_of(w.db, [status.id])).get(status.id, [])


async def test_a_peertube_video_becomes_a_post_with_its_video(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root) as w:
        outcome = await w.send("peertube/pleroma.tesla_mock.framatube.org-video.json")
        assert outcome.applied, outcome
        status, media = await _stored(w, FRAMATUBE)
        assert status.type == "Video" and status.url == FRAMATUBE
        link = f'<a href="{FRAMATUBE}" target="_blank" rel="nofollow noopener">'
        assert status.content_html.startswith(
            f"<p>{link}Déframasoftisons Internet [Framasoft]</a></p><p>Après avoir mené"
        ), status.content_html
        # The Markdown description keeps its paragraphs, as text.
        assert status.content_html.endswith(
            "<p>Transcription par @aprilorg ici : https://www.april.org/deframasoftisons-internet-pierre-yves-gosset-framasoft</p>"
        )
        assert [(m.kind, m.media_type, m.remote_url) for m in media] == [
            (
                "video",
                "video/mp4",
                "https://framatube.org/static/webseed/6050732a-8a7a-43d4-a6cd-809525a1d206-720.mp4",
            )
        ]
        assert media[0].description == "Déframasoftisons Internet [Framasoft]"
        # PeerTube's tags have no '#': they are found all the same.
        auth = await user_token(w.target.client, username="alice")
        tagged = await w.target.client.get("/api/v1/timelines/tag/framasoft", headers=auth)
        assert [int(s["id"]) for s in tagged.json()] == [status.id]
        entity = tagged.json()[0]
        assert entity["media_attachments"][0]["type"] == "video"
        assert entity["spoiler_text"] == "" and entity["url"] == FRAMATUBE


async def test_a_boosted_peertube_video_that_only_streams_is_kept(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root) as w:
        video = document("peertube/lemmy.objects.video.json")
        w.server(video["id"]).serve(video)
        w.actor("https://tilvids.com/accounts/thelinuxexperiment")
        outcome = await w.send("peertube/lemmy.activities.announce_video.json")
        assert outcome.applied, outcome
        status, media = await _stored(w, video["id"])
        assert status.type == "Video"
        assert "Mesa, Wayland &amp; X.org in trouble" in status.content_html
        # The mp4 of its HLS playlist, listed in the playlist Link's `tag`.
        assert [m.media_type for m in media] == ["video/mp4"]
        assert media[0].remote_url is not None and "fragmented.mp4" in media[0].remote_url


async def test_funkwhale_audio_keeps_its_summary_as_text_and_its_track(
    tmp_path: Path, template_root: Path
) -> None:
    async with world(tmp_path, template_root) as w:
        outcome = await w.send("funkwhale/pleroma.tesla_mock.funkwhale_create_audio.json")
        assert outcome.applied, outcome
        ap_id = (
            "https://channels.tests.funkwhale.audio/federation/music/uploads/"
            "42342395-0208-4fee-a38d-259a6dae0871"
        )
        status, media = await _stored(w, ap_id)
        assert status.type == "Audio"
        assert status.url == "https://channels.tests.funkwhale.audio/library/tracks/74"
        assert "Compositions - Test Audio for Pleroma</a>" in status.content_html
        # Mastodon shows a converted object's summary as its text, not as a content warning.
        assert "#funkwhale #test #tests" in status.content_html
        assert (status.summary, status.sensitive) == ("", False)
        assert [(m.kind, m.media_type) for m in media] == [("audio", "audio/ogg")]


async def test_events_and_images_become_posts(tmp_path: Path, template_root: Path) -> None:
    async with world(tmp_path, template_root) as w:
        organiser = "https://mobilizon.test/@club"
        await w.know(organiser, "out")
        sender = w.actor(organiser)
        event: dict[str, Any] = {
            "id": "https://mobilizon.test/events/1",
            "type": "Event",
            "name": "Repair café",
            "content": "<p>Bring your <b>broken</b> things<script>x()</script></p>",
            "startTime": "2025-03-01T10:00:00Z",
            "url": "https://mobilizon.test/events/1",
            "attributedTo": organiser,
            "to": [PUBLIC],
            "attachment": [
                {
                    "type": "Document",
                    "mediaType": "image/png",
                    "url": "https://mobilizon.test/b.png",
                }
            ],
        }
        image = {
            "id": "https://mobilizon.test/images/2",
            "type": "Image",
            "name": "The poster",
            "url": "https://mobilizon.test/poster.jpg",
            "attributedTo": organiser,
            "to": [PUBLIC],
        }
        for obj in (event, image):
            sent = activity("Create", sender, obj, to=[PUBLIC])
            outcome = await deliver(w.target, sender, sent)
            assert outcome.applied, outcome
        status, media = await _stored(w, event["id"])
        assert status.type == "Event" and "Repair café</a>" in status.content_html
        assert "2025-03-01T10:00:00Z" in status.content_html
        assert "<b>broken</b>" in status.content_html and "<script" not in status.content_html
        assert [m.media_type for m in media] == ["image/png"]
        status, media = await _stored(w, image["id"])
        assert status.type == "Image" and "The poster</a>" in status.content_html
        assert [(m.kind, m.remote_url) for m in media] == [
            ("image", "https://mobilizon.test/poster.jpg")
        ]
