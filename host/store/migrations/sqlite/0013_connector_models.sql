-- Schema version 13: the software models connectors declare.
--
-- Contract 0.2.2 lets a connector declare the models of its vendor's
-- subscription identifiers (its `vendor` interface), so the host keeps no
-- vendor catalogue. Reports and reconciliation do not load connectors, so
-- the host stores what a tenant's connector declared whenever it loads one
-- for that tenant's validation or sync, keyed like identifier_models (a
-- tenant's own `[[models]]` rows, which come first). component_digest is
-- the sha256 of the component that declared the row as it stands (NULL:
-- carried over from the host's former catalogue, below).
CREATE TABLE connector_models (
    id                INTEGER PRIMARY KEY,
    tenant_id         BIGINT NOT NULL REFERENCES tenants (id),
    connector         TEXT NOT NULL,
    identifier        TEXT NOT NULL,
    publisher         TEXT NOT NULL,
    product           TEXT NOT NULL,
    edition           TEXT NOT NULL,
    metric            TEXT NOT NULL,
    component_digest  TEXT,
    declared_at       BIGINT NOT NULL,
    UNIQUE (tenant_id, connector, identifier)
);

-- Until this version the host itself knew the models of the SmartRecruiters
-- and Smartsheet identifiers. Tenants with such profiles keep them, so no
-- report changes on upgrade: the rows are carried over here, and the
-- connector's own declaration replaces them on its next load (a component
-- without the `vendor` interface leaves them as they are).
WITH former (connector, identifier, publisher, product, edition) AS (
    VALUES
        ('smartrecruiters', 'EMPLOYEE', 'SmartRecruiters', 'SmartRecruiters', 'Employee'),
        ('smartrecruiters', 'RESTRICTED', 'SmartRecruiters', 'SmartRecruiters', 'Restricted'),
        ('smartrecruiters', 'STANDARD', 'SmartRecruiters', 'SmartRecruiters', 'Standard'),
        ('smartrecruiters', 'EXTENDED', 'SmartRecruiters', 'SmartRecruiters', 'Extended'),
        ('smartrecruiters', 'ADMINISTRATOR', 'SmartRecruiters', 'SmartRecruiters', 'Administrator'),
        ('smartsheet', 'MEMBER', 'Smartsheet', 'Smartsheet', 'Member'),
        ('smartsheet', 'PROVISIONAL_MEMBER', 'Smartsheet', 'Smartsheet', 'Provisional Member'),
        ('smartsheet', 'GUEST', 'Smartsheet', 'Smartsheet', 'Guest'),
        ('smartsheet', 'VIEWER', 'Smartsheet', 'Smartsheet', 'Viewer'),
        ('smartsheet', 'CONTRIBUTOR', 'Smartsheet', 'Smartsheet', 'Contributor'),
        ('smartsheet', 'LICENSED_SHEET_CREATOR', 'Smartsheet', 'Smartsheet', 'Licensed User (legacy plan)'),
        ('smartsheet', 'FREE_COLLABORATOR', 'Smartsheet', 'Smartsheet', 'Free Collaborator (legacy plan)')
)
INSERT INTO connector_models
    (tenant_id, connector, identifier, publisher, product, edition, metric, component_digest, declared_at)
SELECT p.tenant_id, f.connector, f.identifier, f.publisher, f.product, f.edition, 'per-user', NULL,
       CAST(strftime('%s', 'now') AS BIGINT) * 1000
FROM (SELECT DISTINCT tenant_id, connector_name FROM profiles) AS p
JOIN former AS f ON f.connector = p.connector_name;
