-- Introductions: an organizer put a help request (a help-request submission) in touch
-- with a knowledge donor (a knowledge-donor submission); `invoke introduce` records one,
-- `invoke match` counts each donor's open ones. Only the two submission ids and the time:
-- `forget` deletes a person's introductions with their submissions.

CREATE TABLE introductions (
    request_id TEXT NOT NULL,
    donor_id TEXT NOT NULL,
    introduced_at TEXT NOT NULL,
    PRIMARY KEY (request_id, donor_id)
);

CREATE INDEX introductions_donor ON introductions (donor_id);
