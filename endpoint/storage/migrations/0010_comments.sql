-- Comments on posts (endpoint/comments.py) are submissions of the form "comment":
-- `about` holds the post's slug and `status` the comment's moderation: held, approved
-- or rejected (registrations keep using it for their place). Only approved comments
-- are ever read out (Storage.approved_comments).

-- Every approved comment on the site, newest first (the build elsewhere, the site's
-- latest comments), and the held ones to list and purge; one post's comments use
-- submissions_about (migration 0004).
CREATE INDEX submissions_status ON submissions (form_id, status, submitted_at);
