-- PostgreSQL only: there, records, grant_record_keys and audit_events are hash-partitioned by
-- family (see migrations/postgres/2026-12-06-000160_partition_by_account). One SQLite file
-- serves one server and keeps its tables whole; this migration exists so that both backends
-- have the same list of migrations.
SELECT 1;
