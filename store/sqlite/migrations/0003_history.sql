-- The control plane's record over time: the event log behind the live
-- feed, the finding lifecycle per repo and branch, cost history and drift
-- records. Times are Unix milliseconds, as everywhere in this schema.

-- The event log. AUTOINCREMENT, so that an ID is never reused after the
-- newest events are pruned: a subscriber resuming after ID n must never be
-- handed an older event under a newer number. Rows are never updated;
-- retention deletes old rows.
CREATE TABLE events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  type        TEXT NOT NULL,
  at          INTEGER NOT NULL,
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
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;

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
  first_seen      INTEGER NOT NULL,
  last_seen       INTEGER NOT NULL,
  first_commit    TEXT NOT NULL DEFAULT '',
  last_commit     TEXT NOT NULL DEFAULT '',
  resolved_commit TEXT NOT NULL DEFAULT '',
  resolved_at     INTEGER,
  waiver          TEXT NOT NULL DEFAULT '', -- meridian.FindingWaiver as JSON, or empty
  note            TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (repo_id, branch, fingerprint)
);
CREATE INDEX finding_records_state ON finding_records (repo_id, branch, state);

-- A plan's or an apply's monthly cost (meridian.CostPoint), and its
-- breakdown along each dimension. No foreign key to plans: plan retention
-- must never delete cost history.
CREATE TABLE cost_points (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  repo_id    TEXT NOT NULL,
  branch     TEXT NOT NULL DEFAULT '',
  kind       TEXT NOT NULL CHECK (kind IN ('applied', 'planned')),
  plan_id    TEXT NOT NULL DEFAULT '',
  commit_sha TEXT NOT NULL DEFAULT '',
  at         INTEGER NOT NULL,
  total      REAL NOT NULL
);
CREATE INDEX cost_points_repo_at ON cost_points (repo_id, at);

CREATE TABLE cost_values (
  point_id  INTEGER NOT NULL REFERENCES cost_points (id) ON DELETE CASCADE,
  dimension TEXT NOT NULL,
  value     TEXT NOT NULL,
  amount    REAL NOT NULL,
  PRIMARY KEY (point_id, dimension, value)
);

-- Drift across checks (meridian.DriftRecord): open while cleared_at is
-- NULL, at most one open record per engine, target, workload and resource.
CREATE TABLE drift_records (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  repo_id    TEXT NOT NULL,
  engine     TEXT NOT NULL CHECK (engine IN ('terraform', 'deploy-repo', 'argocd', 'live')),
  target     TEXT NOT NULL DEFAULT '',
  workload   TEXT NOT NULL DEFAULT '',
  resource   TEXT NOT NULL DEFAULT '',
  action     TEXT NOT NULL DEFAULT '',
  expected   TEXT NOT NULL DEFAULT '',  -- redacted by the caller
  actual     TEXT NOT NULL DEFAULT '',  -- redacted by the caller
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  cleared_at INTEGER
);
CREATE UNIQUE INDEX drift_records_open ON drift_records (repo_id, engine, target, workload, resource) WHERE cleared_at IS NULL;
