-- Alerting (package alerting): watched conditions, the alert outbox,
-- alerts, groups, deliveries and silences (SQLite's migration 5). Times
-- are Unix milliseconds.

-- One row per event that can start, change or end an alert, written in
-- the transaction that appends the event, so that a crash between the
-- event and its notification loses nothing. No foreign key: event
-- retention may prune the event first, and the dispatcher then skips it.
CREATE TABLE alert_outbox (
  event_id     BIGINT PRIMARY KEY,
  created_at   BIGINT NOT NULL,
  processed_at BIGINT
);
CREATE INDEX alert_outbox_pending ON alert_outbox (event_id) WHERE processed_at IS NULL;

-- Watched conditions (meridian.ConditionRecord): open while cleared_at
-- is NULL, at most one open record per repo, source and fingerprint.
CREATE TABLE alert_conditions (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  repo_id     TEXT NOT NULL,
  source      TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  record      TEXT NOT NULL,  -- meridian.ConditionRecord as JSON
  first_seen  BIGINT NOT NULL,
  last_seen   BIGINT NOT NULL,
  cleared_at  BIGINT
);
CREATE UNIQUE INDEX alert_conditions_open ON alert_conditions (repo_id, source, fingerprint) WHERE cleared_at IS NULL;

-- Alerts by ID (hash of fingerprint and target).
CREATE TABLE alerts (
  id          TEXT PRIMARY KEY,
  repo_id     TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('firing', 'resolved', 'silenced')),
  silenced_by TEXT NOT NULL DEFAULT '',
  sinks       TEXT NOT NULL DEFAULT '',  -- comma-separated sink names
  doc         TEXT NOT NULL,             -- meridian.Alert as JSON
  updated_at  BIGINT NOT NULL
);
CREATE INDEX alerts_fingerprint ON alerts (repo_id, fingerprint);
CREATE INDEX alerts_state ON alerts (state, updated_at);

-- A sink's group of alerts: the unit one message is about.
CREATE TABLE alert_groups (
  sink              TEXT NOT NULL,
  group_key         TEXT NOT NULL,
  route_id          TEXT NOT NULL DEFAULT '',
  seq               BIGINT NOT NULL DEFAULT 0,
  flush_at          BIGINT NOT NULL DEFAULT 0,  -- 0: nothing pending
  repeat_at         BIGINT NOT NULL DEFAULT 0,  -- 0: no repeat
  last_flush_at     BIGINT NOT NULL DEFAULT 0,
  group_interval_ms BIGINT NOT NULL DEFAULT 0,
  repeat_ms         BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (sink, group_key)
);

CREATE TABLE alert_group_members (
  sink      TEXT NOT NULL,
  group_key TEXT NOT NULL,
  alert_id  TEXT NOT NULL,
  pending   INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (sink, group_key, alert_id),
  FOREIGN KEY (sink, group_key) REFERENCES alert_groups (sink, group_key) ON DELETE CASCADE
);

-- One message to one sink and its delivery state. Dead letters are the
-- rows with status dead: kept until replayed.
CREATE TABLE alert_deliveries (
  id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key             TEXT NOT NULL UNIQUE,  -- idempotency key
  sink            TEXT NOT NULL,
  group_key       TEXT NOT NULL,
  message         TEXT NOT NULL,         -- alerting.Message as JSON
  status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  last_error      TEXT NOT NULL DEFAULT '',
  delivered_at    BIGINT,
  created_at      BIGINT NOT NULL
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (status, next_attempt_at);

-- Operators' time-boxed silences (meridian.Silence).
CREATE TABLE alert_silences (
  id         TEXT PRIMARY KEY,
  repo_id    TEXT NOT NULL DEFAULT '',
  doc        TEXT NOT NULL,  -- meridian.Silence as JSON
  starts_at  BIGINT NOT NULL,
  ends_at    BIGINT NOT NULL,
  expired_at BIGINT,
  created_at BIGINT NOT NULL
);
