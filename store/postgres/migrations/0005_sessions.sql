-- Browser sign-in: sessions and one-time sign-in codes. Only the SHA-256
-- of a session secret or a code is kept. token_sha256 is the API token's
-- hash, so that each request re-reads the token by the same unique index
-- the API uses and a revoked or expired token ends its sessions at once.

CREATE TABLE sessions (
  session_sha256 TEXT PRIMARY KEY,
  token_id       TEXT NOT NULL,
  token_sha256   TEXT NOT NULL,
  created_at     BIGINT NOT NULL,
  last_seen_at   BIGINT NOT NULL,
  expires_at     BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- A code is deleted when it is used, so that it works once.
CREATE TABLE login_codes (
  code_sha256  TEXT PRIMARY KEY,
  token_id     TEXT NOT NULL,
  token_sha256 TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT NOT NULL
);
CREATE INDEX login_codes_expiry ON login_codes (expires_at);
