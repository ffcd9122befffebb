-- Break-glass: an emergency department (an organization of kind `emergency`) finds a patient by
-- an identifier the family registered, and reads the emergency summary if the family opted in.

-- The reason an actor gave for an access (break-glass), covered by the event's hash.
ALTER TABLE audit_events ADD COLUMN reason TEXT;

-- A keyed hash (HMAC-SHA-256 under a key derived from the server's view key) of each
-- identifier a family registered, never the identifier itself.
CREATE TABLE emergency_identifiers (
    lookup_hash TEXT NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    subject     TEXT NOT NULL,
    PRIMARY KEY (lookup_hash, account_id, subject)
);
CREATE INDEX emergency_identifiers_by_account ON emergency_identifiers (account_id);

-- An emergency department's time-boxed access to one patient, opened by its first break-glass
-- read and ending at `expires_at`; a read after that opens a new one (and tells the family again).
CREATE TABLE break_glass_sessions (
    organization_id TEXT NOT NULL,
    account_id      TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    subject         TEXT NOT NULL,
    opened_at       BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, account_id, subject)
);
