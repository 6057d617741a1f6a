-- The installation a run belongs to: a profile's max_parallel counts the attempts of one installation, not of every
-- installation of the App. Runs stored before this have none and count for every installation (the safe side).
ALTER TABLE runs ADD COLUMN IF NOT EXISTS installation_id bigint;
CREATE INDEX IF NOT EXISTS runs_installation ON runs (installation_id);
