-- Imports of Mastodon's CSV exports (solo/actions/csv_imports.py). The file is read and checked
-- whole before anything is stored; then one row per line waits `pending` until the importer
-- settles it. Pending rows are the cursor: after a crash the importer picks up where it was, and
-- a line whose action was done but not yet recorded is found done already and counted skipped.
CREATE TABLE csv_imports (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    mode        TEXT NOT NULL CHECK (mode IN ('merge', 'overwrite')),
    filename    TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    total       INTEGER NOT NULL,
    removed     INTEGER NOT NULL DEFAULT 0,   -- overwrite: what was not in the file, undone
    error       TEXT,
    created_at  REAL NOT NULL,
    finished_at REAL
);

CREATE TABLE csv_import_rows (
    import_id   INTEGER NOT NULL REFERENCES csv_imports (id) ON DELETE CASCADE,
    line        INTEGER NOT NULL,
    data        TEXT NOT NULL,                -- JSON: the line's values
    state       TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'added', 'skipped', 'failed')),
    reason      TEXT,
    PRIMARY KEY (import_id, line)
) WITHOUT ROWID;
CREATE INDEX csv_import_rows_state ON csv_import_rows (import_id, state, line);
