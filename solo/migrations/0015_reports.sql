-- Reports, both ways. 'out': one we made about a remote account (kept here; with `forwarded`,
-- also sent to its server as a Flag, whose delivery is the push job of `activity_ref`).
-- 'in': a Flag about us or our posts from another server; `actor_id` is who sent it.
CREATE TABLE reports (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    direction        TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    actor_id         INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    ap_id            TEXT UNIQUE,       -- the Flag's id (ours, or theirs when it lives on their host)
    comment          TEXT NOT NULL DEFAULT '',
    category         TEXT NOT NULL DEFAULT 'other'
                         CHECK (category IN ('spam', 'legal', 'violation', 'other')),
    rule_ids_json    TEXT NOT NULL DEFAULT '[]',
    status_ids_json  TEXT NOT NULL DEFAULT '[]',  -- the posts named: statuses row ids
    forwarded        INTEGER NOT NULL DEFAULT 0,
    activity_ref     INTEGER,           -- 'out' and forwarded: the activities row delivered
    notification_id  INTEGER,           -- 'in': the admin.report notification it brought
    created_at       REAL NOT NULL
);
CREATE INDEX reports_direction ON reports (direction, id);
CREATE INDEX reports_notification ON reports (notification_id) WHERE notification_id IS NOT NULL;
