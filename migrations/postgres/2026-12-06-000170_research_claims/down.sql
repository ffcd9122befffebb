DROP INDEX research_exports_queue;
ALTER TABLE research_exports DROP COLUMN attempts;
ALTER TABLE research_exports DROP COLUMN claim;
