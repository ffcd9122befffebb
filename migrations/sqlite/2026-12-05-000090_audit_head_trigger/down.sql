DROP TRIGGER audit_events_head;
