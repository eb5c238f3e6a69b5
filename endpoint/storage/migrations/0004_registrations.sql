-- Registrations and applications name what they are for: `about` holds the slug of
-- the training or intern call (empty for other forms), and `status` a registration's
-- place: registered, waitlisted or cancelled (empty for other forms).

ALTER TABLE submissions ADD COLUMN about TEXT NOT NULL DEFAULT '';
ALTER TABLE submissions ADD COLUMN status TEXT NOT NULL DEFAULT '';

-- Counts the places taken and finds the waitlist's first person, per training. It
-- leads with `about`, so the database never takes it for a query by form and time
-- (PostgreSQL did, for the duplicate check, and every signup got slower).
CREATE INDEX submissions_about ON submissions (about, form_id, status, submitted_at);
