-- Fair target locks (issue 17): a request that waits for a lock queues
-- here, and a free lock goes only to the oldest live waiter, first come,
-- first served across processes. A waiter renews its place each time it
-- asks; one that stops asking (a killed process) loses it once expires_at
-- has passed. The id is the queue's order.
CREATE TABLE lock_waiters (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  repo_id     TEXT NOT NULL,
  target      TEXT NOT NULL,
  waiter      TEXT NOT NULL,
  host        TEXT NOT NULL DEFAULT '',
  pid         INTEGER NOT NULL DEFAULT 0,
  actor       TEXT NOT NULL DEFAULT '',
  plan_id     TEXT NOT NULL DEFAULT '',
  run_id      TEXT NOT NULL DEFAULT '',
  enqueued_at INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  UNIQUE (repo_id, target, waiter)
);
CREATE INDEX lock_waiters_queue ON lock_waiters (repo_id, target, id);
