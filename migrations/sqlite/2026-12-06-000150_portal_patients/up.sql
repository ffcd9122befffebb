-- The care-team portal: a staff member's accesses are audited in the family's log with the
-- staff member's name (the actor is `organization:<org>/staff:<staff id>`). Covered by the
-- event's hash when present; absent for every other actor.
ALTER TABLE audit_events ADD COLUMN actor_name TEXT;
