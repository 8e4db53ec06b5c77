-- Conversations (Mastodon's AccountConversation): direct messages grouped by the conversation
-- they belong to, with the user's unread mark and whether the user removed it from the list
-- (until a new message arrives). Which messages belong to which: conversation_statuses.
CREATE TABLE conversations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT NOT NULL UNIQUE,          -- the posts' conversation/context id, or our own
    unread      INTEGER NOT NULL DEFAULT 0,
    removed     INTEGER NOT NULL DEFAULT 0,
    updated_at  REAL NOT NULL
);
-- `id` is the order messages arrived in: a remote post's id comes from its published time, to
-- the second, so a quick answer can have a smaller id than the message it answers.
CREATE TABLE conversation_statuses (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    status_id        INTEGER NOT NULL UNIQUE REFERENCES statuses (id) ON DELETE CASCADE,
    conversation_id  INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE
);
CREATE INDEX conversation_statuses_conversation ON conversation_statuses (conversation_id, id);

-- The direct messages already stored, grouped by their conversation id (each one without it
-- stands alone), read: they were there before conversations were.
INSERT OR IGNORE INTO conversations (key, unread, removed, updated_at)
SELECT COALESCE(conversation, 'solo:status:' || id), 0, 0, MAX(published_at)
FROM statuses
WHERE visibility = 'direct' AND reblog_of_id IS NULL
GROUP BY COALESCE(conversation, 'solo:status:' || id);
INSERT INTO conversation_statuses (status_id, conversation_id)
SELECT s.id, c.id
FROM statuses s JOIN conversations c ON c.key = COALESCE(s.conversation, 'solo:status:' || s.id)
WHERE s.visibility = 'direct' AND s.reblog_of_id IS NULL
ORDER BY s.id;

-- Posts to publish later (Mastodon's ScheduledStatus). `params` holds what the post is made
-- of (the ScheduledStatus `params`); `media_ids` the uploads it takes, kept from the sweep of
-- unattached uploads. Once published, `status_id` names the post and the row leaves the list
-- with its intended time kept.
CREATE TABLE scheduled_statuses (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    scheduled_at  REAL NOT NULL,
    params        TEXT NOT NULL,
    media_ids     TEXT NOT NULL DEFAULT '[]',
    created_at    REAL NOT NULL,
    status_id     INTEGER REFERENCES statuses (id) ON DELETE SET NULL,
    published_at  REAL,
    last_error    TEXT
);
CREATE INDEX scheduled_statuses_due ON scheduled_statuses (scheduled_at) WHERE published_at IS NULL;
