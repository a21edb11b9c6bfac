-- Schema version 6: software models and entitlements.
--
-- A tenant's mappings from a connector type's subscription identifier to a
-- software model, as `seatwarden apply` last stored them from the
-- configuration's [[models]]. Identifiers of the shipped connectors have
-- built-in models in the host; a row here comes before the built-in one.
-- Reports look models up when they run, so changing a row re-prices every
-- subscription with that identifier at once.
CREATE TABLE identifier_models (
    id          INTEGER PRIMARY KEY,
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id),
    connector   TEXT NOT NULL,
    identifier  TEXT NOT NULL,
    publisher   TEXT NOT NULL,
    product     TEXT NOT NULL,
    edition     TEXT NOT NULL,
    metric      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, connector, identifier)
);

-- Rights a tenant bought per software model, as `seatwarden apply` last
-- stored them from [[entitlements]]. Amounts are decimal strings (exact, no
-- float), dates ISO 8601 (YYYY-MM-DD).
CREATE TABLE entitlements (
    id           INTEGER PRIMARY KEY,
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id),
    name         TEXT NOT NULL,
    publisher    TEXT NOT NULL,
    product      TEXT NOT NULL,
    edition      TEXT NOT NULL,
    metric       TEXT NOT NULL,
    quantity     BIGINT NOT NULL,
    unit_cost    TEXT NOT NULL,
    currency     TEXT NOT NULL,
    period       TEXT NOT NULL,
    start_date   TEXT NOT NULL,
    end_date     TEXT NOT NULL,
    renewal_date TEXT,
    updated_at   BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
