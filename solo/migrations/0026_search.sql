-- Full-text search over stored posts (see solo/fulltext.py for what each column holds).
-- Case and accents are folded; CJK runs arrive already cut into bigrams.
CREATE VIRTUAL TABLE status_search USING fts5 (
    body, cw, extra, props UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- The posts stored before the index existed are indexed after start-up, newest first, in small
-- batches (a single transaction over a big database would hold start-up); `pending_below` is
-- the id under which rows still wait, 0 once the index is built.
CREATE TABLE search_index_state (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    pending_below  INTEGER NOT NULL,
    started_with   INTEGER NOT NULL
);
INSERT INTO search_index_state (id, pending_below, started_with)
SELECT 1, coalesce(max(id) + 1, 0), count(*) FROM statuses;
