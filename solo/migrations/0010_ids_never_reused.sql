-- Ids that apps see are never handed out again (Mastodon's never are). With a plain INTEGER
-- PRIMARY KEY, SQLite gives a new row max(id) + 1, so deleting the newest notification, upload
-- or account made the next one take its id: apps then took a new notification for one already
-- read (at or below the read marker) and showed a cached account for someone else.
-- AUTOINCREMENT needs a rebuild (SQLite's twelve steps; db.migrate runs this with foreign keys
-- off and checks them before committing). Existing ids are kept; sqlite_sequence starts at the
-- largest one copied. Statuses take time-sortable ids (ids.py), polls use their status's id,
-- and OAuth apps are never deleted, so those tables keep their keys.
-- The rebuilt actors table also remembers when we first saw each actor: Mastodon gives an
-- account whose document has no `published` that moment as its created_at (rows already here
-- take their last fetch, the nearest we know).

CREATE TABLE actors_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    ap_id           TEXT NOT NULL UNIQUE,
    type            TEXT NOT NULL DEFAULT 'Person',
    username        TEXT NOT NULL,
    domain          TEXT NOT NULL,
    display_name    TEXT NOT NULL DEFAULT '',
    summary_html    TEXT NOT NULL DEFAULT '',
    url             TEXT,
    inbox           TEXT NOT NULL,
    shared_inbox    TEXT,
    outbox          TEXT,
    followers_url   TEXT,
    following_url   TEXT,
    featured_url    TEXT,
    key_id          TEXT,
    public_key_pem  TEXT,
    avatar_url      TEXT,
    header_url      TEXT,
    locked          INTEGER NOT NULL DEFAULT 0,
    discoverable    INTEGER NOT NULL DEFAULT 0,
    fields_json     TEXT NOT NULL DEFAULT '[]',
    raw             TEXT NOT NULL,
    fetched_at      REAL NOT NULL,
    deleted_at      REAL,
    emojis_json     TEXT,
    followers_count INTEGER,
    following_count INTEGER,
    statuses_count  INTEGER,
    first_seen_at   REAL NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS REAL)),
    UNIQUE (username, domain)
);
INSERT INTO actors_new (id, ap_id, type, username, domain, display_name, summary_html, url, inbox,
    shared_inbox, outbox, followers_url, following_url, featured_url, key_id, public_key_pem,
    avatar_url, header_url, locked, discoverable, fields_json, raw, fetched_at, deleted_at,
    emojis_json, followers_count, following_count, statuses_count, first_seen_at)
SELECT id, ap_id, type, username, domain, display_name, summary_html, url, inbox,
    shared_inbox, outbox, followers_url, following_url, featured_url, key_id, public_key_pem,
    avatar_url, header_url, locked, discoverable, fields_json, raw, fetched_at, deleted_at,
    emojis_json, followers_count, following_count, statuses_count, fetched_at
FROM actors;
DROP TABLE actors;
ALTER TABLE actors_new RENAME TO actors;
CREATE INDEX actors_key_id ON actors (key_id);
CREATE INDEX actors_domain ON actors (domain);

CREATE TABLE notifications_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    type        TEXT NOT NULL,
    actor_id    INTEGER REFERENCES actors (id) ON DELETE CASCADE,
    status_id   INTEGER REFERENCES statuses (id) ON DELETE CASCADE,
    created_at  REAL NOT NULL,
    read        INTEGER NOT NULL DEFAULT 0
);
INSERT INTO notifications_new (id, type, actor_id, status_id, created_at, read)
SELECT id, type, actor_id, status_id, created_at, read FROM notifications;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;

CREATE TABLE media_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    status_id      INTEGER REFERENCES statuses (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL DEFAULT 0,
    local          INTEGER NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('image', 'gifv', 'video', 'audio', 'unknown')),
    media_type     TEXT NOT NULL,
    storage_key    TEXT,
    thumbnail_key  TEXT,
    remote_url     TEXT,
    description    TEXT NOT NULL DEFAULT '',
    width          INTEGER,
    height         INTEGER,
    duration       REAL,
    blurhash       TEXT,
    focus_x        REAL NOT NULL DEFAULT 0,
    focus_y        REAL NOT NULL DEFAULT 0,
    size           INTEGER NOT NULL DEFAULT 0,
    created_at     REAL NOT NULL
);
INSERT INTO media_new (id, status_id, position, local, kind, media_type, storage_key,
    thumbnail_key, remote_url, description, width, height, duration, blurhash, focus_x, focus_y,
    size, created_at)
SELECT id, status_id, position, local, kind, media_type, storage_key,
    thumbnail_key, remote_url, description, width, height, duration, blurhash, focus_x, focus_y,
    size, created_at
FROM media;
DROP TABLE media;
ALTER TABLE media_new RENAME TO media;
CREATE INDEX media_status ON media (status_id, position);
CREATE INDEX media_unattached ON media (created_at) WHERE status_id IS NULL;
