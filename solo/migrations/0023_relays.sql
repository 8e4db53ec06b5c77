-- Relays the instance actor subscribes to: 'mastodon' (a Follow of the Public collection sent
-- to the relay's inbox) or 'litepub' (a Follow of the relay actor, which follows back).
CREATE TABLE relays (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    url              TEXT NOT NULL UNIQUE,        -- what the user gave: the inbox or the actor
    dialect          TEXT NOT NULL CHECK (dialect IN ('mastodon', 'litepub')),
    inbox            TEXT NOT NULL,               -- where our Follow and our posts go
    actor_ap_id      TEXT,                        -- the relay actor, once known
    follow_ap_id     TEXT NOT NULL UNIQUE,        -- our Follow's id, which its Accept names
    state            TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'failed')),
    last_error       TEXT,
    created_at       REAL NOT NULL,
    last_announce_at REAL,
    announces        INTEGER NOT NULL DEFAULT 0,  -- shares taken
    dropped          INTEGER NOT NULL DEFAULT 0,  -- shares dropped over the rate limit
    window_start     REAL NOT NULL DEFAULT 0,     -- the rate limit's current minute
    window_count     INTEGER NOT NULL DEFAULT 0   -- shares taken in it
);
CREATE INDEX relays_actor ON relays (actor_ap_id);
