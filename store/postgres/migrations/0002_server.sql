-- The server's records (PR comments, webhooks, API tokens) and GitOps
-- moves, as in SQLite's migration 2.

-- A pull-request comment Meridian posted (or updated) for a plan.
CREATE TABLE pr_comments (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  repo_id     TEXT NOT NULL,
  pr_number   INTEGER NOT NULL,
  plan_id     TEXT NOT NULL,
  comment_id  TEXT NOT NULL,      -- the forge's comment ID, for edits
  body_sha256 TEXT NOT NULL,      -- to skip re-posting an identical body
  posted_at   BIGINT NOT NULL,
  UNIQUE (repo_id, pr_number, plan_id)
);

-- Webhook deliveries, keyed by the forge's delivery ID for idempotency:
-- a claim is one INSERT ... ON CONFLICT, so replicas claim each once.
CREATE TABLE webhook_deliveries (
  delivery_id    TEXT PRIMARY KEY,
  repo_id        TEXT NOT NULL DEFAULT '',
  event          TEXT NOT NULL,
  payload_sha256 TEXT NOT NULL,
  received_at    BIGINT NOT NULL,
  status         TEXT NOT NULL,   -- received, processed, ignored, failed
  run_id         TEXT NOT NULL DEFAULT '',
  error          TEXT NOT NULL DEFAULT ''
);

-- API tokens; only a hash of the secret is stored.
CREATE TABLE api_tokens (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  token_sha256 TEXT NOT NULL UNIQUE,
  scopes       TEXT NOT NULL,     -- space-separated, e.g. "role:operator"
  repo_id      TEXT NOT NULL DEFAULT '', -- empty: every repo
  created_by   TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT,
  revoked_at   BIGINT,
  last_used_at BIGINT
);

-- GitOps make-before-break moves (store.Moves): repo_id holds the move's
-- scope, from_target and to_target comma-separated target names.
CREATE TABLE moves (
  id          TEXT PRIMARY KEY,
  repo_id     TEXT NOT NULL,
  workload    TEXT NOT NULL,
  from_target TEXT NOT NULL,
  to_target   TEXT NOT NULL,
  plan_id     TEXT NOT NULL,
  state       TEXT NOT NULL,
  fence_token BIGINT NOT NULL DEFAULT 0,
  detail      TEXT NOT NULL DEFAULT '',
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL
);
CREATE INDEX moves_scope ON moves (repo_id, workload);
