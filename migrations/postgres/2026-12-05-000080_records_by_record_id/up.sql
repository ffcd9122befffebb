-- A FHIR read names a resource by its record id alone: this index finds the
-- family that holds it in one lookup (record ids are chosen by devices, so two
-- families may hold the same one; the caller keeps the family it may see).
CREATE INDEX records_by_record_id ON records (record_id);
