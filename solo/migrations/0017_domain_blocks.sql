-- Domain blocks as Mastodon keeps them: an id to page by (its API's Link headers) and the
-- reason the user gave; and the accounts they cover, so that every listing can leave those
-- accounts out with one indexed lookup. A domain covers its subdomains; a port is ignored.
CREATE TABLE domain_blocks_new (
    id          INTEGER PRIMARY KEY,
    domain      TEXT NOT NULL UNIQUE,
    reason      TEXT NOT NULL DEFAULT '',
    created_at  REAL NOT NULL
);
INSERT INTO domain_blocks_new (domain, created_at)
    SELECT lower(domain), created_at FROM domain_blocks ORDER BY created_at, domain;
DROP TABLE domain_blocks;
ALTER TABLE domain_blocks_new RENAME TO domain_blocks;

-- The remote accounts whose handle's domain or whose id's host a domain block covers
-- (solo/store/domain_blocks.py keeps it: on a block, an unblock, and each account stored).
CREATE TABLE domain_blocked_actors (
    actor_id  INTEGER PRIMARY KEY REFERENCES actors (id) ON DELETE CASCADE
);

INSERT OR IGNORE INTO domain_blocked_actors (actor_id)
    SELECT a.id FROM (
        SELECT id, lower(CASE WHEN instr(domain, ':') > 0
                              THEN substr(domain, 1, instr(domain, ':') - 1)
                              ELSE domain END) AS host
        FROM actors
    ) a, domain_blocks d
    WHERE a.host = d.domain OR substr(a.host, -length(d.domain) - 1) = '.' || d.domain;
