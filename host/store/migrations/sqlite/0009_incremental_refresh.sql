-- Schema version 9: candidates refreshes look only at what can have
-- changed (measured in BENCHMARKS.md).

-- A profile's live accounts by last activity: the refresh finds the idle
-- ones (at or before the threshold, or never active) without visiting the
-- recently active rows.
CREATE INDEX subscriptions_live_last_active ON subscriptions (profile_id, last_active_at)
    WHERE active = TRUE AND gone_at IS NULL;

-- An open candidate whose account changed since a refresh last judged it.
-- Existing rows start marked, so the first refresh after this migration
-- judges every open candidate once.
ALTER TABLE removal_candidates ADD COLUMN recheck BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX removal_candidates_recheck ON removal_candidates (profile_id)
    WHERE closed_at IS NULL AND recheck;

-- Marked by the database itself, whichever code path writes the account:
-- any change to a field `rules::evaluate` reads (keep the two in step),
-- or the account's removal.
CREATE TRIGGER subscriptions_changed_recheck
AFTER UPDATE OF principal, active, identifiers, attributes, created_at, last_active_at,
    last_active_source, first_seen_at, gone_at, reactivated_at ON subscriptions
WHEN old.principal IS NOT new.principal OR old.active IS NOT new.active
    OR old.identifiers IS NOT new.identifiers OR old.attributes IS NOT new.attributes
    OR old.created_at IS NOT new.created_at OR old.last_active_at IS NOT new.last_active_at
    OR old.last_active_source IS NOT new.last_active_source
    OR old.first_seen_at IS NOT new.first_seen_at OR old.gone_at IS NOT new.gone_at
    OR old.reactivated_at IS NOT new.reactivated_at
BEGIN
    UPDATE removal_candidates SET recheck = TRUE
    WHERE profile_id = new.profile_id AND account_id = new.account_id
      AND closed_at IS NULL AND NOT recheck;
END;

CREATE TRIGGER subscriptions_deleted_recheck
AFTER DELETE ON subscriptions
BEGIN
    UPDATE removal_candidates SET recheck = TRUE
    WHERE profile_id = old.profile_id AND account_id = old.account_id AND closed_at IS NULL;
END;

-- What the profile's open candidates were last judged against (rule,
-- exclusions, connector, the credentials' own account), as a digest: when
-- it differs, the next refresh judges every open candidate again.
ALTER TABLE profiles ADD COLUMN candidates_basis TEXT;
