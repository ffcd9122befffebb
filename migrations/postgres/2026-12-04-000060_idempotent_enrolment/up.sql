-- Answers to enrolment calls (create an account, join one) made with an
-- Idempotency-Key header, kept 24 hours so that a retry after a lost answer
-- gets the first answer instead of a second account or device. The key is
-- stored only as its SHA-256; the answer holds ids only (no health data,
-- nothing the family typed).
CREATE TABLE idempotent_requests (
    key_hash    TEXT PRIMARY KEY NOT NULL,
    endpoint    TEXT NOT NULL,
    fingerprint TEXT NOT NULL,   -- SHA-256 of the request body as the server read it
    response    TEXT NOT NULL,   -- the success answer (JSON)
    created_at  BIGINT NOT NULL
);
CREATE INDEX idempotent_requests_created ON idempotent_requests (created_at);
