DROP TABLE break_glass_sessions;
DROP TABLE emergency_identifiers;
ALTER TABLE audit_events DROP COLUMN reason;
