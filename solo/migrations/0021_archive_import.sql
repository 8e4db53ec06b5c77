-- Posts imported from a Mastodon archive (solo/actions/archive_import.py).

-- The original URL of an imported post, shown as "Imported from <old server>".
ALTER TABLE statuses ADD COLUMN imported_from TEXT;

-- Each archived post by its original id, and the row id reserved for it before it is stored:
-- a rerun after a crash gives every post the id (and so the ap_id) its replies already name,
-- and never stores one twice. The row may be gone (the post was deleted since): it stays gone.
CREATE TABLE archive_posts (
    original_id  TEXT PRIMARY KEY,
    status_id    INTEGER NOT NULL UNIQUE
) WITHOUT ROWID;

-- Archive imports started from the web page: the uploaded file, and how far the import got.
CREATE TABLE archive_imports (
    id           INTEGER PRIMARY KEY,
    path         TEXT NOT NULL,
    filename     TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    total        INTEGER NOT NULL DEFAULT 0,
    done         INTEGER NOT NULL DEFAULT 0,
    imported     INTEGER NOT NULL DEFAULT 0,
    boosts       INTEGER NOT NULL DEFAULT 0,
    failures     TEXT NOT NULL DEFAULT '[]',   -- [[original id, reason], …], the first 100
    message      TEXT,
    created_at   REAL NOT NULL,
    finished_at  REAL
);
