-- Schema version 3: reclamation rules (versioned per profile) and removal
-- candidates. Portable SQL: the partial unique index exists in SQLite and
-- PostgreSQL alike.

-- Every version of a profile's rule; the newest one applies. Candidates
-- record the version that made them.
CREATE TABLE reclamation_rules (
    profile_id  BIGINT NOT NULL REFERENCES profiles (id),
    version     BIGINT NOT NULL,
    rule        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (profile_id, version)
);

-- One row per time an account became a candidate. An open candidate has no
-- closed_at; at most one is open per account.
CREATE TABLE removal_candidates (
    id                  INTEGER PRIMARY KEY,
    profile_id          BIGINT NOT NULL REFERENCES profiles (id),
    account_id          TEXT NOT NULL,
    principal           TEXT NOT NULL,
    state               TEXT NOT NULL,
    rule_version        BIGINT NOT NULL,
    threshold_days      BIGINT NOT NULL,
    -- 'stale' or 'never-logged-in', with the evidence for it.
    reason              TEXT NOT NULL,
    days_inactive       BIGINT NOT NULL,
    last_active_at      BIGINT,
    last_active_source  TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    closed_at           BIGINT,
    close_reason        TEXT
);
CREATE UNIQUE INDEX removal_candidates_open ON removal_candidates (profile_id, account_id)
    WHERE closed_at IS NULL;
CREATE INDEX removal_candidates_profile ON removal_candidates (profile_id, state);
