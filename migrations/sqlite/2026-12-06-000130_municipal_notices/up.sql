-- Municipal notices (public content, no personal data) and the operator's audit log.

-- A notice a municipality published: its content as JSON (phr_core::notices::NoticeDraft),
-- `valid_until` (ISO date) copied out for the public feed's filter.
CREATE TABLE notices (
    notice_id       TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (organization_id),
    version         BIGINT NOT NULL,
    content         TEXT NOT NULL,
    valid_until     TEXT NOT NULL,
    published_at    BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    withdrawn_at    BIGINT
);
CREATE INDEX notices_by_organization ON notices (organization_id, valid_until);

-- The operator's audit log: what organizations did outside any family's record (publishing,
-- editing and withdrawing notices, and refused attempts), one hash chain. Its head is the
-- server_meta row `operator_log_head` ("<seq>:<hash>"), updated with each event.
CREATE TABLE operator_events (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
INSERT INTO server_meta (meta_key, meta_value, updated_at) VALUES ('operator_log_head', '0:', 0);
