-- An audit event becomes the head of its account's chain in the statement that stores it:
-- one statement per append instead of two (the INSERT, then an UPDATE of accounts.audit_head).
CREATE TRIGGER audit_events_head AFTER INSERT ON audit_events
BEGIN
    UPDATE accounts SET audit_head = NEW.hash WHERE account_id = NEW.account_id;
END;
