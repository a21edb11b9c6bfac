-- Schema version 4: telling users about their candidacy and taking their
-- answer, and undoing a reclamation.

-- When an account was last turned back on (by `seatwarden reactivate`, or
-- seen inactive and then active again at the vendor): the grace period
-- counts from here, so a restored account is not reclaimed again at once.
ALTER TABLE subscriptions ADD COLUMN reactivated_at BIGINT;

-- When the user was told, and the reclamation date they were given.
ALTER TABLE removal_candidates ADD COLUMN notified_at BIGINT;
ALTER TABLE removal_candidates ADD COLUMN reclaim_after BIGINT;
-- SHA-256 of the nonce in the user's keep/release links; cleared when one
-- is used, so each link works once.
ALTER TABLE removal_candidates ADD COLUMN answer_nonce_hash TEXT;
-- The deactivation, and the audit entry that recorded it (for the undo).
ALTER TABLE removal_candidates ADD COLUMN deactivated_at BIGINT;
ALTER TABLE removal_candidates ADD COLUMN reclaim_audit_id BIGINT;
ALTER TABLE removal_candidates ADD COLUMN reactivated_at BIGINT;
