-- Consented reads (FHIR search, $everything, research export) narrow records by
-- account, kind, effective date and subject; this index serves those filters and,
-- holding record_id and deleted, answers metadata-only reads without the rows.
CREATE INDEX records_by_kind_date ON records (account_id, kind, effective_date, subject, deleted, record_id);

-- Planner statistics for a database that has not been analysed yet. Without them
-- SQLite prefers walking the primary key in record_id order (to skip a sort) over
-- this index even for a one-month search. The figures describe a typical family
-- (thousands of records over a dozen kinds); an operator's `ANALYZE` replaces
-- them with measured ones. See "Manual Control Of Query Plans Using SQLITE_STAT
-- Tables" in the SQLite documentation.
ANALYZE sqlite_schema;
DELETE FROM sqlite_stat1 WHERE tbl IN ('records', 'grant_record_keys');
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('records', 'sqlite_autoindex_records_1', '100000 5000 1'),
    ('records', 'records_by_seq', '100000 5000 1'),
    ('records', 'records_by_kind_date', '100000 5000 500 5 5 5 1'),
    ('grant_record_keys', 'sqlite_autoindex_grant_record_keys_1', '100000 5000 5000 1');
