DROP INDEX records_by_kind_date;
