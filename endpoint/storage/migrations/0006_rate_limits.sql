-- Rate limits as token buckets, one row per bucket, instead of one row per post.
--
-- A bucket is what a limit counts: the valid submissions from one address, the junk
-- (honeypot, too fast, invalid) from one address, the submissions with one e-mail
-- address, or those of one form from everywhere. `bucket` names it by kind and a
-- salted hash (never an address in the clear). Times are microseconds since the
-- epoch, so the arithmetic is exact integers on both databases:
--   full_at  when the bucket is full again (every post's token back);
--   step     how long one token takes to come back (an hour / the hourly rate);
--   room     how long a full bucket lasts (step * burst).
-- A post is let through while full_at + step <= now + room, and moves full_at on by
-- one step. Counting a post is one UPSERT of one small row per limit, whatever the
-- traffic: the old table was counted row by row and grew with every post.
--
-- No index on full_at: it changes on every post, and the once-a-minute pruning of
-- full buckets reads the whole (small) table anyway.

CREATE TABLE rate_limits (
    bucket TEXT PRIMARY KEY,
    full_at BIGINT NOT NULL,
    step BIGINT NOT NULL,
    room BIGINT NOT NULL
);

DROP TABLE rate_hits;
