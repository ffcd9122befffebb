-- Research extracts (bulk export jobs). The per-extract pseudonym secret is
-- never stored: a job interrupted by a restart is failed cleanly, not resumed.
CREATE TABLE research_exports (
    export_id TEXT NOT NULL PRIMARY KEY,
    organization_id TEXT NOT NULL,
    state TEXT NOT NULL,
    request_json TEXT NOT NULL,
    progress BIGINT NOT NULL,
    records_done BIGINT NOT NULL,
    manifest_json TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX research_exports_organization ON research_exports (organization_id, created_at);
CREATE INDEX research_exports_state ON research_exports (state, expires_at);
