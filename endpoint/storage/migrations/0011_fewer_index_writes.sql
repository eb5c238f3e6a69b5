-- Every index is written on every submission (issue 11): two fewer for a signup sent
-- without JavaScript, one fewer with it.
--
-- A form's idempotency token is unique, but only a submission with one needs indexing:
-- NULL tokens never conflict, and every look-up by token names one (`token = ?`,
-- which both databases know excludes NULL). INSERT ... ON CONFLICT DO NOTHING still
-- skips a repeated token through the partial index.
DROP INDEX submissions_form_token;
CREATE UNIQUE INDEX submissions_form_token ON submissions (form_id, idempotency_token)
    WHERE idempotency_token IS NOT NULL;

-- Queries by form (and time) use submissions_status (form_id, status, submitted_at)
-- instead: exports and counts, run by organizers, sort what they read.
DROP INDEX submissions_form_time;
