-- Schema version 10: a users run that would mark too large a share of a
-- profile's live accounts gone is held (issue: an empty or shrunken 200
-- listing closed every candidate). Nothing is marked gone by it; the digest
-- of the accounts it missed is kept, so the next run that misses the very
-- same accounts confirms the departure.
ALTER TABLE job_runs ADD COLUMN held_gone_digest TEXT;
ALTER TABLE job_runs ADD COLUMN held_gone_count INTEGER;
