-- Muted conversations: the root of a thread (the topmost post we have of it) whose replies,
-- favourites, boosts and poll ends no longer notify us (solo/store/suppression.py).
CREATE TABLE conversation_mutes (
    status_id   INTEGER PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    created_at  REAL NOT NULL
);

-- Private notes on accounts, seen only by the user (Mastodon's Relationship `note`).
CREATE TABLE account_notes (
    actor_id    INTEGER PRIMARY KEY REFERENCES actors (id) ON DELETE CASCADE,
    comment     TEXT NOT NULL,
    updated_at  REAL NOT NULL
);
