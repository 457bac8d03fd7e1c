-- Edge sites' credentials for the OPA bundle and status endpoints
-- (docs/edge.md). Only the SHA-256 of a credential is kept; a site may hold
-- several (rotation), each revoked on its own.

CREATE TABLE edge_credentials (
  id         TEXT PRIMARY KEY,
  site       TEXT NOT NULL,
  sha256     TEXT NOT NULL UNIQUE,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX edge_credentials_site ON edge_credentials (site);
