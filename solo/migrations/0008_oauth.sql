-- The Mastodon client API: OAuth apps, authorization codes and access tokens; and what the
-- API keeps for clients: read markers, idempotent posting, muted accounts.
-- Secrets, codes and tokens are stored as SHA-256 hex digests only: they are long random
-- values, so a plain hash is enough, and a copy of the file gives nobody a working token.

-- Registered client apps (POST /api/v1/apps). The client secret is shown once, at creation.
CREATE TABLE oauth_apps (
    id             INTEGER PRIMARY KEY,
    client_id      TEXT NOT NULL UNIQUE,
    secret_hash    TEXT NOT NULL,
    name           TEXT NOT NULL,
    redirect_uris  TEXT NOT NULL,          -- one per line
    scopes         TEXT NOT NULL,          -- space-separated
    website        TEXT,
    created_at     REAL NOT NULL
);

-- Authorization codes of the code flow: ten minutes, one use. A code presented twice revokes
-- the token it was exchanged for (RFC 6749 §4.1.2).
CREATE TABLE oauth_codes (
    code_hash              TEXT PRIMARY KEY,
    app_id                 INTEGER NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    redirect_uri           TEXT NOT NULL,
    scopes                 TEXT NOT NULL,
    code_challenge         TEXT,
    code_challenge_method  TEXT CHECK (code_challenge_method IN ('S256', 'plain')),
    created_at             REAL NOT NULL,
    expires_at             REAL NOT NULL,
    used_at                REAL,
    token_id               INTEGER REFERENCES oauth_tokens (id) ON DELETE SET NULL
) WITHOUT ROWID;
CREATE INDEX oauth_codes_expiry ON oauth_codes (expires_at);

-- Access tokens. `user` = 1: acts for the account; 0: the app alone (client_credentials).
CREATE TABLE oauth_tokens (
    id            INTEGER PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    app_id        INTEGER NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    scopes        TEXT NOT NULL,
    user          INTEGER NOT NULL CHECK (user IN (0, 1)),
    created_at    REAL NOT NULL,
    last_used_at  REAL,
    revoked_at    REAL
);
CREATE INDEX oauth_tokens_app ON oauth_tokens (app_id) WHERE revoked_at IS NULL;

-- Where the user stopped reading, per timeline (GET/POST /api/v1/markers).
CREATE TABLE markers (
    timeline      TEXT PRIMARY KEY CHECK (timeline IN ('home', 'notifications')),
    last_read_id  TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 0,
    updated_at    REAL NOT NULL
) WITHOUT ROWID;

-- Idempotency-Key of POST /api/v1/statuses: a retried request answers the status it made.
CREATE TABLE idempotency (
    key         TEXT PRIMARY KEY,
    status_id   INTEGER REFERENCES statuses (id) ON DELETE CASCADE,
    created_at  REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_age ON idempotency (created_at);

-- Muted accounts: their posts leave the timelines; `notifications` = 1 mutes those too.
CREATE TABLE mutes (
    actor_id       INTEGER PRIMARY KEY REFERENCES actors (id) ON DELETE CASCADE,
    notifications  INTEGER NOT NULL DEFAULT 1,
    expires_at     REAL,
    created_at     REAL NOT NULL
);
CREATE INDEX mutes_expiry ON mutes (expires_at) WHERE expires_at IS NOT NULL;
