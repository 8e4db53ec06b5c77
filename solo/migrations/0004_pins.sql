-- Pinned posts: ours (served as the `featured` collection) and remote actors' (read from their
-- `featured` collection when their profile is opened). A status's actor_id says whose pin it
-- is. `created_at` orders them, newest pin first; for a remote actor it follows the order of
-- their collection as last read.
CREATE TABLE pins (
    status_id   INTEGER PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    created_at  REAL NOT NULL
);
