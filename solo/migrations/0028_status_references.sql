-- Indexes for the columns that point at a status, so that removing a status (a Delete, an
-- account gone, retention's pruning) finds what pointed at it through an index: without one
-- SQLite reads the whole referring table for each status removed — every status once per
-- status for `in_reply_to_id`, which made pruning a million posts quadratic.
CREATE INDEX statuses_in_reply_to ON statuses (in_reply_to_id) WHERE in_reply_to_id IS NOT NULL;
CREATE INDEX statuses_quote ON statuses (quote_id) WHERE quote_id IS NOT NULL;
CREATE INDEX notifications_status ON notifications (status_id) WHERE status_id IS NOT NULL;
CREATE INDEX idempotency_status ON idempotency (status_id) WHERE status_id IS NOT NULL;
CREATE INDEX filter_statuses_status ON filter_statuses (status_id);
CREATE INDEX notification_requests_last ON notification_requests (last_status_id)
    WHERE last_status_id IS NOT NULL;
CREATE INDEX scheduled_statuses_status ON scheduled_statuses (status_id)
    WHERE status_id IS NOT NULL;
