-- Seatwarden schema, version 1: tenants, connections, profiles, software
-- subscriptions, sync cursors, activity watermarks and job runs.
-- Kept to SQL that SQLite and PostgreSQL both accept (BIGINT epoch-ms
-- timestamps, TEXT JSON), so the later move to PostgreSQL is configuration.

CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE profiles (
    id                 INTEGER PRIMARY KEY,
    tenant_id          BIGINT NOT NULL REFERENCES tenants (id),
    name               TEXT NOT NULL,
    connector_name     TEXT NOT NULL,
    connector_version  TEXT NOT NULL,
    connector_digest   TEXT NOT NULL,
    base_url           TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

-- One row per account per profile. identifiers: JSON array of subscription
-- identifiers; attributes: JSON object. gone_at is set when the account no
-- longer appears at the vendor (never deleted silently).
CREATE TABLE subscriptions (
    profile_id          BIGINT NOT NULL REFERENCES profiles (id),
    account_id          TEXT NOT NULL,
    principal           TEXT NOT NULL,
    display_name        TEXT,
    active              BOOLEAN NOT NULL,
    identifiers         TEXT NOT NULL,
    attributes          TEXT NOT NULL,
    created_at          BIGINT,
    last_active_at      BIGINT,
    last_active_source  TEXT,
    first_seen_at       BIGINT NOT NULL,
    last_seen_at        BIGINT NOT NULL,
    last_seen_run       BIGINT NOT NULL,
    gone_at             BIGINT,
    PRIMARY KEY (profile_id, account_id)
);

-- Job runs: every sync stream and vendor write, with counts and errors.
CREATE TABLE job_runs (
    id           INTEGER PRIMARY KEY,
    profile_id   BIGINT NOT NULL REFERENCES profiles (id),
    kind         TEXT NOT NULL,
    status       TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    pages        BIGINT NOT NULL DEFAULT 0,
    items        BIGINT NOT NULL DEFAULT 0,
    detail       TEXT
);

-- The cursor of an unfinished stream, written in the same transaction as
-- the page before it, so a crash resumes at the next page.
CREATE TABLE sync_cursors (
    profile_id  BIGINT NOT NULL REFERENCES profiles (id),
    stream      TEXT NOT NULL,
    run_id      BIGINT NOT NULL REFERENCES job_runs (id),
    cursor      TEXT,
    exhausted   BOOLEAN NOT NULL,
    since_ms    BIGINT,
    PRIMARY KEY (profile_id, stream)
);

-- Where the next activity pull starts.
CREATE TABLE activity_watermarks (
    profile_id  BIGINT PRIMARY KEY REFERENCES profiles (id),
    since_ms    BIGINT NOT NULL
);
