-- Tombstones of erased accounts: what lets the server tell a device of an
-- erased account "your account is gone" (410) instead of "unknown device"
-- (401), so the phone wipes its local copy. No health data and nothing the
-- family typed (no device names): ids, the device's public key (to verify a
-- signed sign-in challenge), hashes of the refresh tokens that were still
-- valid, and times. A row is never used after its expires_at and is purged
-- at the next account erasure (server/src/accounts/store.rs).
CREATE TABLE tombstone_devices (
    account_id           TEXT NOT NULL,
    device_id            TEXT NOT NULL,
    public_key           BYTEA NOT NULL,      -- Ed25519, verifies a sign-in challenge
    deleted_at           BIGINT NOT NULL,
    expires_at           BIGINT NOT NULL,
    challenge_id         TEXT,              -- the open sign-in challenge of this device, if any
    challenge_nonce      BYTEA,
    challenge_expires_at BIGINT,
    PRIMARY KEY (account_id, device_id)
);
CREATE INDEX tombstone_devices_expiry ON tombstone_devices (expires_at);

CREATE TABLE tombstone_refresh_tokens (
    account_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,               -- SHA-256 of a refresh token unused and unexpired at erasure
    expires_at BIGINT NOT NULL,             -- the token's own expiry
    PRIMARY KEY (account_id, token_hash)
);
CREATE INDEX tombstone_refresh_tokens_expiry ON tombstone_refresh_tokens (expires_at);
