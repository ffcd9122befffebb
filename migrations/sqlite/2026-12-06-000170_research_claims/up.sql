-- Research jobs are claimed by one server node at a time: `claim` is the token of the node's
-- run that holds a running job (NULL while queued); every write of that run is conditioned on
-- it, so a run whose job was taken over writes nothing more. `attempts` counts the claims: a
-- job whose node died is queued again for another node until it has had three.
ALTER TABLE research_exports ADD COLUMN claim TEXT;
ALTER TABLE research_exports ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
-- A job left running by a version before claims is held by a run that no longer exists.
UPDATE research_exports SET claim = 'before-claims' WHERE state = 'running';
CREATE INDEX research_exports_queue ON research_exports (state, created_at);
