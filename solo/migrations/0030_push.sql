-- Web Push subscriptions: one per app token (the client API's /api/v1/push/subscription) and
-- one per browser of the web interface (token_id NULL, one row per endpoint).
CREATE TABLE push_subscriptions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id      INTEGER UNIQUE REFERENCES oauth_tokens (id) ON DELETE CASCADE,
    -- The app's token, given back in each push as Mastodon does (apps fetch the notification
    -- with it); the row goes with the token.
    access_token  TEXT,
    endpoint      TEXT NOT NULL,
    host          TEXT NOT NULL,          -- the endpoint's host[:port], for per-host limits
    p256dh        TEXT NOT NULL,          -- base64url, a checked P-256 point
    auth          TEXT NOT NULL,          -- base64url, 16 bytes
    standard      INTEGER NOT NULL CHECK (standard IN (0, 1)),  -- RFC 8291 (1) or the draft
    alerts        TEXT NOT NULL,          -- JSON object: notification type → true/false
    policy        TEXT NOT NULL CHECK (policy IN ('all', 'followed', 'follower', 'none')),
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL
);
CREATE UNIQUE INDEX push_subscriptions_web ON push_subscriptions (endpoint)
    WHERE token_id IS NULL;

-- A third queue, 'webpush': one job per push to send (the subscription and the notification in
-- its payload). The CHECK of the queue names is widened by rebuilding the table.
CREATE TABLE jobs_new (
    id               INTEGER PRIMARY KEY,
    queue            TEXT NOT NULL CHECK (queue IN ('push', 'ingress', 'webpush')),
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
INSERT INTO jobs_new SELECT id, queue, state, payload, host, ref, attempts, next_attempt_at,
    last_error, created_at, updated_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_due ON jobs (queue, next_attempt_at) WHERE state IN ('queued', 'retrying');
CREATE INDEX jobs_ref ON jobs (ref) WHERE ref IS NOT NULL;
