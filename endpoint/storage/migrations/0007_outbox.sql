-- Mail to the people who sent a form (the organizers' notification is the
-- submission's own notify_state): a registration's confirmation (registered or
-- waitlisted), a place given up (cancelled) or offered from the waitlist (promoted),
-- an intern application received (applied). A row is queued in the same transaction
-- as what it tells, so a crash between the two cannot lose a mail; it stays pending
-- until a send succeeds (after the answer, or `invoke notify`). Only ids, the kind and
-- times: the address and the text come from the submission when the mail is sent, and
-- `forget` deletes a person's rows with their submissions.

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    submission_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at TEXT,
    -- One mail of each kind per submission: queueing it again changes nothing.
    UNIQUE (submission_id, kind)
);

-- What is still to be sent, oldest first (only pending rows are indexed).
CREATE INDEX outbox_pending ON outbox (created_at) WHERE state = 'pending';
