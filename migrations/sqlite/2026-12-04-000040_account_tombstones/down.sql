DROP TABLE tombstone_refresh_tokens;
DROP TABLE tombstone_devices;
