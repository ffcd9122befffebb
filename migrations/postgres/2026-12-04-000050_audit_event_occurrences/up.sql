-- How many times a repeated event (e.g. key_backup_fetched) had happened in
-- its window when this entry was written; NULL for ordinary events. Entries
-- without it hash exactly as before, so existing chains still verify.
ALTER TABLE audit_events ADD COLUMN occurrences BIGINT;
