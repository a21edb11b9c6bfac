-- Schema version 16: connections and connector components made over the
-- API, and where each profile came from.
--
-- An uploaded component is kept by tenant and sha256, with what its
-- descriptor said when it was inspected (inspection, JSON); a tenant's connection made over
-- the API names one of that tenant's uploads by digest, so a component is
-- pinned from the moment it is accepted and another tenant's upload cannot
-- be named. The bytes live here, not on one host's disk, so every server
-- process runs the same thing.
--
-- A connection's settings are stored as JSON (never the secret); its
-- credential only sealed: AES-256-GCM under the operator's key, with the
-- tenant and connection name as associated data so a sealed value copied
-- to another row does not open. key_id names the key that sealed it.
CREATE TABLE connector_uploads (
    id           INTEGER PRIMARY KEY,
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id),
    digest       TEXT NOT NULL,
    name         TEXT NOT NULL,
    version      TEXT NOT NULL,
    size         BIGINT NOT NULL,
    inspection   TEXT NOT NULL,
    component    BLOB NOT NULL,
    uploaded_at  BIGINT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    UNIQUE (tenant_id, digest)
);

CREATE TABLE api_connections (
    id                 INTEGER PRIMARY KEY,
    tenant_id          BIGINT NOT NULL REFERENCES tenants (id),
    name               TEXT NOT NULL,
    connector_digest   TEXT NOT NULL,
    settings           TEXT NOT NULL,
    sealed_credential  BLOB,
    key_id             TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (tenant_id, name),
    FOREIGN KEY (tenant_id, connector_digest) REFERENCES connector_uploads (tenant_id, digest)
);

-- config (seatwarden apply), cli (seatwarden profile create) or api; NULL
-- for profiles made before this version.
ALTER TABLE profiles ADD COLUMN source TEXT;
