-- Schema version 2: the integration profile lifecycle (draft, validated,
-- published), toggles, per-profile schedules, job leases, richer job
-- results and an append-only audit log.
-- Portable SQL only (ALTER TABLE ... ADD COLUMN, BIGINT epoch-ms times).

ALTER TABLE profiles ADD COLUMN connection_name TEXT NOT NULL DEFAULT '';
ALTER TABLE profiles ADD COLUMN status TEXT NOT NULL DEFAULT 'draft';
ALTER TABLE profiles ADD COLUMN download_activity BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE profiles ADD COLUMN reclaim BOOLEAN NOT NULL DEFAULT FALSE;
-- "Analyze activity from": a fixed date (YYYY-MM-DD) or, when NULL, this
-- many days before the first activity pull.
ALTER TABLE profiles ADD COLUMN activity_from_date TEXT;
ALTER TABLE profiles ADD COLUMN activity_from_days BIGINT NOT NULL DEFAULT 60;
-- Cron expressions overriding the default schedules; NULL = default.
ALTER TABLE profiles ADD COLUMN subscriptions_cron TEXT;
ALTER TABLE profiles ADD COLUMN activity_cron TEXT;
-- The last validation: when, whether it passed, what it said, and the
-- fingerprint of the connection and connector it ran against.
ALTER TABLE profiles ADD COLUMN validated_at BIGINT;
ALTER TABLE profiles ADD COLUMN validation_passed BOOLEAN;
ALTER TABLE profiles ADD COLUMN validation_detail TEXT;
ALTER TABLE profiles ADD COLUMN validated_fingerprint TEXT;
ALTER TABLE profiles ADD COLUMN published_at BIGINT;

-- A published profile's jobs: one row per kind, with when it is next due.
CREATE TABLE scheduled_jobs (
    profile_id   BIGINT NOT NULL REFERENCES profiles (id),
    kind         TEXT NOT NULL,
    cron         TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    next_due_at  BIGINT NOT NULL,
    last_run_at  BIGINT,
    PRIMARY KEY (profile_id, kind)
);

-- At most one job per profile runs at a time, across host processes:
-- a lease with an owner and an expiry, renewed while the job runs.
CREATE TABLE profile_leases (
    profile_id  BIGINT PRIMARY KEY REFERENCES profiles (id),
    owner       TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);

ALTER TABLE job_runs ADD COLUMN trigger_kind TEXT NOT NULL DEFAULT 'manual';
ALTER TABLE job_runs ADD COLUMN created BIGINT NOT NULL DEFAULT 0;
ALTER TABLE job_runs ADD COLUMN updated BIGINT NOT NULL DEFAULT 0;
ALTER TABLE job_runs ADD COLUMN gone BIGINT NOT NULL DEFAULT 0;
ALTER TABLE job_runs ADD COLUMN error_kind TEXT;
UPDATE job_runs SET kind = 'subscriptions' WHERE kind = 'users';

ALTER TABLE subscriptions ADD COLUMN first_seen_run BIGINT NOT NULL DEFAULT 0;

-- Append-only record of decisions, one hash chain per tenant: prev_hash is
-- the hash of the tenant's entry before this one, hash covers that link and
-- every field (see host/src/storage/audit.rs). No foreign key on the
-- profile: a deleted profile's entries stay, under its name.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY,
    tenant_id     BIGINT NOT NULL REFERENCES tenants (id),
    profile_name  TEXT,
    at            BIGINT NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    detail        TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL UNIQUE
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, id);
CREATE INDEX job_runs_profile ON job_runs (profile_id, id);
