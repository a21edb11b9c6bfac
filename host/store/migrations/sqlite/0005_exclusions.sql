-- Schema version 5: exclusions kept in the database, and the vendor account
-- a profile's credentials act as.
--
-- A migration of its own because 0004 may already be applied somewhere,
-- and an applied migration is never edited.

-- Exclusions, as `seatwarden apply` last stored them from the configuration:
-- the refresh reads them from here. A user exclusion (kind 'user', connector
-- '') spares a principal in every profile of the tenant; an identifier
-- exclusion spares a subscription identifier of one connector type. Rows
-- are switched off, never deleted, so past decisions stay explainable.
CREATE TABLE exclusions (
    id          INTEGER PRIMARY KEY,
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id),
    kind        TEXT NOT NULL,
    connector   TEXT NOT NULL,
    subject     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    active      BOOLEAN NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, kind, connector, subject)
);

-- The `account.id` the connector's `validate` reported for the credentials
-- (NULL: the vendor does not say). Refreshes protect that account.
ALTER TABLE profiles ADD COLUMN credential_account TEXT;
