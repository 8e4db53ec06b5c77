"""The streams of the client API: which event goes to which open connection, rendered once.

A `Relay` (one per app, `relay_of(connection)`) reads the in-process event bus for as long as
any client listens, turns each event into Mastodon's entity once per kind of viewer (the user,
or an anonymous reader of a public stream) and hands the message to every `Listener` subscribed
to a stream it belongs to:

    user               home timeline updates, notifications, deletes, edits
    user:notification  notifications only (both also get `notifications_merged` when an
                       accepted notification request moves held-back ones into the list)
    public             public posts (no boosts), ours and remote; public:local, public:remote
    hashtag            public posts with the tag; hashtag:local, ours only
    direct             `conversation`: a conversation that got a new direct message
    list               posts entering one list's timeline (`list` = its id)

Visibility comes from the timelines themselves (`solo.feeds` publishes an `update` only for a
post entering a timeline, after its rules): a followers-only post never enters the public ones.
Every listener has a bounded queue: one that fills up is dropped, not waited for, so a stalled
client costs the others nothing; the endpoints (`solo.api.streaming`) then close its
connection. The number of listeners is capped too, with USER_RESERVE of them kept for the
user's own tokens, so that anonymous readers of public streams cannot lock the owner out.

A token revoked while its stream is open stops it within RECHECK seconds: the endpoints ask
`Relay.check` before each message and at least that often while idle, and close the connection
when the token is gone (Revoked).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Final

from starlette.requests import HTTPConnection

from solo import hashtags
from solo.api.auth import Caller
from solo.api.conversations import render_conversations
from solo.api.errors import InvalidToken, OutsideScopes, ValidationFailed
from solo.api.filters import hidden_entity
from solo.api.ids import id_of
from solo.api.notifications import render_notifications
from solo.api.status_entities import render_statuses
from solo.errors import SoloError, TooManyRequests
from solo.events import Event
from solo.federation.context import Federation, federation_of
from solo.store import conversations as conversation_store
from solo.store import oauth as oauth_store
from solo.store import suppression

log = logging.getLogger(__name__)

QUEUE_SIZE: Final = 100  # messages a listener may have waiting before it is dropped
MAX_LISTENERS: Final = 256  # open streaming connections, all kinds together
USER_RESERVE: Final = 16  # of those, the ones only a user token may open
RECHECK: Final = 15.0  # seconds between two checks that an open stream's token is still valid
USER_STREAMS: Final = frozenset({"user", "user:notification"})
TAG_STREAMS: Final = frozenset({"hashtag", "hashtag:local"})
NAMES: Final = frozenset(
    {
        "user",
        "user:notification",
        "direct",
        "public",
        "public:local",
        "public:remote",
        "list",
        *TAG_STREAMS,
    }
)
# The scope a token needs to read each stream (public ones: any valid token, or none).
SCOPES: Final = {
    "user": "read:statuses",
    "user:notification": "read:notifications",
    "direct": "read:statuses",
    "list": "read:lists",
}
# Streams that need to know whether a post is ours.
_LOCALITY: Final = frozenset({"public:local", "public:remote", "hashtag:local"})
_STATE: Final = "solo_api_relay"


@dataclass(frozen=True)
class Stream:
    """One stream a listener subscribes to; `tag` (lower case) for the hashtag streams, the
    list's id for the list stream."""

    name: str
    tag: str | None = None

    @property
    def label(self) -> list[str]:
        """What messages name it by: `["user"]`, `["hashtag", "cats"]`."""
        return [self.name] if self.tag is None else [self.name, self.tag]


def stream(name: str, tag: str | None = None) -> Stream:
    """The stream a client asked for by name; ValidationFailed for an unknown one or a hashtag
    stream without its tag."""
    if name not in NAMES:
        raise ValidationFailed("stream", "is not a known stream")
    if name == "list":
        if id_of(tag or "") is None:
            raise ValidationFailed("list", "must be the id of one of your lists")
        return Stream(name, str(id_of(tag or "")))
    if name in TAG_STREAMS:
        if not (tag or "").strip():
            raise ValidationFailed("tag", "is missing")
        # The rule of the tag pages and of what posts carry: else it could never match.
        parsed = hashtags.parse(tag or "")
        if parsed is None:
            raise ValidationFailed("tag", "is not a hashtag (letters, digits and underscores)")
        return Stream(name, parsed)
    return Stream(name)


def authorize(target: Stream, caller: Caller | None) -> None:
    """Refuse a stream the caller may not read: InvalidToken without a user token on a user
    stream, OutsideScopes for a token lacking the stream's scope."""
    needed = SCOPES.get(target.name)
    if needed is None:
        if caller is not None and not caller.allows("read:statuses"):
            raise OutsideScopes()
        return
    if caller is None or not caller.user:
        raise InvalidToken()
    if not caller.allows(needed):
        raise OutsideScopes()


class Message:
    """One event on one stream, written out as each transport wants it."""

    def __init__(self, event: str, stream: Stream, payload: str) -> None:
        self.event = event
        self.stream = stream
        self.payload = payload  # a JSON document, or a bare id for `delete`

    @cached_property
    def websocket_text(self) -> str:
        return json.dumps(
            {"stream": self.stream.label, "event": self.event, "payload": self.payload},
            ensure_ascii=False,
        )

    @cached_property
    def sse_text(self) -> str:
        return f"event: {self.event}\ndata: {self.payload}\n\n"


class Dropped(SoloError):
    """The listener fell QUEUE_SIZE messages behind and was let go."""


class Revoked(Dropped):
    """The listener's token was revoked (or its app's access taken back) while it listened."""


class Listener:
    """One connection's subscriptions and the messages waiting for it."""

    def __init__(self, caller: Caller | None, queue_size: int = QUEUE_SIZE) -> None:
        self.caller = caller
        self.streams: set[Stream] = set()
        self._queue: asyncio.Queue[Message] = asyncio.Queue(queue_size)
        self.dropped = False
        self.checked_at = time.monotonic()

    @property
    def viewer(self) -> Caller | None:
        """Whom entities are rendered for: the user, or nobody (an app token reads as anyone)."""
        return self.caller if self.caller is not None and self.caller.user else None

    def offer(self, message: Message) -> bool:
        """Queue without waiting; False (and dropped from now on) when the queue is full."""
        if self.dropped:
            return False
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped = True
            return False
        return True

    async def next(self) -> Message:
        """The next message; Dropped once the listener fell behind (a full queue means nobody
        was waiting here, so checking before waiting is enough)."""
        if self.dropped:
            raise Dropped()
        return await self._queue.get()


class Relay:
    def __init__(
        self,
        federation: Federation,
        *,
        queue_size: int = QUEUE_SIZE,
        max_listeners: int = MAX_LISTENERS,
        recheck: float = RECHECK,
    ) -> None:
        self.federation = federation
        self.queue_size = queue_size
        self.max_listeners = max_listeners
        self.recheck = recheck
        self.listeners: set[Listener] = set()
        self._task: asyncio.Task[None] | None = None

    def join(self, caller: Caller | None) -> Listener:
        """A new listener, reading the bus from now on; TooManyRequests past the cap (for
        anyone but the user, past the cap less USER_RESERVE)."""
        cap = self.max_listeners
        if caller is None or not caller.user:
            cap -= min(USER_RESERVE, self.max_listeners // 2)
        if len(self.listeners) >= cap:
            raise TooManyRequests("Too many open streams", 30)
        listener = Listener(caller, self.queue_size)
        self.listeners.add(listener)
        if self._task is None:
            # Subscribed here, before the first message could be missed.
            queue = self.federation.events.subscribe()
            self._task = asyncio.create_task(self._run(queue), name="solo-api-streams")
        return listener

    async def check(self, listener: Listener) -> None:
        """Revoked when the listener's token was revoked since it was last checked (at most
        once every `recheck` seconds)."""
        if listener.caller is None:
            return
        now = time.monotonic()
        if now - listener.checked_at < self.recheck:
            return
        listener.checked_at = now
        if not await oauth_store.token_is_live(self.federation.db, listener.caller.token.id):
            listener.dropped = True
            raise Revoked()

    def leave(self, listener: Listener) -> None:
        self.listeners.discard(listener)
        if not self.listeners and self._task is not None:
            # Nobody listens: nothing to render, no task left running.
            self._task.cancel()
            self._task = None

    async def _run(self, queue: asyncio.Queue[Event]) -> None:
        try:
            while True:
                event = await queue.get()
                try:
                    await self.dispatch(event)
                except Exception:
                    log.exception("streaming: could not send %s", event)
        finally:
            self.federation.events.unsubscribe(queue)

    async def dispatch(self, event: Event) -> None:
        """Send one bus event to every listener it is for."""
        if event.kind == "update" or event.kind == "status.update":
            await self._status(event, int(event.payload["status_id"]))
        elif event.kind == "delete":
            self._delete(event)
        elif event.kind == "notification":
            await self._notification(int(event.payload["id"]))
        elif event.kind == "conversation":
            await self._conversation(int(event.payload["id"]), int(event.payload["status_id"]))
        elif event.kind == "notifications_merged":
            # Mastodon's payload is the string "1": held-back notifications joined the list.
            self._send(self._subscribed(USER_STREAMS), "notifications_merged", "1")

    def _subscribed(self, names: Iterable[str]) -> list[tuple[Listener, Stream]]:
        wanted = frozenset(names)
        return [
            (listener, subscription)
            for listener in list(self.listeners)
            for subscription in listener.streams
            if subscription.name in wanted
        ]

    def _send(self, targets: list[tuple[Listener, Stream]], event: str, payload: str) -> None:
        self._deliver([(listener, target, payload) for listener, target in targets], event)

    def _deliver(self, targets: list[tuple[Listener, Stream, str]], event: str) -> None:
        """Queue each (listener, stream, payload); one Message per distinct stream and payload,
        so that a hundred listeners share one encoding."""
        messages: dict[tuple[Stream, int], Message] = {}
        for listener, target, payload in targets:
            key = (target, id(payload))
            message = messages.get(key)
            if message is None:
                message = messages[key] = Message(event, target, payload)
            if not listener.offer(message):
                self.leave(listener)

    async def _status(self, event: Event, status_id: int) -> None:
        """An `update` (a post entering a timeline) or a `status.update` (an edit)."""
        edit = event.kind == "status.update"
        if edit and await suppression.hidden_posts(self.federation.db, [status_id]):
            return  # an edit by an account we block or mute: the timelines never showed it
        if edit:
            names = {"user", "public", "public:local", "public:remote", *TAG_STREAMS}
        elif event.stream == "user":
            names = {"user"}
        elif event.stream == "public":
            names = {"public", "public:remote", "hashtag"}
        elif event.stream == "public:local":
            names = {"public:local", "hashtag:local"}
        elif event.stream.startswith("list:"):
            names = {"list"}
        else:
            return
        targets = self._subscribed(names)
        if "list" in names:
            wanted = event.stream.removeprefix("list:")
            targets = [(listener, target) for listener, target in targets if target.tag == wanted]
        if not targets:
            return
        rendered: dict[bool, tuple[dict[str, Any], str] | None] = {}
        local = None
        if any(target.name in _LOCALITY for _, target in targets):
            local = await self._is_local(status_id)
        ready: list[tuple[Listener, Stream, str]] = []
        for listener, target in targets:
            viewer = listener.viewer
            key = viewer is not None
            if key not in rendered:
                rendered[key] = await self._render_status(status_id, viewer)
            found = rendered[key]
            if found is None:
                continue
            status, text = found
            # Lists take the filters of home, as Mastodon's do.
            context = "home" if target.name in ("user", "list") else "public"
            if viewer is not None and hidden_entity(status, context):
                continue  # a hide filter: not sent (a warn one is, with `filtered`)
            if target.name in ("user", "list") or _belongs(target, event, status, local):
                ready.append((listener, target, text))
        self._deliver(ready, event.kind)

    async def _render_status(
        self, status_id: int, viewer: Caller | None
    ) -> tuple[dict[str, Any], str] | None:
        statuses = await render_statuses(self.federation, [status_id], viewer)
        if not statuses:
            return None
        return statuses[0], json.dumps(statuses[0], ensure_ascii=False)

    async def _is_local(self, status_id: int) -> bool | None:
        row = await self.federation.db.fetchone(
            "SELECT actor_id IS NULL FROM statuses WHERE id = ?", (status_id,)
        )
        return None if row is None else bool(row[0])

    def _delete(self, event: Event) -> None:
        """Deletes go to the user stream, and to the public ones when the post was in a public
        timeline (the row is gone by now; `solo.feeds` says which timelines held it)."""
        shown = set(event.payload.get("timelines", ()))
        names = {"user", "list"}  # an id a list never showed is ignored by clients
        if "federated" in shown:
            names |= {"public", "hashtag"}
            if "local" not in shown:
                names.add("public:remote")
        if "local" in shown:
            names |= {"public:local", "hashtag:local"}
        self._send(self._subscribed(names), "delete", str(event.payload["status_id"]))

    async def _notification(self, notification_id: int) -> None:
        targets = self._subscribed(USER_STREAMS)
        viewer = next((listener.viewer for listener, _ in targets if listener.viewer), None)
        if viewer is None:
            return
        rendered = await render_notifications(self.federation, [notification_id], viewer)
        if rendered:
            self._send(targets, "notification", json.dumps(rendered[0], ensure_ascii=False))

    async def _conversation(self, conversation_id: int, status_id: int) -> None:
        """A conversation with a new message: sent unless that message is held back (then the
        conversation's last message is an older one)."""
        targets = self._subscribed({"direct"})
        viewer = next((listener.viewer for listener, _ in targets if listener.viewer), None)
        if viewer is None:
            return
        found = await conversation_store.get(self.federation.db, conversation_id)
        if found is None or found.last_status_id != status_id:
            return
        rendered = await render_conversations(self.federation, [found], viewer)
        if rendered:
            self._send(targets, "conversation", json.dumps(rendered[0], ensure_ascii=False))


def _belongs(target: Stream, event: Event, status: dict[str, Any], local: bool | None) -> bool:
    """Whether a status goes to a public or hashtag stream. An `update` arrives already sorted
    by timeline (public or public:local); an edit is checked against the entity itself."""
    if event.kind == "status.update":
        if status.get("visibility") != "public" or status.get("reblog") is not None:
            return False
        if target.name in ("public:local", "hashtag:local") and local is not True:
            return False
    if target.name == "public:remote" and local is not False:
        return False
    if target.tag is not None:
        tags = {hashtags.normalise(str(tag.get("name", ""))) for tag in status.get("tags") or ()}
        return target.tag in tags
    return True


def relay_of(connection: HTTPConnection) -> Relay:
    """The app's relay, made on first use (it runs only while someone listens)."""
    state = connection.app.state
    relay = getattr(state, _STATE, None)
    if not isinstance(relay, Relay):
        relay = Relay(federation_of(connection))
        setattr(state, _STATE, relay)
    return relay
