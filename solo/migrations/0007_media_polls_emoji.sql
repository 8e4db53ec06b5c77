-- Media attachments, the remote media cache, polls and custom emoji.

-- Attachments: our uploads (local = 1; status_id NULL until a post uses them) and the
-- attachments of remote posts (local = 0, remote_url set; the bytes come through media_cache).
CREATE TABLE media (
    id             INTEGER PRIMARY KEY,
    status_id      INTEGER REFERENCES statuses (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL DEFAULT 0,
    local          INTEGER NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('image', 'gifv', 'video', 'audio', 'unknown')),
    media_type     TEXT NOT NULL,
    storage_key    TEXT,                 -- ours: the original in the storage backend
    thumbnail_key  TEXT,                 -- ours: the small preview (JPEG or PNG)
    remote_url     TEXT,                 -- theirs: where the file lives
    description    TEXT NOT NULL DEFAULT '',   -- the alt text
    width          INTEGER,
    height         INTEGER,
    duration       REAL,
    blurhash       TEXT,
    focus_x        REAL NOT NULL DEFAULT 0,
    focus_y        REAL NOT NULL DEFAULT 0,
    size           INTEGER NOT NULL DEFAULT 0,
    created_at     REAL NOT NULL
);
CREATE INDEX media_status ON media (status_id, position);
CREATE INDEX media_unattached ON media (created_at) WHERE status_id IS NULL;

-- Remote files (avatars, headers, attachments, emoji) kept on our disk, least recently used
-- first out once the budget is spent.
CREATE TABLE media_cache (
    url           TEXT PRIMARY KEY,
    storage_key   TEXT NOT NULL,
    media_type    TEXT NOT NULL,
    size          INTEGER NOT NULL,
    fetched_at    REAL NOT NULL,
    last_used_at  REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX media_cache_lru ON media_cache (last_used_at);

-- Polls (Question), ours and remote ones: one row per poll, options with their counts as JSON.
CREATE TABLE polls (
    status_id     INTEGER PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    multiple      INTEGER NOT NULL DEFAULT 0,
    options_json  TEXT NOT NULL,          -- [{"title": …, "votes": n}, …]
    voters_count  INTEGER,
    expires_at    REAL,
    closed_at     REAL,
    refreshed_at  REAL,
    ended_notified INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX polls_open ON polls (expires_at) WHERE ended_notified = 0;

-- Votes: remote voters in our polls (actor_id set), and our own votes in any poll (NULL).
CREATE TABLE poll_votes (
    id          INTEGER PRIMARY KEY,
    status_id   INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    actor_id    INTEGER REFERENCES actors (id) ON DELETE CASCADE,
    choice      INTEGER NOT NULL,
    ap_id       TEXT UNIQUE,
    created_at  REAL NOT NULL
);
CREATE UNIQUE INDEX poll_votes_once ON poll_votes (status_id, COALESCE(actor_id, 0), choice);

-- Custom emoji named by a remote post or profile (Emoji tags): shortcode → image URL.
ALTER TABLE statuses ADD COLUMN emojis_json TEXT;
ALTER TABLE actors ADD COLUMN emojis_json TEXT;
