-- Earlier versions of edited posts, ours and remote ones. A row is one version as it read from
-- created_at (the post's published_at, or the edit that made it) until the next edit.
CREATE TABLE status_edits (
    id            INTEGER PRIMARY KEY,
    status_id     INTEGER NOT NULL REFERENCES statuses (id) ON DELETE CASCADE,
    content_html  TEXT NOT NULL,
    summary       TEXT NOT NULL DEFAULT '',
    sensitive     INTEGER NOT NULL DEFAULT 0,
    created_at    REAL NOT NULL
);
CREATE INDEX status_edits_status ON status_edits (status_id, created_at);
