-- The emoji of a favourite that came as an emoji reaction (Misskey's Like with `content`,
-- Pleroma's EmojiReact): a unicode emoji or `:shortcode:`, and the custom emoji's image as an
-- `emojis_json` list (solo.media.emoji). NULL for a plain favourite.
ALTER TABLE interactions ADD COLUMN reaction TEXT;
ALTER TABLE interactions ADD COLUMN reaction_emojis_json TEXT;

-- Remote attachments of unknown type are looked up by URL when the media cache has read them.
CREATE INDEX media_unknown_url ON media (remote_url) WHERE kind = 'unknown';
