-- What a remote actor's own server says of them: the totals of their followers, following and
-- outbox collections (NULL until read, when their profile is opened).
ALTER TABLE actors ADD COLUMN followers_count INTEGER;
ALTER TABLE actors ADD COLUMN following_count INTEGER;
ALTER TABLE actors ADD COLUMN statuses_count INTEGER;
