-- When an edge site's last live credential was revoked (Unix
-- milliseconds; 0: it has one): a retired site is assessed no more, and
-- its alerts resolve (docs/edge.md#retiring-a-site).
ALTER TABLE edge_sites ADD COLUMN retired_at INTEGER NOT NULL DEFAULT 0;
