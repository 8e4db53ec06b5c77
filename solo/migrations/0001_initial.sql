-- The first schema: the local account and its keys, remote actors, statuses, follows,
-- interactions, notifications and the durable job queue. Times are unix seconds (REAL).

-- Instance-wide values: the session secret, the instance's creation time.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- The one local user.
CREATE TABLE account (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    username        TEXT NOT NULL,
    display_name    TEXT NOT NULL DEFAULT '',
    summary_html    TEXT NOT NULL DEFAULT '',
    summary_source  TEXT NOT NULL DEFAULT '',
    fields_json     TEXT NOT NULL DEFAULT '[]',   -- [{"name": …, "value": …}]
    avatar_url      TEXT,
    header_url      TEXT,
    locked          INTEGER NOT NULL DEFAULT 0,
    discoverable    INTEGER NOT NULL DEFAULT 1,
    password_hash   TEXT NOT NULL,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL
);

-- Key pairs of the local actors: 'user' (the account) and 'instance' (the /actor that signs fetches).
CREATE TABLE keys (
    owner        TEXT PRIMARY KEY CHECK (owner IN ('user', 'instance')),
    private_pem  TEXT NOT NULL,
    public_pem   TEXT NOT NULL,
    created_at   REAL NOT NULL
) WITHOUT ROWID;

-- Remote actors we know of, with their key (cached for signature checks).
CREATE TABLE actors (
    id              INTEGER PRIMARY KEY,
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
    UNIQUE (username, domain)
);
CREATE INDEX actors_key_id ON actors (key_id);
CREATE INDEX actors_domain ON actors (domain);

-- Posts, ours (actor_id NULL) and remote ones. id is time-sortable (ids.py).
CREATE TABLE statuses (
    id                 INTEGER PRIMARY KEY,
    ap_id              TEXT NOT NULL UNIQUE,
    url                TEXT,
    actor_id           INTEGER REFERENCES actors (id) ON DELETE CASCADE,
    type               TEXT NOT NULL DEFAULT 'Note',
    visibility         TEXT NOT NULL CHECK (visibility IN ('public', 'unlisted', 'private', 'direct')),
    in_reply_to_ap_id  TEXT,
    in_reply_to_id     INTEGER REFERENCES statuses (id) ON DELETE SET NULL,
    reblog_of_id       INTEGER REFERENCES statuses (id) ON DELETE CASCADE,
    conversation       TEXT,
    summary            TEXT NOT NULL DEFAULT '',
    sensitive          INTEGER NOT NULL DEFAULT 0,
    content_html       TEXT NOT NULL DEFAULT '',
    source_text        TEXT,
    language           TEXT,
    raw                TEXT,
    published_at       REAL NOT NULL,
    edited_at          REAL,
    deleted_at         REAL
);
CREATE INDEX statuses_actor ON statuses (actor_id, id);
CREATE INDEX statuses_local ON statuses (id) WHERE actor_id IS NULL;
CREATE INDEX statuses_reply ON statuses (in_reply_to_ap_id);
CREATE INDEX statuses_reblog ON statuses (reblog_of_id);

-- Ids of deleted objects, so that a Delete cannot be undone by a replayed Create.
CREATE TABLE tombstones (
    ap_id       TEXT PRIMARY KEY,
    deleted_at  REAL NOT NULL
) WITHOUT ROWID;

-- Follows both ways: 'in' = a remote actor follows us, 'out' = we follow a remote actor.
CREATE TABLE follows (
    id          INTEGER PRIMARY KEY,
    direction   TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    actor_id    INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    ap_id       TEXT NOT NULL,              -- the Follow activity's id
    state       TEXT NOT NULL CHECK (state IN ('pending', 'accepted')),
    created_at  REAL NOT NULL,
    UNIQUE (direction, actor_id)
);
CREATE INDEX follows_ap_id ON follows (ap_id);

-- Favourites, boosts and blocks, by us (actor_id NULL) or by remote actors.
CREATE TABLE interactions (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('like', 'announce', 'bookmark', 'block')),
    actor_id    INTEGER REFERENCES actors (id) ON DELETE CASCADE,
    status_id   INTEGER REFERENCES statuses (id) ON DELETE CASCADE,
    target_actor_id INTEGER REFERENCES actors (id) ON DELETE CASCADE,
    ap_id       TEXT UNIQUE,
    created_at  REAL NOT NULL
);
CREATE UNIQUE INDEX interactions_once
    ON interactions (kind, COALESCE(actor_id, 0), COALESCE(status_id, 0), COALESCE(target_actor_id, 0));
CREATE INDEX interactions_status ON interactions (status_id, kind);

-- Notifications for the local user.
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    type        TEXT NOT NULL,
    actor_id    INTEGER REFERENCES actors (id) ON DELETE CASCADE,
    status_id   INTEGER REFERENCES statuses (id) ON DELETE CASCADE,
    created_at  REAL NOT NULL,
    read        INTEGER NOT NULL DEFAULT 0
);

-- Activities seen or sent, by id: deduplication of ingress and our own outbox.
CREATE TABLE activities (
    id            INTEGER PRIMARY KEY,
    ap_id         TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    local         INTEGER NOT NULL,
    object_ap_id  TEXT,               -- ours: the object it is about (deleting it cancels deliveries)
    body          TEXT,               -- ours: the JSON sent to every inbox, stored once
    created_at    REAL NOT NULL
);
CREATE INDEX activities_object ON activities (object_ap_id) WHERE object_ap_id IS NOT NULL;

-- The durable queue: 'push' (deliveries) and 'ingress' (incoming activities).
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY,
    queue            TEXT NOT NULL CHECK (queue IN ('push', 'ingress')),
    state            TEXT NOT NULL DEFAULT 'queued'
                         CHECK (state IN ('queued', 'running', 'retrying', 'done', 'dead')),
    payload          TEXT NOT NULL,
    host             TEXT,
    ref              INTEGER,         -- push: the activities row whose body is delivered
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL,
    last_error       TEXT,
    created_at       REAL NOT NULL,
    updated_at       REAL NOT NULL
);
CREATE INDEX jobs_due ON jobs (queue, next_attempt_at) WHERE state IN ('queued', 'retrying');
CREATE INDEX jobs_ref ON jobs (ref) WHERE ref IS NOT NULL;

-- Servers we refuse to talk to (the keyId host of a signed request is checked before any fetch).
CREATE TABLE domain_blocks (
    domain      TEXT PRIMARY KEY,
    created_at  REAL NOT NULL
) WITHOUT ROWID;

-- Delivery health per remote server: distinct failure days; unavailable after too many.
CREATE TABLE hosts (
    domain            TEXT PRIMARY KEY,
    failure_days      INTEGER NOT NULL DEFAULT 0,
    last_failure_day  TEXT,
    unavailable       INTEGER NOT NULL DEFAULT 0,
    last_success_at   REAL
) WITHOUT ROWID;

-- A Delete or Undo that arrived before its target, remembered for a few hours.
CREATE TABLE early_removals (
    object_ap_id  TEXT PRIMARY KEY,
    actor_ap_id   TEXT NOT NULL,
    kind          TEXT NOT NULL,      -- 'Delete' or the type of the undone activity
    expires_at    REAL NOT NULL
) WITHOUT ROWID;
