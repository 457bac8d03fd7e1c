-- Drift engine crossplane (meridian.DriftEngineCrossplane): the managed
-- resources Meridian renders, read back from their cluster. SQLite cannot
-- change a CHECK constraint in place, so drift_records is rebuilt with the
-- new engine allowed; rows, ids and indexes stay as they were.
CREATE TABLE drift_records_0008 (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  repo_id    TEXT NOT NULL,
  engine     TEXT NOT NULL CHECK (engine IN ('terraform', 'deploy-repo', 'argocd', 'live', 'crossplane')),
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

INSERT INTO drift_records_0008 (id, repo_id, engine, target, workload, resource, action, expected, actual, first_seen, last_seen, cleared_at)
SELECT id, repo_id, engine, target, workload, resource, action, expected, actual, first_seen, last_seen, cleared_at
FROM drift_records;

-- Ids are never handed out twice, not even those of rows deleted from the
-- top: the new table continues the old one's sequence.
DELETE FROM sqlite_sequence WHERE name = 'drift_records_0008';
INSERT INTO sqlite_sequence (name, seq) SELECT 'drift_records_0008', seq FROM sqlite_sequence WHERE name = 'drift_records';

DROP TABLE drift_records;
ALTER TABLE drift_records_0008 RENAME TO drift_records;

CREATE UNIQUE INDEX drift_records_open ON drift_records (repo_id, engine, target, workload, resource) WHERE cleared_at IS NULL;
CREATE INDEX drift_records_list ON drift_records (repo_id, cleared_at);
