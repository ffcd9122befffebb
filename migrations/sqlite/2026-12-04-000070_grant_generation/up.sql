-- One counter, bumped in the same transaction as every change to any grant
-- (created, revoked, deleted with its account). A server process caches what
-- an organization may see (its usable grants, opened) and checks this
-- counter on every FHIR request, so a revocation is effective at once on
-- every process sharing the database.
CREATE TABLE grant_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO grant_generation (id, generation) VALUES (1, 0);
