-- One row that GET /health writes on every check (an upsert, committed): a database
-- that answers reads but cannot take a write (a full disk, a read-only file, role or
-- replica) fails the check as it fails every submission.

CREATE TABLE health (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at TEXT NOT NULL
);
