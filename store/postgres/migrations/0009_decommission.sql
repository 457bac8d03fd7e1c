-- Decommissioning: the protect flag of each target as last applied, and
-- the consent given to destroy targets and workloads that left the config.

-- A row per target recorded as protect: true.
CREATE TABLE protected_targets (
  repo_id    TEXT NOT NULL,
  target     TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (repo_id, target)
);

-- Destroy approvals: through the API (plan_id) or in a pull request (pr,
-- head_sha; effective from merged_at). Times are 0 until they happen.
CREATE TABLE destroy_approvals (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  repo_id    TEXT NOT NULL,
  plan_id    TEXT NOT NULL DEFAULT '',
  pr         INTEGER NOT NULL DEFAULT 0,
  head_sha   TEXT NOT NULL DEFAULT '',
  items      TEXT NOT NULL, -- JSON array of "target/NAME", "workload/NAME"
  actor      TEXT NOT NULL,
  via        TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  merged_at  BIGINT NOT NULL DEFAULT 0,
  used_at    BIGINT NOT NULL DEFAULT 0,
  used_plan  TEXT NOT NULL DEFAULT '',
  revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX destroy_approvals_open ON destroy_approvals (repo_id, used_at, revoked_at);
