-- Several `meridian serve` replicas on one database (package leader).

-- A leader lease: one row per lease name (one per config repo and branch).
-- The holder renews expires_at; another replica takes the lease over once
-- it has expired, with the next token, so that a token names one term.
-- Times are the database's clock: the replicas' clocks need not agree.
-- state is what the leader publishes to the followers (its branch state,
-- JSON).
CREATE TABLE leader_leases (
  name        TEXT PRIMARY KEY,
  holder      TEXT NOT NULL,
  token       BIGINT NOT NULL,
  addr        TEXT NOT NULL DEFAULT '',
  acquired_at TIMESTAMPTZ NOT NULL,
  renewed_at  TIMESTAMPTZ NOT NULL,
  expires_at  TIMESTAMPTZ NOT NULL,
  state       TEXT NOT NULL DEFAULT ''
);

-- Verified webhook deliveries waiting for the leader: whichever replica
-- received one queues its payload here, and the leader processes it and
-- removes the row once webhook_deliveries holds the outcome. A row
-- outlives the replica that received it and the leader that was working
-- on it.
CREATE TABLE webhook_queue (
  delivery_id TEXT PRIMARY KEY,
  repo_id     TEXT NOT NULL,
  event       TEXT NOT NULL,
  payload     BYTEA NOT NULL,
  queued_at   BIGINT NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_queue_repo ON webhook_queue (repo_id, queued_at);
