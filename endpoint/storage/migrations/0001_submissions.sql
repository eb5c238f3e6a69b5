-- Submissions and rate-limit hits. Portable SQL: runs on SQLite and PostgreSQL.
-- Times are UTC ISO 8601 text (YYYY-MM-DDTHH:MM:SS.ffffffZ), which sorts correctly.

CREATE TABLE submissions (
    id TEXT PRIMARY KEY,
    form_id TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    -- JSON object holding exactly the fields the form defines (source aside).
    fields TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    consent_at TEXT NOT NULL,
    consent_version TEXT NOT NULL,
    consent_sha256 TEXT NOT NULL,
    page_url TEXT NOT NULL DEFAULT '',
    ip_hash TEXT NOT NULL,
    user_agent TEXT NOT NULL DEFAULT '',
    idempotency_token TEXT,
    -- Lookup keys derived from the fields: the lower-cased e-mail address (for
    -- forget and duplicate detection) and a hash of the cleaned values.
    email TEXT NOT NULL DEFAULT '',
    content_hash TEXT NOT NULL,
    -- pending (to send), sent, or none (the form notifies nobody).
    notify_state TEXT NOT NULL,
    notify_attempts INTEGER NOT NULL DEFAULT 0,
    notified_at TEXT
);

CREATE UNIQUE INDEX submissions_form_token ON submissions (form_id, idempotency_token);
CREATE INDEX submissions_form_time ON submissions (form_id, submitted_at);
CREATE INDEX submissions_email ON submissions (email);
CREATE INDEX submissions_notify_state ON submissions (notify_state);

-- One row per POST, keyed by the salted hash of the sender's IP address.
CREATE TABLE rate_hits (
    ip_hash TEXT NOT NULL,
    hit_at TEXT NOT NULL
);

CREATE INDEX rate_hits_ip_time ON rate_hits (ip_hash, hit_at);
CREATE INDEX rate_hits_time ON rate_hits (hit_at);
