-- Bumped whenever the record keys held by any grant of the account change
-- (keys added, replaced or revoked). With `change_seq` (records) and the grant
-- rows themselves it tells a server whether a cached consented read of the
-- account is still exactly what a fresh read would return.
ALTER TABLE accounts ADD COLUMN consent_seq BIGINT NOT NULL DEFAULT 0;
