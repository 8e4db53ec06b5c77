"""What the federation code shares at run time: one object built by the lifespan."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from solo.config import Settings
from solo.db import Database
from solo.events import EventBus
from solo.federation.delivery_times import DeliveryTimes
from solo.federation.resolver import Resolver
from solo.federation.signatures import HTTPSignatureAuth
from solo.feeds import Feeds
from solo.ids import IdGenerator
from solo.instance import Instance
from solo.jobs import JobQueue
from solo.media.cache import MediaCache
from solo.media.storage import Storage
from solo.net.fetch import Fetcher


@dataclass(frozen=True)
class Federation:
    instance: Instance
    fetcher: Fetcher
    resolver: Resolver
    push: JobQueue  # deliveries
    ingress: JobQueue  # accepted incoming activities
    user_auth: HTTPSignatureAuth  # signs our deliveries, as the user
    ids: IdGenerator  # time-sortable ids for our statuses and activities
    feeds: Feeds  # the timelines in memory, told of every change after it commits
    events: EventBus  # what the streams send
    media: MediaCache  # remote files shown through /proxy/, kept on our disk
    webpush: JobQueue  # Web Push messages to the user's browsers and apps
    # How fast each server answers our deliveries (the Server page's slowest hosts).
    delivery_times: DeliveryTimes = field(default_factory=DeliveryTimes)

    @property
    def storage(self) -> Storage:
        """Where our uploads and the cached remote files are kept."""
        return self.media.storage

    @property
    def db(self) -> Database:
        return self.instance.db

    @property
    def settings(self) -> Settings:
        return self.instance.settings


def federation_of(connection: HTTPConnection) -> Federation:
    federation: Federation = connection.app.state.federation
    return federation
