-- One drift type (meridian.DriftRecord): the drift observations of
-- migration 1, one row per drift run that saw a difference, become drift
-- records, and their table goes.
--
-- Observations of one resource (repo, engine, target, workload, address)
-- merge into one record while consecutive drift runs of the repo saw them
-- with the same action and detail; a run that did not see the resource,
-- or a new action or detail, starts a new record. So each record is one
-- unbroken streak: first_seen and last_seen are its first and last
-- observation, the runs that saw it are the repo's drift runs between
-- them (the runs table keeps them), and no detail is dropped.
--
-- The old detail is the record's actual; expected stays empty, as the old
-- rows never said it apart. A kind other than the engines the records
-- know (none was ever written) becomes engine live with the kind kept in
-- front of the detail.
--
-- A streak the repo's latest drift run saw is still open, as the next
-- check would have found it; any other is cleared at the start of the
-- first drift run after it (the check that no longer saw it), or at its
-- last observation when that run is gone.
CREATE TEMP TABLE drift_0004 AS
WITH runs_drift AS (
  SELECT id, repo_id, started_at,
         ROW_NUMBER() OVER (PARTITION BY repo_id ORDER BY started_at, id) AS n
  FROM runs WHERE kind = 'drift' AND parent_id = ''
),
obs AS (
  SELECT o.id, o.repo_id, o.target, o.workload, o.address, o.action, o.observed_at, r.n,
         CASE WHEN o.kind IN ('terraform', 'deploy-repo', 'argocd', 'live') THEN o.kind ELSE 'live' END AS engine,
         CASE WHEN o.kind IN ('terraform', 'deploy-repo', 'argocd', 'live') THEN o.detail ELSE o.kind || ': ' || o.detail END AS detail
  FROM drift_observations o LEFT JOIN runs_drift r ON r.id = o.run_id AND r.repo_id = o.repo_id
),
marked AS (
  SELECT *,
         CASE WHEN n IS NOT NULL
               AND LAG(n) OVER k = n - 1
               AND LAG(action) OVER k = action
               AND LAG(detail) OVER k = detail
              THEN 0 ELSE 1 END AS starts
  FROM obs
  WINDOW k AS (PARTITION BY repo_id, engine, target, workload, address ORDER BY observed_at, id)
),
streaks AS (
  SELECT *, SUM(starts) OVER (PARTITION BY repo_id, engine, target, workload, address
                              ORDER BY observed_at, id ROWS UNBOUNDED PRECEDING) AS streak
  FROM marked
)
SELECT repo_id, engine, target, workload, address, action, detail,
       MIN(observed_at) AS first_seen, MAX(observed_at) AS last_seen, MAX(n) AS last_n, MAX(id) AS last_id
FROM streaks
GROUP BY repo_id, engine, target, workload, address, streak;

INSERT INTO drift_records (repo_id, engine, target, workload, resource, action, expected, actual, first_seen, last_seen, cleared_at)
SELECT d.repo_id, d.engine, d.target, d.workload, d.address, d.action, '', d.detail, d.first_seen, d.last_seen,
       CASE
         -- Open: the latest drift run saw it, no open record of the key
         -- exists yet, and it is the key's newest streak.
         WHEN d.last_n IS NOT NULL
          AND d.last_n = (SELECT MAX(n) FROM (SELECT ROW_NUMBER() OVER (ORDER BY started_at, id) AS n
                                              FROM runs WHERE kind = 'drift' AND parent_id = '' AND repo_id = d.repo_id))
          AND d.last_id = (SELECT MAX(e.last_id) FROM drift_0004 e
                           WHERE e.repo_id = d.repo_id AND e.engine = d.engine AND e.target = d.target
                             AND e.workload = d.workload AND e.address = d.address)
          AND NOT EXISTS (SELECT 1 FROM drift_records r
                          WHERE r.repo_id = d.repo_id AND r.engine = d.engine AND r.target = d.target
                            AND r.workload = d.workload AND r.resource = d.address AND r.cleared_at IS NULL)
         THEN NULL
         ELSE COALESCE((SELECT MIN(started_at) FROM runs
                        WHERE kind = 'drift' AND parent_id = '' AND repo_id = d.repo_id AND started_at > d.last_seen),
                       d.last_seen)
       END
FROM drift_0004 d
ORDER BY d.first_seen, d.last_id;

DROP TABLE drift_0004;
DROP INDEX drift_repo;
DROP TABLE drift_observations;

CREATE INDEX drift_records_list ON drift_records (repo_id, cleared_at);
