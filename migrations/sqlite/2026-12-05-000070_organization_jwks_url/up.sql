-- An organization may register a JWKS URL instead of a JWKS document (SMART
-- client-confidential-asymmetric): the server fetches its keys from there.
ALTER TABLE organizations ADD COLUMN jwks_url TEXT;
