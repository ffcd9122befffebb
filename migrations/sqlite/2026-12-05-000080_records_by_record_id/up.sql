-- A FHIR read names a resource by its record id alone: this index finds the
-- family that holds it in one lookup (record ids are chosen by devices, so two
-- families may hold the same one; the caller keeps the family it may see).
CREATE INDEX records_by_record_id ON records (record_id);

-- Planner statistics in the shape of 2026-11-25-000020_records_by_kind_date
-- (an operator's ANALYZE replaces them): about one row per record id.
DELETE FROM sqlite_stat1 WHERE tbl = 'records' AND idx = 'records_by_record_id';
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('records', 'records_by_record_id', '100000 1');
