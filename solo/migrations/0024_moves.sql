-- Account moves (Mastodon's Move, alsoKnownAs and movedTo).
-- Our aliases: the accounts we come from, as [{"id": actor URL, "handle": "user@host"}].
ALTER TABLE account ADD COLUMN aliases_json TEXT NOT NULL DEFAULT '[]';
-- Where we moved to (NULL: not moved); moved_at stays after an undo, for the cooldown.
ALTER TABLE account ADD COLUMN moved_to TEXT;
ALTER TABLE account ADD COLUMN moved_to_handle TEXT;
ALTER TABLE account ADD COLUMN moved_at REAL;

-- Remote accounts that moved: their verified Move (the target named them back).
-- received_at rate-limits Moves per account (Mastodon: one processed per 7 days).
CREATE TABLE actor_moves (
    actor_id     INTEGER PRIMARY KEY REFERENCES actors (id) ON DELETE CASCADE,
    target_id    INTEGER NOT NULL REFERENCES actors (id) ON DELETE CASCADE,
    received_at  REAL NOT NULL
);

-- The followers of an alias of ours that moved to us, as its server listed them: a Follow from
-- one of them is accepted even when the account is locked.
CREATE TABLE alias_followers (
    alias_ap_id    TEXT NOT NULL,
    follower_ap_id TEXT NOT NULL,
    PRIMARY KEY (alias_ap_id, follower_ap_id)
);
CREATE TABLE alias_follower_reads (
    alias_ap_id  TEXT PRIMARY KEY,
    read_at      REAL NOT NULL
);
