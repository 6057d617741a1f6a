-- The installation a run belongs to: a profile's max_parallel counts the attempts of one installation, not of every
-- installation of the App. Runs stored before this have none and count for every installation (the safe side).
ALTER TABLE runs ADD COLUMN IF NOT EXISTS installation_id bigint;
CREATE INDEX IF NOT EXISTS runs_installation ON runs (installation_id);

-- What each attempt was granted (its cost cap): until its result says what it spent, that much of the month's budget
-- is reserved, so attempts running side by side cannot together spend past it.
ALTER TABLE attempts ADD COLUMN IF NOT EXISTS granted_usd numeric(14, 6);
