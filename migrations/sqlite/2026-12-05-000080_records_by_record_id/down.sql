DROP INDEX records_by_record_id;
