-- Schema version 15: the web console's one-time sign-in tokens and its
-- sessions.
--
-- A sign-in token is made on the command line (or by the operator) for a
-- tenant and a scope, lives a few minutes, and is spent by the first
-- sign-in: used_at is set in the same transaction that creates the
-- session. A session is what the browser's cookie names: its public id and
-- the SHA-256 of its secret (never the secret), the tenant, the scope and
-- the person as the audit log names them, and when it ends. Signing out
-- sets ended_at; an expired or ended session authenticates nothing. Both
-- live in the database so every server process honours them.
CREATE TABLE console_sign_ins (
    id           INTEGER PRIMARY KEY,
    public_id    TEXT NOT NULL UNIQUE,
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id),
    name         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);

CREATE TABLE console_sessions (
    id           INTEGER PRIMARY KEY,
    public_id    TEXT NOT NULL UNIQUE,
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id),
    person       TEXT NOT NULL,
    scope        TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ended_at     BIGINT
);
CREATE INDEX console_sessions_tenant ON console_sessions (tenant_id, id);
