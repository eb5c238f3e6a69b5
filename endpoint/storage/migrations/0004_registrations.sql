-- Registrations and applications name what they are for: `about` holds the slug of
-- the training or intern call (empty for other forms), and `status` a registration's
-- place: registered, waitlisted or cancelled (empty for other forms).

ALTER TABLE submissions ADD COLUMN about TEXT NOT NULL DEFAULT '';
ALTER TABLE submissions ADD COLUMN status TEXT NOT NULL DEFAULT '';

-- Counts the places taken and finds the waitlist's first person, per training.
CREATE INDEX submissions_about ON submissions (form_id, about, status, submitted_at);
