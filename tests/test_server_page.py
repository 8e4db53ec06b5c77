"""The Server page, /server.json and /metrics: their numbers checked against the queue's rows and
the samples, the retry-now and give-up buttons changing the rows (and retry-now really sending),
the metrics token (404 unset, 401 wrong, constant-time compare), and strangers refused."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from solo.actions import server_stats
from solo.app import create_app
from solo.config import Settings
from solo.federation.context import Federation
from solo.federation.delivery import record_activity
from solo.jobs import Job, enqueue
from solo.store import hosts
from solo.store import server_stats as store
from solo.store.server_stats import Sample
from solo.web import charts
from tests.conftest import initialise_fast, make_settings
from tests.test_login import csrf_from, login

TOKEN = "s3cret-metrics-token-0123456789"
DOWN = "down.test"


class FakeRemote(httpx.AsyncBaseTransport):
    """Every other server: records deliveries and answers 503 for DOWN, 202 for the rest."""

    def __init__(self) -> None:
        self.posts: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.posts.append(str(request.url))
        status = 503 if request.url.host == DOWN else 202
        return httpx.Response(status, stream=httpx.ByteStream(b""))


@pytest.fixture
def remote() -> FakeRemote:
    return FakeRemote()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", metrics_token=TOKEN)


@pytest.fixture
async def app(
    settings: Settings, template_root: Path, remote: FakeRemote
) -> AsyncIterator[Starlette]:
    await initialise_fast(settings, template_root)
    application = create_app(settings, transport=remote)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> httpx.AsyncClient:
    assert (await login(client)).status_code == 303
    return client


def federation_of(app: Starlette) -> Federation:
    federation: Federation = app.state.federation
    return federation


async def later_jobs(federation: Federation, hosts: list[str]) -> list[Job]:
    """Push jobs for real recorded activities, claimed by hand (running) so that the worker
    leaves them alone: the test settles them through the queue's own done/fail/drop."""
    async with federation.db.transaction() as conn:
        ref = await record_activity(
            conn,
            {"id": f"https://solo.test/activities/{time.time_ns()}", "type": "Create"},
        )
        await enqueue(
            conn,
            "push",
            ((({"inbox": f"https://{host}/inbox"}), host) for host in hosts),
            ref=ref,
            at=time.time() + 3600,
        )
    rows = await federation.db.fetchall(
        "SELECT id, payload, host, attempts, created_at, ref FROM jobs WHERE ref = ? ORDER BY id",
        (ref,),
    )
    await federation.db.executemany(
        "UPDATE jobs SET state = 'running' WHERE id = ?", [(row[0],) for row in rows]
    )
    return [
        Job(row[0], "push", {"inbox": f"https://{row[2]}/inbox"}, row[2], row[3], row[4], row[5])
        for row in rows
    ]


def bars(html: str) -> dict[int, dict[str, int]]:
    """The delivery chart's bars by hour, as their data- attributes say."""
    found = {}
    for match in re.finditer(
        r'<g class="bar" data-hour="(\d+)" data-delivered="(\d+)" data-retried="(\d+)"'
        r' data-dead="(\d+)">',
        html,
    ):
        hour, delivered, retried, dead = (int(value) for value in match.groups())
        found[hour] = {"delivered": delivered, "retried": retried, "dead": dead}
    return found


def table_row(html: str, table: str, hour: int) -> list[str]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    row = body.split(f'<tr data-hour="{hour}">', 1)[1].split("</tr>", 1)[0]
    return re.findall(r"<td>([^<]*)</td>", row)


async def test_strangers_are_refused(client: httpx.AsyncClient) -> None:
    page = await client.get("/server")
    assert page.status_code == 303 and page.headers["location"] == "/login"
    assert (await client.get("/server.json")).status_code == 401
    refused = await client.post("/server/hosts/give-up", data={"host": DOWN})
    assert refused.status_code in (303, 403)


async def test_the_delivery_bars_count_the_outcomes_the_queue_recorded(
    app: Starlette, owner: httpx.AsyncClient
) -> None:
    federation = federation_of(app)
    jobs = await later_jobs(federation, ["a.test"] * 4 + ["b.test"] * 3 + ["c.test"] * 2)
    for job in jobs[:4]:
        await federation.push.done(job)
    for job in jobs[4:7]:
        await federation.push.fail(job, "HTTP 502 from https://b.test/inbox")
    for job in jobs[7:]:
        await federation.push.drop(job, "HTTP 410 from https://c.test/inbox")
    await federation.push.flush()
    hour = int(time.time() // 3600 * 3600)

    page = await owner.get("/server")
    assert page.status_code == 200
    drawn = bars(page.text)
    assert len(drawn) == 48 and max(drawn) == hour
    assert drawn[hour] == {"delivered": 4, "retried": 3, "dead": 2}
    assert sum(bar["delivered"] for bar in drawn.values()) == 4
    assert table_row(page.text, "deliveries-table", hour) == ["4", "3", "2"]
    assert "4 delivered, 3 retried, 2 failed" in page.text  # the bar's <title>
    # The queue's rows agree with what the page drew.
    states = dict(
        await federation.db.fetchall(
            "SELECT state, COUNT(*) FROM jobs WHERE queue = 'push' GROUP BY state"
        )
    )
    assert states == {"done": 4, "retrying": 3, "dead": 2}

    # Once sampled, the same counts come from the table, not counted twice.
    await server_stats.sample(federation)
    assert bars((await owner.get("/server")).text)[hour] == drawn[hour]
    stored = await store.samples_since(federation.db, hour)
    assert sum(taken.delivered for taken in stored) == 4
    document = (await owner.get("/server.json")).json()
    assert document["deliveries_per_hour"][-1] == {
        "at": hour,
        "delivered": 4,
        "retried": 3,
        "dead": 2,
    }
    assert document["queues"]["push"] == {"queued": 0, "retrying": 3}


async def test_samples_at_known_hours_draw_their_bars_and_older_ones_are_pruned(
    app: Starlette, owner: httpx.AsyncClient
) -> None:
    federation = federation_of(app)
    now = time.time()
    hour = int(now // 3600 * 3600)
    await store.record(federation.db, Sample(at=hour - 5 * 3600 + 60, delivered=7, retried=2))
    await store.record(federation.db, Sample(at=hour - 5 * 3600 + 120, delivered=1))
    await store.record(federation.db, Sample(at=hour - 47 * 3600, dead=4))
    await store.record(federation.db, Sample(at=hour - 60 * 3600, delivered=100))
    # A second sample for the same minute (a restart) adds to the first.
    await store.record(federation.db, Sample(at=hour - 47 * 3600, dead=1))

    drawn = bars((await owner.get("/server")).text)
    assert drawn[hour - 5 * 3600] == {"delivered": 8, "retried": 2, "dead": 0}
    assert drawn[hour - 47 * 3600] == {"delivered": 0, "retried": 0, "dead": 5}
    assert min(drawn) == hour - 47 * 3600  # 48 hours, the one under way included
    assert sum(bar["delivered"] for bar in drawn.values()) == 8  # 60 h ago is not drawn

    assert await store.prune(federation.db, now) == 1
    oldest = await federation.db.fetchval("SELECT MIN(at) FROM server_samples")
    assert oldest >= now - store.KEPT_SECONDS


async def test_the_sampler_counts_accepted_activities_and_queue_depths(
    app: Starlette, owner: httpx.AsyncClient
) -> None:
    federation = federation_of(app)
    await server_stats.sample(federation)  # where counting starts (start-up took one too)
    async with federation.db.transaction() as conn:
        await enqueue(
            conn,
            "ingress",
            (({"activity": {"type": "Like", "n": n}}, "peer.test") for n in range(5)),
            at=time.time() + 3600,  # still waiting when sampled
        )
    taken = await server_stats.sample(federation)
    assert taken.accepted == 5 and taken.ingress_waiting == 5
    assert taken.rss_bytes is not None and taken.rss_bytes > 10 * 1024 * 1024
    again = await server_stats.sample(federation)
    assert again.accepted == 0  # counted once

    page = await owner.get("/server")
    hour = taken.at // 3600 * 3600
    assert table_row(page.text, "ingress-table", hour)[:2] == ["5", "5"]
    assert '<dd id="ingress-waiting">5</dd>' in page.text
    assert re.search(r'<polyline class="line-accepted" points="[^"]+"', page.text)
    document = (await owner.get("/server.json")).json()
    minutes = {entry["at"]: entry for entry in document["per_minute"]}
    assert minutes[taken.at]["accepted"] == 5
    assert document["queues"]["ingress"]["waiting"] == 5


async def test_retry_now_sends_at_once_and_give_up_marks_the_deliveries_dead(
    app: Starlette, owner: httpx.AsyncClient, remote: FakeRemote
) -> None:
    federation = federation_of(app)
    failing = await later_jobs(federation, [DOWN] * 3 + ["slow.test"] * 2)
    for job in failing:
        await federation.push.fail(job, f"HTTP 503 from https://{job.host}/inbox")
    # DOWN failed on seven days: unavailable, its deliveries would be dropped unsent.
    for day in range(7):
        await hosts.record_failure(federation.db, DOWN, now=time.time() - day * 86400)
    assert await hosts.is_unavailable(federation.db, DOWN)

    page = await owner.get("/server")
    listed = page.text.split('id="hosts"', 1)[1]
    assert f'<li data-host="{DOWN}">' in listed and '<li data-host="slow.test">' in listed
    assert listed.index(DOWN) < listed.index("slow.test")  # most retrying first
    assert "3 waiting for a retry" in listed and f"HTTP 503 from https://{DOWN}/inbox" in listed
    assert "Next retry" in listed and "Unavailable" in listed

    token = csrf_from(page.text)
    response = await owner.post("/server/hosts/retry", data={"csrf": token, "host": DOWN})
    assert response.status_code == 303 and response.headers["location"] == "/server#hosts"
    for _ in range(200):  # the push worker takes them at once: the fake server sees them
        if sum(url == f"https://{DOWN}/inbox" for url in remote.posts) >= 3:
            break
        await asyncio.sleep(0.02)
    assert sum(url == f"https://{DOWN}/inbox" for url in remote.posts) == 3
    for _ in range(200):
        attempts = await federation.db.fetchall(
            "SELECT attempts, state, last_error FROM jobs WHERE host = ?", (DOWN,)
        )
        if all(row[1] == "retrying" and row[0] == 2 for row in attempts):
            break
        await asyncio.sleep(0.02)
    assert [tuple(row) for row in attempts] == [
        (2, "retrying", f"HTTP 503 from https://{DOWN}/inbox")
    ] * 3
    assert not [url for url in remote.posts if "slow.test" in url]  # the other waits
    # Retry now forgot the failure days that made it unavailable (it failed again since).
    assert not await hosts.is_unavailable(federation.db, DOWN)
    # The attempts were timed: DOWN is among the slowest servers.
    page = await owner.get("/server")
    assert page.status_code == 200, page.text[-3000:]
    assert DOWN in page.text.split('id="slowest-table"', 1)[1], page.text.split('id="hosts"')[1]

    page = await owner.get("/server")
    response = await owner.post(
        "/server/hosts/give-up", data={"csrf": csrf_from(page.text), "host": "slow.test"}
    )
    assert response.status_code == 303
    rows = await federation.db.fetchall(
        "SELECT state, last_error FROM jobs WHERE host = 'slow.test'"
    )
    assert [tuple(row) for row in rows] == [("dead", server_stats.GIVEN_UP)] * 2
    page = await owner.get("/server")
    assert "Gave up 2 deliveries to slow.test." in page.text
    assert '<li data-host="slow.test">' not in page.text

    # A server with nothing waiting: a clear answer, nothing changed.
    response = await owner.post(
        "/server/hosts/give-up", data={"csrf": csrf_from(page.text), "host": "nobody.test"}
    )
    assert response.status_code == 404
    assert "No delivery to nobody.test is waiting." in response.text
    token = csrf_from(page.text)
    for field in ("", "x" * 300):
        response = await owner.post("/server/hosts/retry", data={"csrf": token, "host": field})
        assert response.status_code == 422 and "Say which server to retry." in response.text
    # Nothing of slow.test waits for a retry any more (given up): nothing to retry.
    response = await owner.post("/server/hosts/retry", data={"csrf": token, "host": "slow.test"})
    assert response.status_code == 404
    assert "No delivery to slow.test is waiting for a retry." in response.text
    missing_csrf = await owner.post("/server/hosts/retry", data={"host": DOWN})
    assert missing_csrf.status_code == 403
    rows = await federation.db.fetchall("SELECT state FROM jobs WHERE host = 'slow.test'")
    assert [row[0] for row in rows] == ["dead", "dead"]


async def test_metrics_parse_as_prometheus_text_and_match_the_figures(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    federation = federation_of(app)
    jobs = await later_jobs(federation, ["a.test"] * 3 + [DOWN])
    for job in jobs[:3]:
        await federation.push.done(job)
    await federation.push.fail(jobs[3], "HTTP 503")

    assert (await client.get("/metrics")).status_code == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Bearer")
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert samples[("solo_deliveries_total", (("outcome", "delivered"),))] == 3
    assert samples[("solo_deliveries_total", (("outcome", "retried"),))] == 1
    assert samples[("solo_deliveries_total", (("outcome", "dead"),))] == 0
    assert samples[("solo_queue_jobs", (("queue", "push"), ("state", "retrying")))] == 1
    assert samples[("solo_failing_hosts", ())] == 1
    assert samples[("solo_media_cache_budget_bytes", ())] == federation.settings.media_cache_bytes
    database = samples[("solo_database_bytes", ())]
    assert database == server_stats.database_bytes(federation.db.path) or database > 0
    assert samples[("process_resident_memory_bytes", ())] > 10 * 1024 * 1024
    assert samples[("solo_uptime_seconds", ())] >= 0

    # /server.json takes the token too, and says the same.
    document = (
        await client.get("/server.json", headers={"Authorization": f"Bearer {TOKEN}"})
    ).json()
    assert document["totals_since_start"]["delivered"] == 3
    assert document["failing_hosts"][0]["host"] == DOWN


async def test_metrics_answer_404_without_a_token_setting(
    tmp_path: Path, template_root: Path
) -> None:
    settings = make_settings(tmp_path / "plain")
    await initialise_fast(settings, template_root)
    application = create_app(settings)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url=settings.base_url
        ) as http,
    ):
        assert (await http.get("/metrics")).status_code == 404
        anyone = await http.get("/metrics", headers={"Authorization": "Bearer "})
        assert anyone.status_code == 404
        assert (await http.get("/server.json")).status_code == 401
        assert (
            await http.get("/server.json", headers={"Authorization": "Bearer "})
        ).status_code == 401


def test_a_short_metrics_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="metrics_token"):
        make_settings(tmp_path, metrics_token="short")


def test_chart_geometry_scales_stacks_and_leaves_gaps() -> None:
    assert [charts.nice_ceiling(v) for v in (0, 1, 3, 7, 12, 240, 999)] == [
        1,
        1,
        5,
        10,
        20,
        250,
        1000,
    ]
    assert charts.nice_bytes(900 * 1024 * 1024) == 1000 * 1024 * 1024

    # CLDR's units; some languages put a no-break space between number and unit.
    def spaced(text: str) -> str:
        return text.replace("\u00a0", " ").replace("\u202f", " ")

    assert charts.human_bytes(3 * 1024**3) == "3 GB" and charts.human_bytes(1536) == "1.5 kB"
    assert charts.human_bytes(500) == "500 bytes"
    assert spaced(charts.human_bytes(1.5 * 1024**2, "fr")) == "1,5 Mo"
    assert charts.human_duration(3 * 86400 + 4 * 3600) == "3d 4h"
    assert charts.human_duration(3 * 86400 + 4 * 3600, "fr") == "3j 4h"
    assert charts.human_duration(12 * 60 + 5, "de") == "12 Min."
    chart = charts.stacked_bars(
        [("a", {"delivered": 6, "retried": 3, "dead": 1}), ("b", {})],
        ["delivered", "retried", "dead"],
    )
    assert chart.top == 10 and chart.width == 20
    first, empty = chart.bars
    assert [(s.kind, s.y, s.height) for s in first.segments] == [
        ("delivered", 40.0, 60.0),
        ("retried", 10.0, 30.0),
        ("dead", 0.0, 10.0),
    ]
    assert empty.segments == []
    drawn = charts.lines({"accepted": [1, 2, None, 4]})
    assert drawn.top == 5  # the round value above 4
    assert [line.points for line in drawn.lines] == ["5,80 15,60", "35,20"]


async def test_the_counts_of_the_minute_under_way_survive_a_restart(
    settings: Settings, template_root: Path, remote: FakeRemote
) -> None:
    await initialise_fast(settings, template_root)
    for _ in range(2):
        application = create_app(settings, transport=remote)
        async with application.router.lifespan_context(application):
            federation = federation_of(application)
            (job,) = await later_jobs(federation, ["a.test"])
            await federation.push.done(job)
    application = create_app(settings, transport=remote)
    async with application.router.lifespan_context(application):
        federation = federation_of(application)
        stored = await store.samples_since(federation.db, time.time() - 3600)
        assert sum(taken.delivered for taken in stored) == 2
        figures = await server_stats.figures(federation)
        assert sum(bar.delivered for bar in figures.hours) == 2


async def test_idle_minutes_wait_in_memory_and_are_written_together(
    settings: Settings, template_root: Path, remote: FakeRemote
) -> None:
    """An idle server writes its samples a quarter-hour at a time (the SD card), shows them
    meanwhile, and writes what waits when it stops."""
    await initialise_fast(settings, template_root)
    application = create_app(settings, transport=remote)
    async with application.router.lifespan_context(application):
        federation = federation_of(application)
        start = (time.time() // 60 - 100) * 60  # whole minutes, none of them the present one
        await server_stats.sample(federation, start)

        async def stored() -> int:
            return int(
                await federation.db.fetchval(
                    "SELECT COUNT(*) FROM server_samples WHERE at >= ? AND at < ?",
                    (int(start) - 60, int(start) + 60 * 20),
                )
            )

        written = await stored()
        for minute in range(1, server_stats.IDLE_WRITTEN_TOGETHER):
            await server_stats.sample(federation, start + 60 * minute)
        assert await stored() == written  # fourteen idle minutes: nothing written yet
        figures = await server_stats.figures(federation)
        shown = {taken.at for taken in figures.minutes}
        assert {int(start + 60 * (m - 1)) for m in range(1, 15)} <= shown
        await server_stats.sample(federation, start + 60 * server_stats.IDLE_WRITTEN_TOGETHER)
        assert await stored() == written + server_stats.IDLE_WRITTEN_TOGETHER  # all at once

        # A minute with something to tell is written at once, with the idle ones before it.
        await server_stats.sample(federation, start + 60 * 16)
        (job,) = await later_jobs(federation, ["a.test"])
        await federation.push.done(job)
        await server_stats.sample(federation, start + 60 * 17)
        assert await stored() == written + server_stats.IDLE_WRITTEN_TOGETHER + 2
        await server_stats.sample(federation, start + 60 * 18)  # idle again: waits
        assert await stored() == written + server_stats.IDLE_WRITTEN_TOGETHER + 2
    check = create_app(settings, transport=remote)
    async with check.router.lifespan_context(check):
        rows = await federation_of(check).db.fetchall(
            "SELECT at, delivered FROM server_samples WHERE at >= ? AND at < ? ORDER BY at",
            (int(start) - 60, int(start) + 60 * 20),
        )
        ats = [row[0] for row in rows]
        assert int(start + 60 * 17) in ats  # the waiting minute was written at shutdown
        assert sum(row[1] for row in rows) == 1
