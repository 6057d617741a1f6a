-- One clock decides when an effect is due: the App's (the clock its deadlines and timers are computed on).
-- NULL means "due at once"; a time is always written from the App's clock, never the database's, so a
-- database whose clock differs from the App's cannot bring a deadline early or hold a fresh row back.
-- Leases (locked_until) stay on the database's clock: they are set and compared there alone.
ALTER TABLE outbox ALTER COLUMN run_after DROP NOT NULL;
ALTER TABLE outbox ALTER COLUMN run_after DROP DEFAULT;
-- Costs are charged to the month of the App's clock: the column has no default to fall back on.
ALTER TABLE costs ALTER COLUMN at DROP DEFAULT;
