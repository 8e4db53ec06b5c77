"""Starting and stopping federation: the fetcher, the resolver and the two workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from solo import urls
from solo.events import EventBus
from solo.federation.context import Federation
from solo.federation.delivery import Deliverer
from solo.federation.fetch import Fetcher
from solo.federation.ingress import Ingress
from solo.federation.resolver import Resolver
from solo.federation.signatures import HTTPSignatureAuth
from solo.feeds import Feeds
from solo.ids import IdGenerator
from solo.instance import Instance
from solo.jobs import JobQueue, run_worker

PUSH_CONCURRENCY = 32
PUSH_PER_HOST = 4
INGRESS_CONCURRENCY = 4


@asynccontextmanager
async def federation(
    instance: Instance, *, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[Federation]:
    """Federation for the lifespan of the app: workers run until the block exits."""
    fetcher = Fetcher(instance.settings, transport=transport)
    await fetcher.open()
    settings = instance.settings
    events = EventBus()
    feeds = Feeds(instance.db, events)
    await feeds.rebuild()
    built = Federation(
        instance=instance,
        fetcher=fetcher,
        resolver=Resolver(instance, fetcher),
        push=JobQueue(instance.db, "push"),
        ingress=JobQueue(instance.db, "ingress"),
        user_auth=HTTPSignatureAuth(urls.key_id(settings), instance.user_keys.private_key()),
        ids=IdGenerator(),
        feeds=feeds,
        events=events,
    )
    workers = [
        asyncio.create_task(
            run_worker(
                built.push, Deliverer(built), concurrency=PUSH_CONCURRENCY, per_host=PUSH_PER_HOST
            ),
            name="solo-push",
        ),
        asyncio.create_task(
            run_worker(
                built.ingress,
                Ingress(built),
                concurrency=INGRESS_CONCURRENCY,
                per_host=INGRESS_CONCURRENCY,
            ),
            name="solo-ingress",
        ),
    ]
    try:
        yield built
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await fetcher.aclose()
