-- An audit event becomes the head of its account's chain in the statement that stores it:
-- one round trip per append instead of two (the INSERT, then an UPDATE of accounts.audit_head).
CREATE FUNCTION audit_events_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts SET audit_head = NEW.hash WHERE account_id = NEW.account_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER audit_events_head AFTER INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_head();
