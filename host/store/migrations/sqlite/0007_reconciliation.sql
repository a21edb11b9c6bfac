-- Schema version 7: reconciliation runs, their weekly schedule, and
-- entitlements entered on the command line.

-- Where an entitlement came from: 'config' ([[entitlements]], mirrored by
-- `seatwarden apply`, which removes the ones that leave the file) or 'cli'
-- (`seatwarden entitlements add`, removed only by `entitlements remove`).
ALTER TABLE entitlements ADD COLUMN source TEXT NOT NULL DEFAULT 'config';

-- One row per reconciliation of a tenant: when, why, for which day, and
-- the whole position as JSON (amounts as decimal strings), so trends can be
-- drawn from past runs even after entitlements or mappings change.
CREATE TABLE reconciliation_runs (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL REFERENCES tenants (id),
    trigger_kind  TEXT NOT NULL,
    started_at    BIGINT NOT NULL,
    finished_at   BIGINT NOT NULL,
    as_of         TEXT NOT NULL,
    position      TEXT NOT NULL
);
CREATE INDEX reconciliation_runs_tenant ON reconciliation_runs (tenant_id, id);

-- Jobs that belong to a tenant rather than a profile (the weekly
-- reconciliation), scheduled like scheduled_jobs.
CREATE TABLE tenant_jobs (
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id),
    kind         TEXT NOT NULL,
    cron         TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    next_due_at  BIGINT NOT NULL,
    last_run_at  BIGINT,
    PRIMARY KEY (tenant_id, kind)
);
