-- Reconciliation (src/app/reconcile.ts): one replica at a time redelivers failed webhook deliveries and looks up
-- attempts whose completion never arrived. The lease row is taken with an INSERT … ON CONFLICT DO UPDATE … WHERE the
-- lease has expired, so two replicas never run a pass together; `lease_until` and `last_pass_at` are on the
-- database's clock (set and compared there alone), `deliveries_checked_at` on the App's (compared with GitHub's).
CREATE TABLE IF NOT EXISTS reconcile_lease (
  name text PRIMARY KEY,
  holder text,
  lease_until timestamptz,
  last_pass_at timestamptz,
  deliveries_checked_at timestamptz
);
-- The guids reconciliation asked GitHub to redeliver, and how often: one that fails every time is given up.
CREATE TABLE IF NOT EXISTS redeliveries (
  guid text PRIMARY KEY,
  tries integer NOT NULL,
  last_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS redeliveries_last_at ON redeliveries (last_at);
-- Attempts in flight, found without reading every attempt ever made.
CREATE INDEX IF NOT EXISTS attempts_in_flight ON attempts (dispatched_at) WHERE status IN ('dispatched', 'running');
