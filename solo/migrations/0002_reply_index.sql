-- Reply counts of a page of statuses look replies up by their parent's row id.
CREATE INDEX statuses_in_reply_to_id ON statuses (in_reply_to_id) WHERE in_reply_to_id IS NOT NULL;
