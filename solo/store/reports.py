"""Reports, both ways: ours about remote accounts ('out'), and other servers' about us ('in').

A report sent on (`forwarded`) names the activity delivered as its Flag; where that delivery
stands is read from the push queue (`delivery_states`), not copied here.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import aiosqlite

from solo.db import Database

Direction = Literal["in", "out"]
CATEGORIES: Final = ("spam", "legal", "violation", "other")
# Where a forwarded report's Flag stands, from its push job (a finished job is pruned after a
# day, and a job that is not there any more was delivered).
Delivery = Literal["kept", "sending", "delivered", "failed"]


@dataclass(frozen=True)
class Report:
    id: int
    direction: Direction
    actor_id: int  # 'out': the account reported; 'in': who sent the report
    ap_id: str | None
    comment: str
    category: str
    rule_ids: tuple[str, ...]
    status_ids: tuple[int, ...]
    forwarded: bool
    activity_ref: int | None
    notification_id: int | None
    created_at: float


@dataclass(frozen=True)
class NewReport:
    direction: Direction
    actor_id: int
    comment: str
    category: str = "other"
    status_ids: Sequence[int] = ()
    rule_ids: Sequence[str] = ()
    ap_id: str | None = None
    forwarded: bool = False
    activity_ref: int | None = None


def _report(row: sqlite3.Row) -> Report:
    return Report(
        id=row["id"],
        direction=row["direction"],
        actor_id=row["actor_id"],
        ap_id=row["ap_id"],
        comment=row["comment"],
        category=row["category"],
        rule_ids=tuple(str(i) for i in json.loads(row["rule_ids_json"])),
        status_ids=tuple(int(i) for i in json.loads(row["status_ids_json"])),
        forwarded=bool(row["forwarded"]),
        activity_ref=row["activity_ref"],
        notification_id=row["notification_id"],
        created_at=row["created_at"],
    )


async def add(conn: aiosqlite.Connection, report: NewReport) -> int | None:
    """Store a report; None when one with the same `ap_id` is already here (a Flag twice)."""
    async with conn.execute(
        "INSERT OR IGNORE INTO reports (direction, actor_id, ap_id, comment, category,"
        " rule_ids_json, status_ids_json, forwarded, activity_ref, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (
            report.direction,
            report.actor_id,
            report.ap_id,
            report.comment,
            report.category,
            json.dumps(list(report.rule_ids)),
            json.dumps([int(i) for i in report.status_ids]),
            int(report.forwarded),
            report.activity_ref,
            time.time(),
        ),
    ) as cursor:
        row = await cursor.fetchone()
    return None if row is None else int(row[0])


async def set_notification(
    conn: aiosqlite.Connection, report_id: int, notification_id: int
) -> None:
    await conn.execute(
        "UPDATE reports SET notification_id = ? WHERE id = ?", (notification_id, report_id)
    )


async def get_report(db: Database, report_id: int) -> Report | None:
    row = await db.fetchone("SELECT * FROM reports WHERE id = ?", (report_id,))
    return None if row is None else _report(row)


async def reports_page(
    db: Database, direction: Direction, *, max_id: int | None, limit: int
) -> list[Report]:
    """Reports one way, newest first, older than `max_id` when given."""
    rows = await db.fetchall(
        "SELECT * FROM reports WHERE direction = ? AND (? IS NULL OR id < ?)"
        " ORDER BY id DESC LIMIT ?",
        (direction, max_id, max_id, limit),
    )
    return [_report(row) for row in rows]


async def by_notifications(db: Database, notification_ids: Iterable[int]) -> dict[int, Report]:
    """The reports that brought these notifications, by notification id, in ONE query."""
    rows = await db.fetchall(
        "SELECT * FROM reports WHERE notification_id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted({int(i) for i in notification_ids})),),
    )
    return {row["notification_id"]: _report(row) for row in rows}


async def received_since(db: Database, domain: str, since: float) -> int:
    """How many reports the servers of `domain` sent us since `since` (the rate limit)."""
    count = await db.fetchval(
        "SELECT COUNT(*) FROM reports JOIN actors ON actors.id = reports.actor_id"
        " WHERE reports.direction = 'in' AND actors.domain = ? AND reports.created_at > ?",
        (domain, since),
    )
    return int(count or 0)


async def delivery_states(db: Database, reports: Sequence[Report]) -> dict[int, Delivery]:
    """Where each report stands: kept here, or its Flag sending, delivered or failed."""
    refs = {r.activity_ref: r.id for r in reports if r.forwarded and r.activity_ref is not None}
    states: dict[int, Delivery] = {}
    for report in reports:
        states[report.id] = "delivered" if report.forwarded else "kept"
    if not refs:
        return states
    rows = await db.fetchall(
        "SELECT ref, state FROM jobs WHERE queue = 'push'"
        " AND ref IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(refs)),),
    )
    for ref, state in rows:
        if state == "dead":
            states[refs[ref]] = "failed"
        elif state != "done":
            states[refs[ref]] = "sending"
    return states


@dataclass(frozen=True)
class NamedPost:
    """What a report checks of a post it names."""

    id: int
    ap_id: str
    actor_id: int | None  # None: ours
    is_boost: bool


async def named_posts(db: Database, status_ids: Iterable[int]) -> dict[int, NamedPost]:
    """The posts (not deleted) with these row ids, in ONE query."""
    rows = await db.fetchall(
        "SELECT id, ap_id, actor_id, reblog_of_id FROM statuses"
        " WHERE id IN (SELECT value FROM json_each(?)) AND deleted_at IS NULL",
        (json.dumps(sorted({int(i) for i in status_ids})),),
    )
    return {row[0]: NamedPost(row[0], row[1], row[2], row[3] is not None) for row in rows}


async def own_posts_by_ap_id(db: Database, ap_ids: Iterable[str]) -> list[int]:
    """The row ids of our own posts (not boosts) among these ids, in the order given."""
    wanted = list(dict.fromkeys(ap_ids))
    rows = await db.fetchall(
        "SELECT id, ap_id FROM statuses WHERE ap_id IN (SELECT value FROM json_each(?))"
        " AND actor_id IS NULL AND reblog_of_id IS NULL AND deleted_at IS NULL",
        (json.dumps(wanted),),
    )
    found = {row[1]: row[0] for row in rows}
    return [found[ap_id] for ap_id in wanted if ap_id in found]
