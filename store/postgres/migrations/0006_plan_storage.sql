-- Compact plans (issue 19): the plan document and each target's
-- `terraform show -json` are stored gzip-compressed, the document once per
-- plan ID (document_sha256 tells a re-save whether it changed), and a plan
-- that retention prunes leaves a tombstone, so that asking for it says why
-- it is gone. Rows saved before keep their text columns and read as they
-- are; new rows leave document and show_json empty.
ALTER TABLE plans ADD COLUMN document_gz BYTEA;
ALTER TABLE plans ADD COLUMN document_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE plans ADD COLUMN document_size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE plan_targets ADD COLUMN show_json_gz BYTEA;
ALTER TABLE plan_targets ADD COLUMN show_json_size BIGINT NOT NULL DEFAULT 0;
-- Retention ranks each ref's plans newest first.
CREATE INDEX plans_ref ON plans (repo_id, ref, created_at DESC);

CREATE TABLE pruned_plans (
  id         TEXT PRIMARY KEY,
  repo_id    TEXT NOT NULL,
  ref        TEXT NOT NULL DEFAULT '',
  commit_sha TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  pruned_at  BIGINT NOT NULL
);
CREATE INDEX pruned_plans_repo ON pruned_plans (repo_id);
