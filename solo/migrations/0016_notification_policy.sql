-- The notification policy (Mastodon 4.3): which notifications from whom are accepted, held back
-- as "requests", or dropped. One row, created with Mastodon's defaults.
CREATE TABLE notification_policy (
    id                    INTEGER PRIMARY KEY CHECK (id = 1),
    for_not_following     TEXT NOT NULL DEFAULT 'accept'
        CHECK (for_not_following IN ('accept', 'filter', 'drop')),
    for_not_followers     TEXT NOT NULL DEFAULT 'accept'
        CHECK (for_not_followers IN ('accept', 'filter', 'drop')),
    for_new_accounts      TEXT NOT NULL DEFAULT 'accept'
        CHECK (for_new_accounts IN ('accept', 'filter', 'drop')),
    for_private_mentions  TEXT NOT NULL DEFAULT 'filter'
        CHECK (for_private_mentions IN ('accept', 'filter', 'drop')),
    for_limited_accounts  TEXT NOT NULL DEFAULT 'filter'
        CHECK (for_limited_accounts IN ('accept', 'filter', 'drop'))
);
INSERT INTO notification_policy (id) VALUES (1);

-- A held-back notification waits here, out of the list and the unread count, until its
-- request is accepted (filtered = 0) or dismissed (deleted).
ALTER TABLE notifications ADD COLUMN filtered INTEGER NOT NULL DEFAULT 0;
CREATE INDEX notifications_filtered ON notifications (actor_id, id) WHERE filtered = 1;

-- One request per account with held-back notifications (the NotificationRequest entity).
CREATE TABLE notification_requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id        INTEGER NOT NULL UNIQUE REFERENCES actors (id) ON DELETE CASCADE,
    last_status_id  INTEGER REFERENCES statuses (id) ON DELETE SET NULL,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL
);

-- Accounts whose requests were accepted: their notifications pass whatever the policy says.
CREATE TABLE notification_permissions (
    actor_id    INTEGER PRIMARY KEY REFERENCES actors (id) ON DELETE CASCADE,
    created_at  REAL NOT NULL
);
