-- The control plane's record over time: the event log behind the live
-- feed, the finding lifecycle per repo and branch, cost history and drift
-- records (SQLite's migrations 3, 4 and 8).

-- The event log. The IDs come from an identity sequence, which never hands
-- a number out twice (not after pruning, not after a rollback). A sequence
-- is not commit-ordered on its own, so appenders take an advisory lock
-- first (see appendEvents in events.go). Rows are never updated; retention
-- deletes old rows.
CREATE TABLE events (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  type        TEXT NOT NULL,
  at          BIGINT NOT NULL,
  repo_id     TEXT NOT NULL DEFAULT '',
  branch      TEXT NOT NULL DEFAULT '',
  commit_sha  TEXT NOT NULL DEFAULT '',
  plan_id     TEXT NOT NULL DEFAULT '',
  run_id      TEXT NOT NULL DEFAULT '',
  target      TEXT NOT NULL DEFAULT '',
  workload    TEXT NOT NULL DEFAULT '',
  fingerprint TEXT NOT NULL DEFAULT '',
  payload     TEXT NOT NULL DEFAULT ''   -- a JSON object, or empty
);
CREATE INDEX events_at ON events (at);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
  FOR EACH ROW EXECUTE FUNCTION meridian_append_only();

-- One finding's lifecycle on one branch (meridian.FindingRecord).
CREATE TABLE finding_records (
  repo_id         TEXT NOT NULL,
  branch          TEXT NOT NULL,
  fingerprint     TEXT NOT NULL,
  rule            TEXT NOT NULL,
  severity        TEXT NOT NULL,
  workload        TEXT NOT NULL DEFAULT '',
  target          TEXT NOT NULL DEFAULT '',
  field           TEXT NOT NULL DEFAULT '',
  team            TEXT NOT NULL DEFAULT '',
  message         TEXT NOT NULL DEFAULT '',
  file            TEXT NOT NULL DEFAULT '',
  line            INTEGER NOT NULL DEFAULT 0,
  state           TEXT NOT NULL CHECK (state IN ('open', 'resolved', 'waived')),
  first_seen      BIGINT NOT NULL,
  last_seen       BIGINT NOT NULL,
  first_commit    TEXT NOT NULL DEFAULT '',
  last_commit     TEXT NOT NULL DEFAULT '',
  resolved_commit TEXT NOT NULL DEFAULT '',
  resolved_at     BIGINT,
  waiver          TEXT NOT NULL DEFAULT '', -- meridian.FindingWaiver as JSON, or empty
  note            TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (repo_id, branch, fingerprint)
);
CREATE INDEX finding_records_state ON finding_records (repo_id, branch, state);

-- A plan's or an apply's monthly cost (meridian.CostPoint), and its
-- breakdown along each dimension. No foreign key to plans: plan retention
-- must never delete cost history.
CREATE TABLE cost_points (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  repo_id    TEXT NOT NULL,
  branch     TEXT NOT NULL DEFAULT '',
  kind       TEXT NOT NULL CHECK (kind IN ('applied', 'planned')),
  plan_id    TEXT NOT NULL DEFAULT '',
  commit_sha TEXT NOT NULL DEFAULT '',
  at         BIGINT NOT NULL,
  total      DOUBLE PRECISION NOT NULL
);
CREATE INDEX cost_points_repo_at ON cost_points (repo_id, at);

CREATE TABLE cost_values (
  point_id  BIGINT NOT NULL REFERENCES cost_points (id) ON DELETE CASCADE,
  dimension TEXT NOT NULL,
  value     TEXT NOT NULL,
  amount    DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (point_id, dimension, value)
);

-- Drift across checks (meridian.DriftRecord): open while cleared_at is
-- NULL, at most one open record per engine, target, workload and resource.
CREATE TABLE drift_records (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  repo_id    TEXT NOT NULL,
  engine     TEXT NOT NULL CHECK (engine IN ('terraform', 'deploy-repo', 'argocd', 'live', 'crossplane')),
  target     TEXT NOT NULL DEFAULT '',
  workload   TEXT NOT NULL DEFAULT '',
  resource   TEXT NOT NULL DEFAULT '',
  action     TEXT NOT NULL DEFAULT '',
  expected   TEXT NOT NULL DEFAULT '',  -- redacted by the caller
  actual     TEXT NOT NULL DEFAULT '',  -- redacted by the caller
  first_seen BIGINT NOT NULL,
  last_seen  BIGINT NOT NULL,
  cleared_at BIGINT
);
CREATE UNIQUE INDEX drift_records_open ON drift_records (repo_id, engine, target, workload, resource) WHERE cleared_at IS NULL;
CREATE INDEX drift_records_list ON drift_records (repo_id, cleared_at);
