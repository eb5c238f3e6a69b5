-- Double opt-in (the newsletter, endpoint/confirm.py): a signup counts only once the
-- person has followed the signed link in the mail sent to the address. `confirmed_at`
-- is when they pressed the button on that page; NULL until then, and always for forms
-- without a confirmation step. Exports mark only confirmed people as subscribed, and
-- `forget` deletes the row with everything else.

ALTER TABLE submissions ADD COLUMN confirmed_at TEXT;
