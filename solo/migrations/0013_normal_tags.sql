-- The `tag` of stored remote posts in the shapes ingest now keeps (solo/federation/tags.py):
-- a list of objects, at most 100 Mentions and 64 of each other kind. Before, a bare URL string
-- in a post's `tag` broke every hashtag query, and one post could carry 12,000 tags. Names are
-- checked when read (api/status_parts.py); the queries tolerate any shape left over.
UPDATE statuses
SET raw = json_set(raw, '$.tag', json_array(json(json_extract(raw, '$.tag'))))
WHERE actor_id IS NOT NULL AND json_valid(raw) AND json_type(raw, '$.tag') = 'object';

UPDATE statuses
SET raw = json_set(raw, '$.tag', json_array())
WHERE actor_id IS NOT NULL AND json_valid(raw)
  AND json_type(raw, '$.tag') NOT IN ('array', 'object');

UPDATE statuses
SET raw = json_set(raw, '$.tag', (
  SELECT json_group_array(json(kept.value)) FROM (
    SELECT t.value AS value,
           row_number() OVER (
             PARTITION BY json_extract(t.value, '$.type') ORDER BY t.id
           ) AS n,
           json_extract(t.value, '$.type') AS kind
    FROM json_each(statuses.raw, '$.tag') AS t
    WHERE t.type = 'object'
    ORDER BY t.id
  ) AS kept
  WHERE kept.n <= CASE kept.kind WHEN 'Mention' THEN 100 ELSE 64 END
))
WHERE actor_id IS NOT NULL AND json_valid(raw) AND json_type(raw, '$.tag') = 'array'
  AND (json_array_length(raw, '$.tag') > 64
       OR EXISTS (SELECT 1 FROM json_each(statuses.raw, '$.tag') AS e WHERE e.type != 'object'));
