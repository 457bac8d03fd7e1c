-- Edge sites' credentials for the OPA bundle and status endpoints
-- (docs/edge.md). Only the SHA-256 of a credential is kept; a site may hold
-- several (rotation), each revoked on its own.

CREATE TABLE edge_credentials (
  id         TEXT PRIMARY KEY,
  site       TEXT NOT NULL,
  sha256     TEXT NOT NULL UNIQUE,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX edge_credentials_site ON edge_credentials (site);
