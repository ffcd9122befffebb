-- The three tables that grow with each family's data -- records (which are also
-- the change log: `seq` orders a family's changes), grant_record_keys and
-- audit_events -- become declaratively hash-partitioned by account_id. Every
-- query of one family names its account_id, so it touches one partition; the
-- same column is the distribution column of a Citus deployment
-- (docs/scale-out.md, "Partitioned by family").
--
-- The partition count is a parameter of this migration: the session setting
-- `phr.partitions` (`phr-server migrate --pg-partitions N`, or
-- `ALTER DATABASE … SET phr.partitions = 'N'`), 16 when unset. Changing it
-- later means re-partitioning (down, then up with another count).

CREATE FUNCTION phr_partition_count() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    setting text := current_setting('phr.partitions', true);
BEGIN
    IF setting IS NULL OR setting = '' THEN
        RETURN 16;
    END IF;
    IF setting !~ '^[0-9]{1,4}$' OR setting::integer NOT BETWEEN 1 AND 1024 THEN
        RAISE EXCEPTION 'phr.partitions must be a whole number from 1 to 1024, not "%"', setting;
    END IF;
    RETURN setting::integer;
END
$$;

-- Replaces `tbl` by a table of the same columns hash-partitioned by account_id
-- into phr_partition_count() partitions `<tbl>_p<i>`, and moves its rows over.
-- Keys, indexes, foreign keys and triggers are created by the caller afterwards
-- (building them once over the copied rows is faster than maintaining them row by row).
CREATE FUNCTION phr_partition_by_account(tbl text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    n integer := phr_partition_count();
    old text := tbl || '_unpartitioned';
BEGIN
    EXECUTE format('ALTER TABLE %I RENAME TO %I', tbl, old);
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS) PARTITION BY HASH (account_id)', tbl, old);
    FOR i IN 0 .. n - 1 LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES WITH (MODULUS %s, REMAINDER %s)',
                       tbl || '_p' || i, tbl, n, i);
    END LOOP;
    EXECUTE format('INSERT INTO %I SELECT * FROM %I', tbl, old);
    EXECUTE format('DROP TABLE %I', old);
END
$$;

SELECT phr_partition_by_account('records');
ALTER TABLE records ADD PRIMARY KEY (account_id, record_id);
ALTER TABLE records ADD FOREIGN KEY (account_id) REFERENCES accounts (account_id) ON DELETE CASCADE;
CREATE UNIQUE INDEX records_by_seq ON records (account_id, seq);
CREATE INDEX records_by_kind_date ON records (account_id, kind, effective_date, subject, deleted, record_id);

-- A FHIR read names a resource by its record id alone. An index on records (record_id) would
-- be probed in every partition (one probe each, and planning over all of them); this small
-- unpartitioned table answers "which families hold this record id" in one lookup instead.
-- A row is added by the trigger below when a family first stores a record id (an update of
-- the record inserts nothing) and goes with the family's account.
CREATE TABLE record_owners (
    record_id  TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    PRIMARY KEY (record_id, account_id)
);
INSERT INTO record_owners (record_id, account_id) SELECT record_id, account_id FROM records;
CREATE INDEX record_owners_by_account ON record_owners (account_id);
CREATE FUNCTION records_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO record_owners (record_id, account_id) VALUES (NEW.record_id, NEW.account_id)
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER records_owner AFTER INSERT ON records
    FOR EACH ROW EXECUTE FUNCTION records_owner();

SELECT phr_partition_by_account('grant_record_keys');
ALTER TABLE grant_record_keys ADD PRIMARY KEY (account_id, grant_id, record_id);
ALTER TABLE grant_record_keys ADD FOREIGN KEY (account_id) REFERENCES accounts (account_id) ON DELETE CASCADE;

SELECT phr_partition_by_account('audit_events');
ALTER TABLE audit_events ADD PRIMARY KEY (account_id, seq);
ALTER TABLE audit_events ADD FOREIGN KEY (account_id) REFERENCES accounts (account_id) ON DELETE CASCADE;
CREATE TRIGGER audit_events_head AFTER INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_head();

DROP FUNCTION phr_partition_by_account(text);
DROP FUNCTION phr_partition_count();
