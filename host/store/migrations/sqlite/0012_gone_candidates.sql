-- Schema version 12: a candidate closed because its account left the
-- vendor's listing records the state it was in (`gone_from`). When the
-- account comes back and is a candidate again, the new candidate takes that
-- state, with the notice and reclamation date, and names the candidate it
-- carries on (`carried_from`): a vendor's bad day must not make users be
-- told twice, nor lose an approval or an answer.
ALTER TABLE removal_candidates ADD COLUMN gone_from TEXT;
ALTER TABLE removal_candidates ADD COLUMN carried_from BIGINT;
