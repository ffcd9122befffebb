DELETE FROM server_meta WHERE meta_key = 'operator_log_head';
DROP TABLE operator_events;
DROP TABLE notices;
