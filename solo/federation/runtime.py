"""Starting and stopping federation: the fetcher, the poster, the resolver, the media cache and
the two workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from solo import urls
from solo.events import EventBus
from solo.federation import backfill, cards, poll_tasks, verify_links
from solo.federation.batch_signing import BatchSigner
from solo.federation.context import Federation
from solo.federation.delivery import Deliverer
from solo.federation.ingress import BATCH_SIZE, Ingress
from solo.federation.poster import Poster, Sender
from solo.federation.push_sender import PushSender
from solo.federation.resolver import Resolver
from solo.federation.signatures import HTTPSignatureAuth
from solo.feeds import Feeds
from solo.ids import IdGenerator
from solo.instance import Instance
from solo.jobs import JobQueue, run_worker
from solo.media.cache import MediaCache
from solo.media.proxy import MediaProxy
from solo.media.storage import open_storage
from solo.net.fetch import Fetcher
from solo.store import domain_blocks, hosts, search

# Deliveries mostly wait on the network: with servers answering after 200 ms, 128 at once cap
# a fan-out at 640 inboxes/s (10,000 servers in 16 s); 512 let it run at what the CPU allows.
# Each waiting delivery is a socket and a small task: a few KB.
PUSH_CONCURRENCY = 512
PUSH_PER_HOST = 4
INGRESS_CONCURRENCY = 4
WEBPUSH_CONCURRENCY = 4  # one user's notifications to a few devices


@asynccontextmanager
async def federation(
    instance: Instance, *, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[Federation]:
    """Federation for the lifespan of the app: workers run until the block exits.

    With a `transport` (tests), deliveries go through the fetcher and so through it too.
    """
    blocked = await domain_blocks.watch(instance.db)
    fetcher = Fetcher(instance.settings, transport=transport, blocked=blocked.covers)
    await fetcher.open()
    settings = instance.settings
    # One pair of signing threads for every signature made off the loop: deliveries and key fetches.
    signer = BatchSigner(process=None if settings.signing_process else False)
    poster = Poster(settings, ssl_context=fetcher.tls, signer=signer) if transport is None else None
    sender: Sender = poster if poster is not None else fetcher
    await hosts.watch_health(instance.db)
    events = EventBus()
    feeds = Feeds(instance.db, events)
    await feeds.rebuild()
    await feeds.watch()
    built = Federation(
        instance=instance,
        fetcher=fetcher,
        resolver=Resolver(instance, fetcher, signer=signer),
        push=JobQueue(instance.db, "push"),
        ingress=JobQueue(instance.db, "ingress"),
        user_auth=HTTPSignatureAuth(urls.key_id(settings), instance.user_keys),
        ids=IdGenerator(),
        feeds=feeds,
        events=events,
        media=MediaCache(
            settings,
            instance.db,
            open_storage(settings),
            fetcher,
            MediaProxy.of(instance.session_secret),
        ),
        webpush=JobQueue(instance.db, "webpush"),
    )
    feeds.notification_wakes.append(built.webpush.wake)
    ingress = Ingress(built)
    workers = [
        asyncio.create_task(
            run_worker(
                built.push,
                Deliverer(built, sender),
                concurrency=PUSH_CONCURRENCY,
                per_host=PUSH_PER_HOST,
            ),
            name="solo-push",
        ),
        asyncio.create_task(
            run_worker(
                built.ingress,
                ingress,
                concurrency=INGRESS_CONCURRENCY,
                per_host=INGRESS_CONCURRENCY,
                batch=ingress.apply_batch,
                batch_size=BATCH_SIZE,
            ),
            name="solo-ingress",
        ),
        asyncio.create_task(
            run_worker(
                built.webpush,
                PushSender(built),
                concurrency=WEBPUSH_CONCURRENCY,
                per_host=WEBPUSH_CONCURRENCY,
            ),
            name="solo-webpush",
        ),
    ]
    poll_tasks.start_scheduler(built)  # tells when polls end
    # Posts stored before the search index are indexed in the background, newest first.
    workers.append(asyncio.create_task(search.build_index(instance.db), name="solo-search-index"))
    try:
        yield built
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await backfill.shutdown(built)
        await cards.shutdown(built)
        await poll_tasks.shutdown(built)
        await verify_links.shutdown(built)
        await built.media.aclose()
        await feeds.aclose()
        if poster is not None:
            await poster.aclose()
        await fetcher.aclose()
        await signer.aclose()
