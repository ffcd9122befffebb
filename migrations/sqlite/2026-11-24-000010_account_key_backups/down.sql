DROP TABLE recovery_challenges;
DROP TABLE key_backups;
