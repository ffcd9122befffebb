DROP TABLE smart_client_assertions;
