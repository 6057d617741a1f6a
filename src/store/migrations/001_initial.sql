-- Trellis schema, version 1. Plain SQL that runs unchanged on PostgreSQL 15+ and PGlite.
-- Run and batch states are the reducer's JSON; the other tables are queryable projections and facts.

CREATE TABLE installations (
  id bigint PRIMARY KEY,
  account text NOT NULL,
  account_type text NOT NULL DEFAULT 'Organization',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  suspended_at timestamptz,
  deleted_at timestamptz
);

CREATE TABLE repos (
  full_name text PRIMARY KEY, -- owner/name
  github_id bigint,
  installation_id bigint NOT NULL REFERENCES installations (id) ON DELETE CASCADE,
  added_at timestamptz NOT NULL DEFAULT now(),
  removed_at timestamptz
);
CREATE INDEX repos_installation ON repos (installation_id);

CREATE TABLE batches (
  id text PRIMARY KEY,
  repo text NOT NULL,
  tracking_issue integer NOT NULL,
  strategy text NOT NULL,
  parallel integer NOT NULL CHECK (parallel > 0),
  status text NOT NULL,
  state jsonb NOT NULL,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (repo, tracking_issue)
);

CREATE TABLE runs (
  id text PRIMARY KEY,
  repo text NOT NULL,
  issue integer NOT NULL,
  status text NOT NULL,
  state jsonb NOT NULL,
  batch_id text REFERENCES batches (id) ON DELETE SET NULL,
  cost_usd numeric(14, 6) NOT NULL DEFAULT 0,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runs_issue ON runs (repo, issue);
CREATE INDEX runs_batch ON runs (batch_id) WHERE batch_id IS NOT NULL;

-- Projection of each run's stages (kept in step by saveRun) for metrics and queries.
CREATE TABLE stages (
  run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  stage text NOT NULL,
  status text NOT NULL,
  profile text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, stage)
);

CREATE TABLE tickets (
  batch_id text NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
  key text NOT NULL,
  title text NOT NULL,
  issue integer,
  run_id text REFERENCES runs (id) ON DELETE SET NULL,
  status text NOT NULL,
  depends_on jsonb NOT NULL DEFAULT '[]',
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (batch_id, key)
);

CREATE TABLE attempts (
  id text PRIMARY KEY,
  run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  stage text NOT NULL,
  number integer NOT NULL,
  profile text NOT NULL,
  reviewer text,
  status text NOT NULL,
  workflow_run_id bigint,
  run_url text,
  dispatched_at timestamptz,
  started_at timestamptz,
  finished_at timestamptz,
  cost_usd numeric(14, 6) NOT NULL DEFAULT 0,
  input_tokens bigint NOT NULL DEFAULT 0,
  output_tokens bigint NOT NULL DEFAULT 0
);
CREATE INDEX attempts_run ON attempts (run_id, stage);
CREATE INDEX attempts_workflow_run ON attempts (workflow_run_id) WHERE workflow_run_id IS NOT NULL;

CREATE TABLE approvals (
  id bigserial PRIMARY KEY,
  run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  stage text NOT NULL,
  actor text NOT NULL,
  decision text NOT NULL CHECK (decision IN ('approve', 'reject')),
  reason text,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX approvals_run ON approvals (run_id, stage);

CREATE TABLE questions (
  id bigserial PRIMARY KEY,
  run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  stage text NOT NULL,
  attempt_id text,
  question text NOT NULL,
  asked_by text NOT NULL,
  asked_at timestamptz NOT NULL DEFAULT now(),
  answer text,
  answered_by text,
  answered_at timestamptz
);
CREATE INDEX questions_open ON questions (run_id) WHERE answer IS NULL;

-- One row per attempt that reported a cost; the attempt id makes re-reporting idempotent.
CREATE TABLE costs (
  attempt_id text PRIMARY KEY,
  run_id text NOT NULL,
  repo text NOT NULL,
  usd numeric(14, 6) NOT NULL CHECK (usd >= 0),
  input_tokens bigint NOT NULL DEFAULT 0,
  output_tokens bigint NOT NULL DEFAULT 0,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX costs_repo_at ON costs (repo, at);

CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  repo text NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_repo_at ON audit_log (repo, at);

-- Webhook deliveries seen (X-GitHub-Delivery); `duplicates` counts redeliveries of the same id.
CREATE TABLE inbox (
  delivery_id text PRIMARY KEY,
  event text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  duplicates integer NOT NULL DEFAULT 0
);

CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  aggregate text NOT NULL,
  key text NOT NULL UNIQUE,
  type text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  run_after timestamptz NOT NULL DEFAULT now(),
  locked_by text,
  locked_until timestamptz,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  done_at timestamptz
);
-- Only unfinished rows are scanned by the claimer and by the per-aggregate ordering check.
CREATE INDEX outbox_open ON outbox (id) WHERE status IN ('pending', 'running');
CREATE INDEX outbox_open_aggregate ON outbox (aggregate, id) WHERE status IN ('pending', 'running');
