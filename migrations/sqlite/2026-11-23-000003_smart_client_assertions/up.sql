-- SMART Backend Services: client assertion ids (jti) seen per organization,
-- kept until the assertion expires, so a replayed assertion is refused.
CREATE TABLE smart_client_assertions (
    organization_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (organization_id, jti)
);
CREATE INDEX smart_client_assertions_expires_at ON smart_client_assertions (expires_at);
