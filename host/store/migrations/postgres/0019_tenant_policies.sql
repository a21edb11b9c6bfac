-- Tenant isolation enforced by the database, not only by the queries.
--
-- Every transaction the store opens says whose rows it works on with
-- `SELECT set_config('seatwarden.tenant', <tenant id>, true)`: a tenant's id,
-- or 'all' for the few steps that work across tenants (the scheduler's due
-- list, a token or session lookup before its tenant is known, the copy from
-- SQLite). Every tenant-owned table has a policy that shows, and accepts,
-- only the rows of that tenant; a transaction that set nothing sees no rows
-- at all. FORCE applies the policies to the tables' owner too, so only a
-- superuser or a role with BYPASSRLS could read past them, and the host
-- refuses to run as either.

-- The tenant the current transaction works for; NULL when it set none or
-- works across tenants.
CREATE FUNCTION seatwarden_tenant() RETURNS BIGINT LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN setting ~ '^[0-9]{1,18}$' THEN setting::BIGINT END
    FROM (SELECT current_setting('seatwarden.tenant', true) AS setting) AS current
$$;

-- Whether the current transaction works across tenants.
CREATE FUNCTION seatwarden_all_tenants() RETURNS BOOLEAN LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT COALESCE(current_setting('seatwarden.tenant', true) = 'all', FALSE)
$$;

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_rows ON tenants
    USING (seatwarden_all_tenants() OR id = seatwarden_tenant())
    WITH CHECK (seatwarden_all_tenants() OR id = seatwarden_tenant());

-- Every table that names its tenant, and every table that names a profile
-- (a row belongs to its profile's tenant), gets the same policy for reads
-- (USING) and writes (WITH CHECK).
DO $$
DECLARE
    owned_by_tenant TEXT[] := ARRAY['profiles', 'audit_log', 'exclusions', 'identifier_models',
        'entitlements', 'reconciliation_runs', 'tenant_jobs', 'connector_models', 'api_tokens',
        'console_sign_ins', 'console_sessions', 'connector_uploads', 'api_connections',
        'sign_on_states'];
    owned_by_profile TEXT[] := ARRAY['subscriptions', 'job_runs', 'sync_cursors',
        'activity_watermarks', 'scheduled_jobs', 'profile_leases', 'reclamation_rules',
        'removal_candidates'];
    tenant_rows CONSTANT TEXT :=
        'seatwarden_all_tenants() OR tenant_id = seatwarden_tenant()';
    profile_rows CONSTANT TEXT :=
        'seatwarden_all_tenants() OR profile_id IN (SELECT id FROM profiles WHERE tenant_id = seatwarden_tenant())';
    name TEXT;
BEGIN
    FOREACH name IN ARRAY owned_by_tenant || owned_by_profile LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format('CREATE POLICY tenant_rows ON %I USING (%s) WITH CHECK (%s)', name,
            CASE WHEN name = ANY (owned_by_tenant) THEN tenant_rows ELSE profile_rows END,
            CASE WHEN name = ANY (owned_by_tenant) THEN tenant_rows ELSE profile_rows END);
    END LOOP;
END
$$;

-- Not tenant-owned, so without a policy: auth_failures (failed sign-ins by
-- network address, counted before any tenant is known) and rate_slots (a
-- vendor credential's request pacing, shared by every host).
