-- Consented reads (FHIR search, $everything, research export) narrow records by
-- account, kind, effective date and subject; this index serves those filters and,
-- holding record_id and deleted, answers metadata-only reads without the rows.
CREATE INDEX records_by_kind_date ON records (account_id, kind, effective_date, subject, deleted, record_id);
