"""The ingress worker: applies each accepted incoming activity through its type's handler."""

from __future__ import annotations

import asyncio
import sqlite3
import time

from solo.activitystreams import id_of
from solo.federation.context import Federation
from solo.federation.handlers import Handler, Ignored
from solo.federation.handlers.accept import on_accept, on_reject
from solo.federation.handlers.announce import on_announce
from solo.federation.handlers.block import on_block
from solo.federation.handlers.create import on_create
from solo.federation.handlers.delete import on_delete
from solo.federation.handlers.flag import on_flag
from solo.federation.handlers.follow import on_follow
from solo.federation.handlers.like import on_emoji_react, on_like
from solo.federation.handlers.move import on_move
from solo.federation.handlers.undo import on_undo
from solo.federation.handlers.update import on_update
from solo.federation.notes import first
from solo.federation.remote_actors import same_origin
from solo.federation.resolver import ResolveError
from solo.federation.traffic import traffic_of
from solo.jobs import Job
from solo.net.fetch import FetchError
from solo.store import refusals

HANDLERS: dict[str, Handler] = {
    "Follow": on_follow,
    "Accept": on_accept,
    "Reject": on_reject,
    "Undo": on_undo,
    "Create": on_create,
    "Update": on_update,
    "Delete": on_delete,
    "Announce": on_announce,
    "Like": on_like,
    "EmojiReact": on_emoji_react,
    "Block": on_block,
    "Flag": on_flag,
    "Move": on_move,
}


# Types whose handlers only read and write the database (no fetch, no backfill): these are
# applied many to a transaction (`apply_batch`), since holding the writer is then brief. So is
# an Announce of one of our own posts (`batchable`).
BATCHED = frozenset({"Like", "EmojiReact", "Undo"})
BATCH_SIZE = 100  # jobs per transaction: one commit each; the inbox's writes wait that long
BUSY_BATCH_SIZE = 16  # ... while the inbox is busy: a shorter wait for its writes
# A batch runs on the event loop's thread and lets requests in this often (a turn of the loop
# after every job cost a tenth of each job's time, in its poll for sockets).
YIELD_EVERY = 0.002  # seconds


def batchable(job: Job, base_url: str) -> bool:
    """Whether the job's handler needs nothing but the database. A boost of a post on our
    own host is one: such a post is never fetched (`announce.shared_post`)."""
    activity = job.payload.get("activity")
    if not isinstance(activity, dict):
        return False
    kind = activity.get("type")
    if kind in BATCHED:
        return True
    if kind != "Announce":
        return False
    object_id = id_of(first(activity.get("object")))
    return object_id is not None and same_origin(object_id, base_url)


class Ingress:
    """The ingress queue's job handler."""

    def __init__(self, federation: Federation) -> None:
        self.federation = federation

    async def __call__(self, job: Job) -> None:
        queue = self.federation.ingress
        activity = job.payload.get("activity")
        actor_id = job.payload.get("actor")
        if not isinstance(activity, dict) or not isinstance(actor_id, str):
            await queue.drop(job, "malformed ingress job")
            return
        kind = str(activity.get("type"))
        handler = HANDLERS.get(kind)
        if handler is None:
            await self._ignore(job, actor_id, kind, f"{kind} is not handled")
            return
        actor = await self.federation.resolver.stored_actor(actor_id)
        if actor is None:
            await self._ignore(job, actor_id, kind, f"{actor_id} is gone")
            return
        try:
            await handler(self.federation, activity, actor)
        except Ignored as reason:
            await self._ignore(job, actor_id, kind, f"ignored: {reason}")
        except (FetchError, ResolveError) as error:
            # A server that is down may come back; a refused address or a forged id never will.
            if error.temporary:
                await queue.fail(job, str(error))
            else:
                await self._ignore(job, actor_id, kind, str(error))
        else:
            await queue.done(job)
            if not self.federation.db.in_batch():
                # A handler may have queued answers (an Accept, a Reject).
                self.federation.push.wake.set()

    async def apply_batch(self, jobs: list[Job]) -> list[Job]:
        """Apply the `BATCHED` jobs among `jobs`, many to a transaction; returns the others.

        Each job runs in its own savepoint and is marked done (or dropped, or failed) in the
        same transaction as its effects, so a crash leaves each either applied and done or not
        applied and still claimed (requeued at the next start); a job whose handler raises is
        undone alone and retried later. Feeds and streams hear of a batch after its commit.
        If a commit itself fails, every job not yet committed is left to run alone.

        While the inbox is busy, the transactions are smaller and the worker stands aside
        between them (`solo.federation.traffic`): accepting goes first.
        """
        base_url = self.federation.settings.base_url
        batched = [job for job in jobs if batchable(job, base_url)]
        rest = [job for job in jobs if not batchable(job, base_url)]
        traffic = traffic_of(self.federation)
        while batched:
            size = BUSY_BATCH_SIZE if traffic.busy() else len(batched)
            chunk, batched = batched[:size], batched[size:]
            try:
                worked = await self._apply_together(chunk)
            except sqlite3.Error:
                return chunk + batched + rest  # one by one, each in its own transaction
            self.federation.push.wake.set()  # answers and pushes the batch queued
            pause = traffic.pause_after(worked)
            if pause:
                await asyncio.sleep(pause)
        return rest

    async def _apply_together(self, jobs: list[Job]) -> float:
        """`jobs` in one transaction; the seconds spent applying them (not waiting)."""
        db = self.federation.db
        worked = 0.0
        yielded = time.perf_counter()
        async with db.batch() as batch:
            for job in jobs:
                mark = batch.mark()
                began = time.perf_counter()
                try:
                    async with db.transaction():  # a savepoint: this job's effects
                        await self(job)
                except Exception as error:  # a handler bug: undone and retried, alone
                    if not batch.alive:
                        raise  # SQLite gave up the transaction: the batch fails
                    batch.forget_since(mark)
                    await self.federation.ingress.fail(job, f"internal error: {error!r}")
                ended = time.perf_counter()
                worked += ended - began
                # The batch's statements run on the event loop's thread (`Database.batch`):
                # let requests in between jobs (to be read and verified; they write after).
                if ended - yielded >= YIELD_EVERY:
                    await asyncio.sleep(0)
                    yielded = time.perf_counter()
        return worked

    async def _ignore(self, job: Job, actor_id: str, kind: str, reason: str) -> None:
        """Keep why among the recent refusals `solo queue` shows, then drop the job (in that
        order: once the job reads as dead, its reason is there to read)."""
        await refusals.record(self.federation.db, actor_id, kind, reason)
        await self.federation.ingress.drop(job, reason)
