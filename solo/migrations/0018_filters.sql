-- Keyword filters (Mastodon's filters v2): a filter has a title, the contexts it applies in,
-- what it does (warn: shown behind its title; hide: left out), an optional end, and the
-- keywords and posts it matches. Ids are never reused (clients cache them).
CREATE TABLE filters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT NOT NULL,
    contexts    TEXT NOT NULL,     -- JSON array of home, notifications, public, thread, account
    action      TEXT NOT NULL CHECK (action IN ('warn', 'hide')),
    expires_at  REAL,              -- NULL: for ever
    created_at  REAL NOT NULL
);

CREATE TABLE filter_keywords (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    filter_id   INTEGER NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    keyword     TEXT NOT NULL,
    whole_word  INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX filter_keywords_by_filter ON filter_keywords (filter_id);

CREATE TABLE filter_statuses (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    filter_id   INTEGER NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    status_id   INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    UNIQUE (filter_id, status_id)
);
