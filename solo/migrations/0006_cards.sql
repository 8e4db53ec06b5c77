-- Link previews: what a page says about itself (OpenGraph, <title>), cached by the URL linked to,
-- and which card each status shows (the first link of its text).
CREATE TABLE cards (
    url TEXT PRIMARY KEY,           -- the link as it appears in posts
    fetched_at REAL NOT NULL,
    failed INTEGER NOT NULL DEFAULT 0,  -- nothing usable: kept to avoid asking again soon
    card_url TEXT NOT NULL DEFAULT '',  -- where the card links: og:url on the same host, or the page
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    site_name TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL DEFAULT ''
);

CREATE TABLE status_cards (
    status_id INTEGER PRIMARY KEY REFERENCES statuses (id) ON DELETE CASCADE,
    url TEXT NOT NULL REFERENCES cards (url) ON DELETE CASCADE
);
