-- Back to plain tables: same columns, keys, indexes, foreign keys and trigger as before partitioning.
DROP TABLE record_owners;
DROP FUNCTION records_owner() CASCADE;

CREATE FUNCTION phr_unpartition(tbl text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    old text := tbl || '_partitioned';
BEGIN
    EXECUTE format('ALTER TABLE %I RENAME TO %I', tbl, old);
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS)', tbl, old);
    EXECUTE format('INSERT INTO %I SELECT * FROM %I', tbl, old);
    EXECUTE format('DROP TABLE %I', old);
END
$$;

SELECT phr_unpartition('records');
ALTER TABLE records ADD PRIMARY KEY (account_id, record_id);
ALTER TABLE records ADD FOREIGN KEY (account_id) REFERENCES accounts (account_id) ON DELETE CASCADE;
CREATE UNIQUE INDEX records_by_seq ON records (account_id, seq);
CREATE INDEX records_by_kind_date ON records (account_id, kind, effective_date, subject, deleted, record_id);
CREATE INDEX records_by_record_id ON records (record_id);

SELECT phr_unpartition('grant_record_keys');
ALTER TABLE grant_record_keys ADD PRIMARY KEY (account_id, grant_id, record_id);
ALTER TABLE grant_record_keys ADD FOREIGN KEY (account_id) REFERENCES accounts (account_id) ON DELETE CASCADE;

SELECT phr_unpartition('audit_events');
ALTER TABLE audit_events ADD PRIMARY KEY (account_id, seq);
ALTER TABLE audit_events ADD FOREIGN KEY (account_id) REFERENCES accounts (account_id) ON DELETE CASCADE;
CREATE TRIGGER audit_events_head AFTER INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_head();

DROP FUNCTION phr_unpartition(text);
