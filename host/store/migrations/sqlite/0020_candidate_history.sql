-- A refresh that opens a candidate looks up the account's newest earlier
-- candidate (to carry on from one closed when the account left the
-- listing). Without this index each lookup walked every candidate of the
-- profile; the first refresh over 1M subscriptions opens 123,000.
CREATE INDEX removal_candidates_account ON removal_candidates (profile_id, account_id, id);
