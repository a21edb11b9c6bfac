//! Storage for the scheduler: due jobs, per-profile leases and job results.
//!
//! A lease is a row per profile with an owner and an expiry. Taking it is
//! one conditional upsert, so two workers (or two host processes on one
//! database) never run jobs of the same profile at once; a crashed owner's
//! lease simply expires. A job's due time moves when its run ends, and only
//! from the time it was found due at (a compare-and-set), so of several
//! hosts that found it due one runs it, and a dead host's job stays due.

use super::profiles::ScheduledJob;
use super::{JOB_RUN_COLUMNS, JobRun, ProfileId, Storage, TenantId, job_run_from_row};
use crate::Result;
use crate::Tenancy;
use sqlx::Row;

impl Storage {
    /// A profile's scheduled jobs.
    pub async fn scheduled_jobs(&self, profile: ProfileId) -> Result<Vec<ScheduledJob>> {
        let rows = sqlx::query(
            "SELECT s.profile_id, p.tenant_id, s.kind, s.cron, s.time_zone, s.next_due_at, s.last_run_at
             FROM scheduled_jobs s JOIN profiles p ON p.id = s.profile_id
             WHERE s.profile_id = $1 ORDER BY s.kind",
        )
        .bind(profile.id)
        .fetch_all(&mut *self.read(profile).await?)
        .await?;
        Ok(rows.iter().map(scheduled_from_row).collect())
    }

    /// Every scheduled job due at `now` (of published profiles only).
    pub async fn due_jobs(&self, now: i64) -> Result<Vec<ScheduledJob>> {
        let rows = sqlx::query(
            "SELECT s.profile_id, p.tenant_id, s.kind, s.cron, s.time_zone, s.next_due_at, s.last_run_at
             FROM scheduled_jobs s JOIN profiles p ON p.id = s.profile_id
             WHERE p.status = 'published' AND s.next_due_at <= $1
             ORDER BY s.next_due_at, s.profile_id, s.kind",
        )
        .bind(now)
        .fetch_all(&mut *self.read(Tenancy::AllTenants).await?)
        .await?;
        Ok(rows.iter().map(scheduled_from_row).collect())
    }

    /// The earliest time after `now` any scheduled job (of a profile or a
    /// tenant) is due. Jobs due already are left out: they are running
    /// (a job stays due until it ends), waiting for a slot, or held by
    /// another host's lease.
    pub async fn next_due_at(&self, now: i64) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(due) FROM (
               SELECT MIN(s.next_due_at) AS due FROM scheduled_jobs s
                 JOIN profiles p ON p.id = s.profile_id
                 WHERE p.status = 'published' AND s.next_due_at > $1
               UNION ALL
               SELECT MIN(t.next_due_at) AS due FROM tenant_jobs t
                 WHERE t.next_due_at > $2 AND EXISTS (SELECT 1 FROM profiles p
                               WHERE p.tenant_id = t.tenant_id AND p.status = 'published')
             ) AS due_times",
        )
        .bind(now)
        .bind(now)
        .fetch_one(&mut *self.read(Tenancy::AllTenants).await?)
        .await?)
    }

    /// Makes a tenant's job of `kind` run on `cron` in `time_zone`: creates
    /// it due at `first_due_at`, or, when the cron expression or zone
    /// changed, moves it to `first_due_at`; otherwise leaves it alone.
    pub async fn ensure_tenant_job(
        &self,
        tenant: TenantId,
        kind: &str,
        cron: &str,
        time_zone: &str,
        first_due_at: i64,
    ) -> Result<()> {
        self.write_one(
            tenant,
            sqlx::query(
                "INSERT INTO tenant_jobs (tenant_id, kind, cron, time_zone, next_due_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (tenant_id, kind) DO UPDATE SET
                   cron = excluded.cron, time_zone = excluded.time_zone,
                   next_due_at = excluded.next_due_at
                 WHERE tenant_jobs.cron <> excluded.cron OR tenant_jobs.time_zone <> excluded.time_zone",
            )
            .bind(tenant.0)
            .bind(kind)
            .bind(cron)
            .bind(time_zone)
            .bind(first_due_at),
        )
        .await?;
        Ok(())
    }

    /// Tenant jobs due at `now`, of tenants with a published profile, as
    /// (tenant, kind, next due time).
    pub async fn due_tenant_jobs(&self, now: i64) -> Result<Vec<(TenantId, String, i64)>> {
        let rows = sqlx::query(
            "SELECT t.tenant_id, t.kind, t.next_due_at FROM tenant_jobs t
             WHERE t.next_due_at <= $1 AND EXISTS (SELECT 1 FROM profiles p
               WHERE p.tenant_id = t.tenant_id AND p.status = 'published')
             ORDER BY t.next_due_at, t.tenant_id",
        )
        .bind(now)
        .fetch_all(&mut *self.read(Tenancy::AllTenants).await?)
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    TenantId(r.get("tenant_id")),
                    r.get("kind"),
                    r.get("next_due_at"),
                )
            })
            .collect())
    }

    /// Claims a due tenant job by moving its due time from `was_due_at` to
    /// `next_due_at` (the end of the claimant's hold on it: the job is due
    /// again then unless the claimant renews or finishes it with
    /// [`Storage::move_tenant_job`]). Only one claimant (of all host
    /// processes) succeeds.
    pub async fn claim_tenant_job(
        &self,
        tenant: TenantId,
        kind: &str,
        was_due_at: i64,
        next_due_at: i64,
        now: i64,
    ) -> Result<bool> {
        let claimed = self
            .write_one(
                tenant,
                sqlx::query(
                    "UPDATE tenant_jobs SET next_due_at = $1, last_run_at = $2
             WHERE tenant_id = $3 AND kind = $4 AND next_due_at = $5",
                )
                .bind(next_due_at)
                .bind(now)
                .bind(tenant.0)
                .bind(kind)
                .bind(was_due_at),
            )
            .await?
            .rows_affected();
        Ok(claimed == 1)
    }

    /// Moves a claimed tenant job's due time from `from` to `to`, if it is
    /// still at `from` (nobody else claimed it since, and the configuration
    /// did not move it): to renew a hold, or to its next period when it
    /// ran. Returns whether it moved.
    pub async fn move_tenant_job(
        &self,
        tenant: TenantId,
        kind: &str,
        from: i64,
        to: i64,
    ) -> Result<bool> {
        let moved = self
            .write_one(
                tenant,
                sqlx::query(
                    "UPDATE tenant_jobs SET next_due_at = $1
                     WHERE tenant_id = $2 AND kind = $3 AND next_due_at = $4",
                )
                .bind(to)
                .bind(tenant.0)
                .bind(kind)
                .bind(from),
            )
            .await?
            .rows_affected();
        Ok(moved == 1)
    }

    /// Moves a job's next due time (when it was found due or overdue).
    pub async fn reschedule(&self, profile: ProfileId, kind: &str, next_due_at: i64) -> Result<()> {
        self.write_one(
            profile,
            sqlx::query(
                "UPDATE scheduled_jobs SET next_due_at = $1 WHERE profile_id = $2 AND kind = $3",
            )
            .bind(next_due_at)
            .bind(profile.id)
            .bind(kind),
        )
        .await?;
        Ok(())
    }

    /// Ends a job's run: moves its next due time from `was_due_at` (the
    /// time it was found due at) to `next_due_at`. A job whose due time
    /// changed meanwhile (the configuration moved it; a request to run a
    /// job that is due already changes nothing) keeps the newer time.
    /// Returns whether it moved.
    pub async fn finish_job(
        &self,
        profile: ProfileId,
        kind: &str,
        was_due_at: i64,
        next_due_at: i64,
    ) -> Result<bool> {
        let moved = self
            .write_one(
                profile,
                sqlx::query(
                    "UPDATE scheduled_jobs SET next_due_at = $1
             WHERE profile_id = $2 AND kind = $3 AND next_due_at = $4",
                )
                .bind(next_due_at)
                .bind(profile.id)
                .bind(kind)
                .bind(was_due_at),
            )
            .await?
            .rows_affected();
        Ok(moved == 1)
    }

    /// The profiles whose lease someone holds at `now`, with the holder.
    pub async fn live_leases(&self, now: i64) -> Result<Vec<(ProfileId, String)>> {
        let rows =
            sqlx::query("SELECT l.profile_id, p.tenant_id, l.owner FROM profile_leases l JOIN profiles p ON p.id = l.profile_id WHERE l.expires_at > $1")
                .bind(now)
                .fetch_all(&mut *self.read(Tenancy::AllTenants).await?)
                .await?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    ProfileId {
                        tenant: TenantId(r.get("tenant_id")),
                        id: r.get("profile_id"),
                    },
                    r.get("owner"),
                )
            })
            .collect())
    }

    /// Makes a published profile's scheduled job due now, for a person who
    /// asked for it (the API's "run now"), with an audit entry in the same
    /// transaction. Any scheduler on the database starts it within its next
    /// look at the schedule (at most a minute). Returns `false`, changing
    /// nothing, when the profile has no such scheduled job (a draft).
    pub async fn request_run(
        &self,
        record: &crate::ProfileRecord,
        kind: &str,
        note: &crate::AuditNote<'_>,
    ) -> Result<bool> {
        let mut tx = self.write(record.id).await?;
        let scheduled: Option<i64> = sqlx::query_scalar(
            "SELECT next_due_at FROM scheduled_jobs WHERE profile_id = $1 AND kind = $2",
        )
        .bind(record.id.id)
        .bind(kind)
        .fetch_optional(&mut *tx)
        .await?;
        if scheduled.is_none() {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE scheduled_jobs SET next_due_at = $1 WHERE profile_id = $2 AND kind = $3 AND next_due_at > $4",
        )
        .bind(note.at)
        .bind(record.id.id)
        .bind(kind)
        .bind(note.at)
        .execute(&mut *tx)
        .await?;
        crate::audit::append(&mut tx, record.tenant, Some(&record.name), note).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records when a job last ran, leaving its next due time alone.
    pub async fn mark_ran(&self, profile: ProfileId, kind: &str, at: i64) -> Result<()> {
        self.write_one(
            profile,
            sqlx::query(
                "UPDATE scheduled_jobs SET last_run_at = $1 WHERE profile_id = $2 AND kind = $3",
            )
            .bind(at)
            .bind(profile.id)
            .bind(kind),
        )
        .await?;
        Ok(())
    }

    /// Takes the profile's lease for `owner` until `expires_at`, unless
    /// another owner holds an unexpired one. Renews the owner's own lease.
    pub async fn try_lease(
        &self,
        profile: ProfileId,
        owner: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool> {
        let taken = self.write_one(
            profile,
            sqlx::query(
                "INSERT INTO profile_leases (profile_id, owner, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (profile_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
                 WHERE profile_leases.expires_at <= $4 OR profile_leases.owner = excluded.owner",
            )
            .bind(profile.id)
            .bind(owner)
            .bind(expires_at)
            .bind(now),
        )
        .await?
        .rows_affected();
        Ok(taken == 1)
    }

    /// Takes the lease from `dead_owner` (a process known to have ended),
    /// if it still holds it. Only one taker succeeds.
    pub async fn take_over_lease(
        &self,
        profile: ProfileId,
        dead_owner: &str,
        owner: &str,
        expires_at: i64,
    ) -> Result<bool> {
        let taken = self.write_one(
            profile,
            sqlx::query(
                "UPDATE profile_leases SET owner = $1, expires_at = $2 WHERE profile_id = $3 AND owner = $4",
            )
            .bind(owner)
            .bind(expires_at)
            .bind(profile.id)
            .bind(dead_owner),
        )
        .await?
        .rows_affected();
        Ok(taken == 1)
    }

    /// Gives the lease back, if `owner` holds it.
    pub async fn release_lease(&self, profile: ProfileId, owner: &str) -> Result<()> {
        self.write_one(
            profile,
            sqlx::query("DELETE FROM profile_leases WHERE profile_id = $1 AND owner = $2")
                .bind(profile.id)
                .bind(owner),
        )
        .await?;
        Ok(())
    }

    /// Who holds a profile's lease, and until when.
    pub async fn lease_holder(&self, profile: ProfileId) -> Result<Option<(String, i64)>> {
        let row = sqlx::query("SELECT owner, expires_at FROM profile_leases WHERE profile_id = $1")
            .bind(profile.id)
            .fetch_optional(&mut *self.read(profile).await?)
            .await?;
        Ok(row.map(|r| (r.get("owner"), r.get("expires_at"))))
    }

    /// A tenant's job runs, newest first: all profiles, or one; optionally
    /// only those that did not succeed.
    pub async fn tenant_job_runs(
        &self,
        tenant: TenantId,
        profile: Option<ProfileId>,
        failed_only: bool,
        limit: i64,
    ) -> Result<Vec<JobRun>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{JOB_RUN_COLUMNS} WHERE p.tenant_id = $1 AND ($2 IS NULL OR j.profile_id = $3)
               AND ($4 = FALSE OR j.status IN ('failed', 'interrupted', 'running'))
             ORDER BY j.id DESC LIMIT $5"
        )))
        .bind(tenant.0)
        .bind(profile.map(|p| p.id))
        .bind(profile.map(|p| p.id))
        .bind(failed_only)
        .bind(limit)
        .fetch_all(&mut *self.read(tenant).await?)
        .await?;
        // A run marked running whose process has ended is shown (and
        // listed among the failed) as interrupted.
        Ok(rows
            .iter()
            .map(|r| job_run_from_row(r, (self.now)()))
            .filter(|run| !failed_only || run.status != "running")
            .collect())
    }
}

fn scheduled_from_row(r: &sqlx::any::AnyRow) -> ScheduledJob {
    ScheduledJob {
        profile: ProfileId {
            tenant: TenantId(r.get("tenant_id")),
            id: r.get("profile_id"),
        },
        kind: r.get("kind"),
        cron: r.get("cron"),
        time_zone: r.get("time_zone"),
        next_due_at: r.get("next_due_at"),
        last_run_at: r.get("last_run_at"),
    }
}
