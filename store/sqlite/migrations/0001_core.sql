-- Core tables: what `meridian apply`, `drift` and `unlock` need.
-- Times are Unix milliseconds (UTC). Every row carries the config repo's ID.

CREATE TABLE repos (
  id         TEXT PRIMARY KEY,
  source     TEXT NOT NULL,
  created_at INTEGER NOT NULL
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
  created_at  INTEGER NOT NULL,
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
  state_serial  INTEGER NOT NULL,
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
  started_at  INTEGER NOT NULL,
  finished_at INTEGER,
  output      TEXT NOT NULL DEFAULT '',
  error       TEXT NOT NULL DEFAULT '',
  detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_repo ON runs (repo_id, started_at DESC);
CREATE INDEX runs_parent ON runs (parent_id);
CREATE INDEX runs_plan ON runs (plan_id);

-- One row per (repo, target), kept when released so that the fencing token
-- only ever grows.
CREATE TABLE locks (
  repo_id     TEXT NOT NULL,
  target      TEXT NOT NULL,
  token       INTEGER NOT NULL,
  held        INTEGER NOT NULL,
  host        TEXT NOT NULL DEFAULT '',
  pid         INTEGER NOT NULL DEFAULT 0,
  actor       TEXT NOT NULL DEFAULT '',
  plan_id     TEXT NOT NULL DEFAULT '',
  run_id      TEXT NOT NULL DEFAULT '',
  acquired_at INTEGER NOT NULL DEFAULT 0,
  renewed_at  INTEGER NOT NULL DEFAULT 0,
  expires_at  INTEGER NOT NULL DEFAULT 0,
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
  applied_at INTEGER NOT NULL,
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
  state_serial  INTEGER NOT NULL,
  state_lineage TEXT NOT NULL,
  applied_at    INTEGER NOT NULL,
  PRIMARY KEY (repo_id, target)
);

-- Drift from any source: kind is "terraform" now, "argocd" later.
CREATE TABLE drift_observations (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  repo_id     TEXT NOT NULL,
  run_id      TEXT NOT NULL DEFAULT '',
  kind        TEXT NOT NULL,
  target      TEXT NOT NULL DEFAULT '',
  workload    TEXT NOT NULL DEFAULT '',
  address     TEXT NOT NULL DEFAULT '',
  action      TEXT NOT NULL DEFAULT '',
  detail      TEXT NOT NULL DEFAULT '',
  observed_at INTEGER NOT NULL
);
CREATE INDEX drift_repo ON drift_observations (repo_id, observed_at DESC);

CREATE TABLE audit_log (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  at      INTEGER NOT NULL,
  repo_id TEXT NOT NULL DEFAULT '',
  actor   TEXT NOT NULL DEFAULT '',
  action  TEXT NOT NULL,
  target  TEXT NOT NULL DEFAULT '',
  plan_id TEXT NOT NULL DEFAULT '',
  run_id  TEXT NOT NULL DEFAULT '',
  detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_repo ON audit_log (repo_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
