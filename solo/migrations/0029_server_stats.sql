-- What the Server page draws: one row a minute, written by the sampler (solo/actions/server_stats.py)
-- and kept 48 hours. `at` is the minute's start (Unix seconds). The counts are what happened during
-- the minute (delivery attempts by outcome, activities accepted by the inbox); the depths are the
-- queues as the minute ended; the storage figures are filled once an hour, NULL otherwise.
CREATE TABLE server_samples (
    at                INTEGER PRIMARY KEY,
    delivered         INTEGER NOT NULL DEFAULT 0,
    retried           INTEGER NOT NULL DEFAULT 0,
    dead              INTEGER NOT NULL DEFAULT 0,
    accepted          INTEGER NOT NULL DEFAULT 0,
    push_waiting      INTEGER NOT NULL DEFAULT 0,
    push_retrying     INTEGER NOT NULL DEFAULT 0,
    ingress_waiting   INTEGER NOT NULL DEFAULT 0,
    rss_bytes         INTEGER,
    database_bytes    INTEGER,
    media_bytes       INTEGER,
    cache_bytes       INTEGER
) WITHOUT ROWID;
