ALTER TABLE organizations DROP COLUMN jwks_url;
