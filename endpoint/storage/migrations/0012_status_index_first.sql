-- The comments' index (migration 0010) led with form_id, so PostgreSQL used it for the
-- duplicate check of every signup sent without JavaScript (email, form_id, content_hash,
-- submitted_at) while its statistics still described a young table: each check read
-- every submission of the form, and the load run fell from about 1000 to about 550 a
-- second, slower the longer it ran. Led by status, which that check never names, it
-- serves only what it is for: a form's comments (or registrations) of one status,
-- newest or oldest first. Exports of one form read the table in order instead; an
-- organizer runs them now and then.
DROP INDEX submissions_status;
CREATE INDEX submissions_status ON submissions (status, form_id, submitted_at);
