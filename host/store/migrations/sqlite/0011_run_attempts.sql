-- Schema version 11: every attempt of a sync run is its own job_runs row
-- (issue: resuming a run overwrote its own failure). A resumed attempt
-- names the attempt it resumed (`resumes`) and the listing's first attempt
-- (`listing_run`, which accounts' `first_seen_run`/`last_seen_run` keep
-- naming across attempts). The cursor names the attempt that may write it:
-- an older attempt (a process paused past its lease) finds its writes
-- refused. `owner` is the lease owner that ran the attempt and
-- `profile_status` the profile's state when it started.
ALTER TABLE job_runs ADD COLUMN resumes BIGINT;
ALTER TABLE job_runs ADD COLUMN listing_run BIGINT;
ALTER TABLE job_runs ADD COLUMN owner TEXT;
ALTER TABLE job_runs ADD COLUMN profile_status TEXT;
ALTER TABLE sync_cursors ADD COLUMN listing_run BIGINT;
UPDATE sync_cursors SET listing_run = run_id;
