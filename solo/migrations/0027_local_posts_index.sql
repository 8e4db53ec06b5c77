-- The reblog index held every status, NULL included, so SQLite answered `reblog_of_id IS NULL`
-- through it and read the whole table: counting our posts for a profile took 270 ms at 100,000
-- remote posts. It now holds boosts only (`reblog_of_id = ?` still finds them), and our own
-- posts have an index of their own, which the counts name.
DROP INDEX statuses_reblog;
CREATE INDEX statuses_reblog ON statuses (reblog_of_id) WHERE reblog_of_id IS NOT NULL;
CREATE INDEX statuses_local_posts ON statuses (id, visibility)
    WHERE actor_id IS NULL AND deleted_at IS NULL AND reblog_of_id IS NULL;
