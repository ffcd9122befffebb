-- Passphrase-sealed account-key backups (one per account; the server cannot
-- open them) and single-use recovery challenges: a nonce HPKE-sealed to the
-- account's public key, stored only as its hash, that a new phone holding the
-- account key opens to enrol itself as a device.
CREATE TABLE key_backups (
    account_id TEXT PRIMARY KEY NOT NULL,
    kdf TEXT NOT NULL,
    iterations BIGINT NOT NULL,
    salt BYTEA NOT NULL,
    sealed_key BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE recovery_challenges (
    account_id TEXT NOT NULL,
    challenge_id TEXT NOT NULL,
    nonce_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, challenge_id)
);
