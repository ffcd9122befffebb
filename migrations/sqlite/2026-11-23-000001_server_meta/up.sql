-- Facts about this server installation (instance id, schema notes). Never health data.
CREATE TABLE server_meta (
    meta_key   TEXT PRIMARY KEY NOT NULL,
    meta_value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
