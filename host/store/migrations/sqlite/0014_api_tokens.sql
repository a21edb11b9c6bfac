-- Schema version 14: the HTTP API's tokens, failed sign-ins, and where a
-- tenant came from.
--
-- A token is shown once when it is made; only the SHA-256 of its secret
-- part is kept. public_id is the part of the token before the secret, so a
-- presented token is found by index and its secret compared in constant
-- time. tenant_id is NULL for an operator token (it manages tenants and
-- belongs to none). Revoking sets revoked_at; the row stays, so the audit
-- entries that name the token still say which one it was.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    public_id     TEXT NOT NULL UNIQUE,
    tenant_id     BIGINT REFERENCES tenants (id),
    name          TEXT NOT NULL,
    scope         TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    created_by    TEXT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, id);

-- Failed authentications per client address, kept for the limiter's
-- window (older rows are pruned as new ones arrive). In the database, not
-- in a process, so every server on this database counts the same failures.
CREATE TABLE auth_failures (
    address  TEXT NOT NULL,
    at       BIGINT NOT NULL
);
CREATE INDEX auth_failures_address ON auth_failures (address, at);
CREATE INDEX auth_failures_at ON auth_failures (at);

-- 'file': named in a configuration file (created by `apply` or a command);
-- 'api': created by an operator over the API.
ALTER TABLE tenants ADD COLUMN source TEXT NOT NULL DEFAULT 'file';
