-- Core tables: what `meridian apply`, `drift` and `unlock` need. The
-- PostgreSQL schema mirrors SQLite's (store/sqlite/migrations) as of its
-- migration 8, so the two backends' rows read back the same: times are
-- Unix milliseconds (UTC) in BIGINT columns, flags are 0/1 integers, JSON
-- documents are TEXT. Every row carries the config repo's ID. SQLite's
-- drift_observations (migration 1, folded into drift records by its
-- migration 4) never existed here.

CREATE TABLE repos (
  id         TEXT PRIMARY KEY,
  source     TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

-- A saved plan, keyed by its content-derived ID.
CREATE TABLE plans (
  id          TEXT PRIMARY KEY,
  repo_id     TEXT NOT NULL,
  source      TEXT NOT NULL,
  ref         TEXT NOT NULL DEFAULT '',
  commit_sha  TEXT NOT NULL DEFAULT '',
  dirty       INTEGER NOT NULL DEFAULT 0,
  tree_digest TEXT NOT NULL DEFAULT '',
  document    TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  created_by  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX plans_repo ON plans (repo_id, created_at DESC);

-- A plan's Terraform artefacts, one row per target.
CREATE TABLE plan_targets (
  plan_id       TEXT NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
  repo_id       TEXT NOT NULL,
  target        TEXT NOT NULL,
  dir           TEXT NOT NULL,
  inputs_digest TEXT NOT NULL,
  state_serial  BIGINT NOT NULL,
  state_lineage TEXT NOT NULL,
  change        TEXT NOT NULL, -- meridian.TargetChange as JSON
  placements    TEXT NOT NULL, -- [{workload, replicas}] as JSON
  show_json     TEXT NOT NULL DEFAULT '', -- terraform show -json, redacted
  PRIMARY KEY (plan_id, target)
);

-- Every plan, apply and drift run; per-target runs point at their parent.
CREATE TABLE runs (
  id          TEXT PRIMARY KEY,
  parent_id   TEXT NOT NULL DEFAULT '',
  repo_id     TEXT NOT NULL,
  kind        TEXT NOT NULL,
  plan_id     TEXT NOT NULL DEFAULT '',
  target      TEXT NOT NULL DEFAULT '',
  status      TEXT NOT NULL,
  host        TEXT NOT NULL DEFAULT '',
  pid         INTEGER NOT NULL DEFAULT 0,
  actor       TEXT NOT NULL DEFAULT '',
  started_at  BIGINT NOT NULL,
  finished_at BIGINT,
  output      TEXT NOT NULL DEFAULT '',
  error       TEXT NOT NULL DEFAULT '',
  detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_repo ON runs (repo_id, started_at DESC);
CREATE INDEX runs_parent ON runs (parent_id);
CREATE INDEX runs_plan ON runs (plan_id);

-- One row per (repo, target), kept when released so that the fencing token
-- only ever grows. Writers lock the row (SELECT ... FOR UPDATE) before
-- they read it.
CREATE TABLE locks (
  repo_id     TEXT NOT NULL,
  target      TEXT NOT NULL,
  token       BIGINT NOT NULL,
  held        INTEGER NOT NULL,
  host        TEXT NOT NULL DEFAULT '',
  pid         INTEGER NOT NULL DEFAULT 0,
  actor       TEXT NOT NULL DEFAULT '',
  plan_id     TEXT NOT NULL DEFAULT '',
  run_id      TEXT NOT NULL DEFAULT '',
  acquired_at BIGINT NOT NULL DEFAULT 0,
  renewed_at  BIGINT NOT NULL DEFAULT 0,
  expires_at  BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (repo_id, target)
);

-- The applied-state ledger: what runs where, as last applied.
CREATE TABLE ledger (
  repo_id    TEXT NOT NULL,
  target     TEXT NOT NULL,
  workload   TEXT NOT NULL,
  plan_id    TEXT NOT NULL,
  commit_sha TEXT NOT NULL,
  replicas   INTEGER NOT NULL,
  run_id     TEXT NOT NULL,
  applied_at BIGINT NOT NULL,
  PRIMARY KEY (repo_id, target, workload)
);

-- The last successful apply per target: its artefacts and state serial.
CREATE TABLE applied_targets (
  repo_id       TEXT NOT NULL,
  target        TEXT NOT NULL,
  plan_id       TEXT NOT NULL,
  run_id        TEXT NOT NULL,
  commit_sha    TEXT NOT NULL,
  dir           TEXT NOT NULL,
  state_serial  BIGINT NOT NULL,
  state_lineage TEXT NOT NULL,
  applied_at    BIGINT NOT NULL,
  PRIMARY KEY (repo_id, target)
);

CREATE TABLE audit_log (
  id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at      BIGINT NOT NULL,
  repo_id TEXT NOT NULL DEFAULT '',
  actor   TEXT NOT NULL DEFAULT '',
  action  TEXT NOT NULL,
  target  TEXT NOT NULL DEFAULT '',
  plan_id TEXT NOT NULL DEFAULT '',
  run_id  TEXT NOT NULL DEFAULT '',
  detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_repo ON audit_log (repo_id, id);

-- Rows are immutable: a trigger refuses every UPDATE and DELETE, and one
-- per statement refuses TRUNCATE, which row triggers do not see.
CREATE FUNCTION meridian_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION meridian_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION meridian_append_only();
