-- Quote posts: the id of the post a status quotes, as its author gave it, and the row of that
-- post once we have it (one level only: a quote of a quote stays an id).
ALTER TABLE statuses ADD COLUMN quote_ap_id TEXT;
ALTER TABLE statuses ADD COLUMN quote_id INTEGER REFERENCES statuses (id) ON DELETE SET NULL;
