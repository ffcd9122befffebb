-- Emergency cards: SMART Health Links to a subject's emergency summary, which the family's
-- device encrypted with a key only the card's QR code carries. The server keeps the
-- ciphertext, a hash of the link's secret path segment (never the segment itself), the
-- passcode's PBKDF2 hash, and counts; never the key, never the summary in clear.
CREATE TABLE emergency_cards (
    card_id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    link_hash BYTEA NOT NULL UNIQUE,
    passcode_salt BYTEA,
    passcode_hash BYTEA,
    attempts_left INTEGER NOT NULL,
    expires_at BIGINT,
    file_jwe TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    accesses BIGINT NOT NULL DEFAULT 0,
    last_access_at BIGINT
);
CREATE INDEX emergency_cards_by_account ON emergency_cards (account_id);
-- A file location handed out in a manifest: valid for an hour, for one card, while it lives.
CREATE TABLE emergency_card_tickets (
    ticket_hash BYTEA PRIMARY KEY NOT NULL,
    card_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX emergency_card_tickets_by_card ON emergency_card_tickets (card_id);
