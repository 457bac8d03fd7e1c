-- Tables reserved for the server (PR comments, webhooks, API tokens) and
-- for GitOps moves. They are created now so that the schema is designed in
-- one piece; no code writes them yet. Changes to them go in new migrations.

-- A pull-request comment Meridian posted (or updated) for a plan.
CREATE TABLE pr_comments (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  repo_id     TEXT NOT NULL,
  pr_number   INTEGER NOT NULL,
  plan_id     TEXT NOT NULL,
  comment_id  TEXT NOT NULL,      -- the forge's comment ID, for edits
  body_sha256 TEXT NOT NULL,      -- to skip re-posting an identical body
  posted_at   INTEGER NOT NULL,
  UNIQUE (repo_id, pr_number, plan_id)
);

-- Webhook deliveries, keyed by the forge's delivery ID for idempotency.
CREATE TABLE webhook_deliveries (
  delivery_id    TEXT PRIMARY KEY,
  repo_id        TEXT NOT NULL DEFAULT '',
  event          TEXT NOT NULL,
  payload_sha256 TEXT NOT NULL,
  received_at    INTEGER NOT NULL,
  status         TEXT NOT NULL,   -- received, processed, ignored, failed
  run_id         TEXT NOT NULL DEFAULT '',
  error          TEXT NOT NULL DEFAULT ''
);

-- API tokens; only a hash of the secret is stored.
CREATE TABLE api_tokens (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  token_sha256 TEXT NOT NULL UNIQUE,
  scopes       TEXT NOT NULL,     -- space-separated, e.g. "plan:read apply"
  repo_id      TEXT NOT NULL DEFAULT '', -- empty: every repo
  created_by   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER,
  revoked_at   INTEGER,
  last_used_at INTEGER
);

-- A make-before-break move of a workload between targets. state walks
-- pending -> target_ready -> traffic_shifted -> source_drained -> done (or
-- rolled_back / failed); every transition also goes to the audit log, and
-- fence_token is the lock token of the run that last moved it.
CREATE TABLE moves (
  id          TEXT PRIMARY KEY,
  repo_id     TEXT NOT NULL,
  workload    TEXT NOT NULL,
  from_target TEXT NOT NULL,
  to_target   TEXT NOT NULL,
  plan_id     TEXT NOT NULL,
  state       TEXT NOT NULL,
  fence_token INTEGER NOT NULL DEFAULT 0,
  detail      TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX moves_open ON moves (repo_id, workload) WHERE state NOT IN ('done', 'rolled_back', 'failed');
