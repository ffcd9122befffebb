-- Accounts, devices and their credentials; encrypted records and the per-account
-- change sequence; consent grants with their wrapped keys; the audit log.
-- Every account-owned table is keyed by account_id first (distributable on it).
-- Portable types only: ids TEXT, ciphertext BLOB, times (epoch ms) and counters BIGINT.

CREATE TABLE accounts (
    account_id   TEXT PRIMARY KEY NOT NULL,
    public_key   BLOB NOT NULL,               -- the account's HPKE (X25519) public key
    change_seq   BIGINT NOT NULL DEFAULT 0,   -- last change sequence number handed out
    record_count BIGINT NOT NULL DEFAULT 0,
    audit_seq    BIGINT NOT NULL DEFAULT 0,   -- last audit event number
    audit_head   TEXT NOT NULL DEFAULT '',    -- hash of the last audit event
    created_at   BIGINT NOT NULL
);

CREATE TABLE devices (
    account_id   TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    device_id    TEXT NOT NULL,
    public_key   BLOB NOT NULL,               -- Ed25519, verifies sign-in challenges
    name         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, device_id)
);

CREATE TABLE auth_challenges (
    account_id   TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    challenge_id TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    nonce        BLOB NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (account_id, challenge_id)
);

CREATE TABLE refresh_tokens (
    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,                 -- SHA-256 of the token; the token itself is never stored
    device_id  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,                        -- set when rotated; a second use revokes the device's tokens
    PRIMARY KEY (account_id, token_hash)
);

CREATE TABLE pairing_codes (
    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_by TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (account_id, code_hash)
);

CREATE TABLE records (
    account_id     TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    record_id      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    subject        TEXT NOT NULL,
    effective_date TEXT,                      -- YYYY-MM-DD
    version        BIGINT NOT NULL,
    seq            BIGINT NOT NULL,           -- change sequence of the latest change
    deleted        BOOLEAN NOT NULL,
    envelope       BLOB NOT NULL,             -- AES-256-GCM sealed body (or sealed tombstone)
    wrapped_key    BLOB NOT NULL,             -- the record's data key wrapped under the account key
    device_id      TEXT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (account_id, record_id)
);
CREATE UNIQUE INDEX records_by_seq ON records (account_id, seq);

CREATE TABLE push_batches (
    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    batch_id   TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    response   TEXT NOT NULL,                 -- the acknowledged answer, replayed to a retry
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, batch_id)
);

CREATE TABLE organizations (
    organization_id TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    kind            TEXT NOT NULL,            -- clinic, municipality, ehr_network, research
    purposes        TEXT NOT NULL,            -- comma-separated purposes it may be granted
    jwks            TEXT,                     -- public keys for SMART Backend Services
    created_at      BIGINT NOT NULL,
    disabled_at     BIGINT
);

CREATE TABLE consent_grants (
    account_id        TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    grant_id          TEXT NOT NULL,
    organization_id   TEXT NOT NULL,
    grant_json        TEXT NOT NULL,          -- the phr_core ConsentGrant (no health data)
    state             TEXT NOT NULL,          -- active, revoked
    wrapped_grant_key BLOB,                   -- HPKE to the server view key; NULL once revoked
    view_kid          TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    created_by        TEXT NOT NULL,
    revoked_at        BIGINT,
    PRIMARY KEY (account_id, grant_id)
);
CREATE INDEX consent_grants_by_org ON consent_grants (organization_id, state);

CREATE TABLE grant_record_keys (
    account_id  TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    grant_id    TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    wrapped_key BLOB NOT NULL,                -- the record's data key wrapped under the grant key
    PRIMARY KEY (account_id, grant_id, record_id)
);

CREATE TABLE audit_events (
    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,                 -- device:<id>, org:<id>, admin, server
    action     TEXT NOT NULL,
    grant_id   TEXT,
    record_ids TEXT NOT NULL,                 -- JSON array of record ids
    outcome    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,                 -- SHA-256 over prev_hash and this event
    PRIMARY KEY (account_id, seq)
);
