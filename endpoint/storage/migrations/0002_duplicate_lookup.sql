-- The JavaScript-off duplicate check looks up one form, e-mail address and content
-- hash in a time window. Without this index both databases walked every submission
-- of the form in the window (submissions_form_time), so each signup cost more than
-- the last during a busy campaign.

CREATE INDEX submissions_duplicate ON submissions (form_id, email, content_hash, submitted_at);
