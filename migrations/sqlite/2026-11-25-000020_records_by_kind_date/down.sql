DROP INDEX records_by_kind_date;
DELETE FROM sqlite_stat1 WHERE tbl IN ('records', 'grant_record_keys');
