-- Logged-in browser sessions. The signed cookie names one of these rows by a random id (stored
-- here as its SHA-256 only), and a login lasts only while its row does: logging out deletes it,
-- "log out everywhere" and a new password delete them all, so a copied cookie dies with them.
CREATE TABLE web_sessions (
    id_hash       TEXT PRIMARY KEY,
    created_at    REAL NOT NULL,
    last_seen_at  REAL NOT NULL           -- refreshed at most hourly; 30 days unseen ends it
) WITHOUT ROWID;
CREATE INDEX web_sessions_seen ON web_sessions (last_seen_at);
