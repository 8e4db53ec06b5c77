-- Lists of accounts we follow, with their own timelines (Mastodon's lists), hashtags we
-- follow into home, and hashtags featured on our profile. Ids are never reused (clients cache
-- them).
CREATE TABLE lists (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    title           TEXT NOT NULL,
    replies_policy  TEXT NOT NULL DEFAULT 'list'
                    CHECK (replies_policy IN ('followed', 'list', 'none')),
    exclusive       INTEGER NOT NULL DEFAULT 0,   -- members' posts kept out of home
    created_at      REAL NOT NULL
);

CREATE TABLE list_accounts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    list_id     INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    actor_id    INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    created_at  REAL NOT NULL,
    UNIQUE (list_id, actor_id)
);
CREATE INDEX list_accounts_by_actor ON list_accounts (actor_id, list_id);

-- As Mastodon: an account we stop following (unfollow, block, a Reject) leaves every list.
CREATE TRIGGER list_accounts_unfollowed AFTER DELETE ON follows
WHEN old.direction = 'out'
BEGIN
    DELETE FROM list_accounts WHERE actor_id = old.actor_id;
END;

CREATE TABLE followed_tags (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,             -- normalised (solo.hashtags.normalise)
    created_at  REAL NOT NULL
);

CREATE TABLE featured_tags (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,             -- normalised, as followed_tags
    display     TEXT NOT NULL,                    -- as the user typed it (#SoloDev)
    created_at  REAL NOT NULL
);
