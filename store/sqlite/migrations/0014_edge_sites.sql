-- What each edge site's OPA agent last reported through the status API,
-- and the health Meridian last announced for it in the event feed.
-- Times are Unix milliseconds; 0 means never.

CREATE TABLE edge_sites (
  site            TEXT PRIMARY KEY,
  created_at      INTEGER NOT NULL,
  active_revision TEXT NOT NULL DEFAULT '',
  agent_id        TEXT NOT NULL DEFAULT '',
  last_seen_at    INTEGER NOT NULL DEFAULT 0,
  activated_at    INTEGER NOT NULL DEFAULT 0,
  error_code      TEXT NOT NULL DEFAULT '',
  error_message   TEXT NOT NULL DEFAULT '',
  health          TEXT NOT NULL DEFAULT '',
  health_since    INTEGER NOT NULL DEFAULT 0,
  behind_since    INTEGER NOT NULL DEFAULT 0
);
