-- The worker's housekeeping deletes finished records past their retention (src/store/retention.ts): these indexes
-- let it find them without reading the whole table.
CREATE INDEX IF NOT EXISTS inbox_received_at ON inbox (received_at);
CREATE INDEX IF NOT EXISTS outbox_finished_done_at ON outbox (done_at) WHERE status IN ('done', 'failed');
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
