-- Schema version 8: indexes for reconciliation over millions of
-- subscriptions (measured in BENCHMARKS.md).

-- Live subscriptions of a profile in identifier order: reconciliation
-- counts them per group of identifiers from this index alone, without
-- reading the wide rows.
CREATE INDEX subscriptions_live_identifiers ON subscriptions (profile_id, identifiers, active, gone_at)
    WHERE active = TRUE AND gone_at IS NULL;

-- Accounts by principal regardless of ASCII case: user exclusions.
CREATE INDEX subscriptions_principal ON subscriptions (profile_id, lower(principal));
