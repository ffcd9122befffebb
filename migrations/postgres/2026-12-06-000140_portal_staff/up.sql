-- Care-team portal, slice 1: staff of registered organizations who sign in with passkeys
-- (WebAuthn). Secrets are stored only as SHA-256 hashes (invite tokens, session cookies).

-- A staff member of one organization: `admin` or `member`; disabled staff cannot sign in and
-- their sessions end at once.
CREATE TABLE staff (
    staff_id        TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL REFERENCES organizations (organization_id),
    name            TEXT NOT NULL,
    role            TEXT NOT NULL,
    disabled_at     BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX staff_by_organization ON staff (organization_id, name);

-- A single-use invite to register a passkey: the hex SHA-256 of a 32-byte random token.
CREATE TABLE staff_invites (
    token_hash TEXT PRIMARY KEY,
    staff_id   TEXT NOT NULL REFERENCES staff (staff_id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX staff_invites_by_staff ON staff_invites (staff_id);

-- A registered passkey: the credential id (base64url) and the passkey as webauthn-rs
-- serializes it (public key, counter).
CREATE TABLE staff_passkeys (
    credential_id TEXT PRIMARY KEY,
    staff_id      TEXT NOT NULL REFERENCES staff (staff_id),
    passkey       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT
);
CREATE INDEX staff_passkeys_by_staff ON staff_passkeys (staff_id);

-- A signed-in browser: the hex SHA-256 of its cookie value, its CSRF token, idle and
-- absolute limits.
CREATE TABLE staff_sessions (
    session_hash TEXT PRIMARY KEY,
    staff_id     TEXT NOT NULL REFERENCES staff (staff_id),
    csrf_token   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id);

-- A WebAuthn ceremony between its start and finish requests (any server node may answer the
-- finish): the hex SHA-256 of its challenge, its kind (`register` / `signin`), the invite it
-- belongs to (registration), the webauthn-rs state as JSON.
CREATE TABLE portal_ceremonies (
    ceremony_id TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    invite_hash TEXT,
    state       TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX portal_ceremonies_by_expiry ON portal_ceremonies (expires_at);
