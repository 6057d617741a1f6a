-- Approvals, rejections, an agent's question and its answer live in the run's state (runs.state) and in the audit
-- log, where the decision that made them is recorded. These two tables were never written: drop them, so there is
-- one place to look.
DROP TABLE IF EXISTS approvals;
DROP TABLE IF EXISTS questions;
