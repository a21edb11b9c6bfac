//! Storage of integration profiles: their settings, lifecycle state,
//! schedules and the audit entries their changes leave.
//!
//! Every lookup starts from a [`TenantId`], so a profile of one tenant cannot
//! be named, listed or changed from another. The lifecycle rules themselves
//! (what may be published, what sends a profile back to draft) live in
//! `crate::profiles`; this module only reads and writes rows, each change in
//! one transaction together with its audit entry.

use super::audit::{self, AuditNote};
use super::{ProfileId, Source, Storage, TenantId};
use crate::Result;
use crate::Tenancy;
use anyhow::Context;
use serde::Serialize;
use sqlx::Row;

pub use seatwarden_domain::profile_settings::{ActivityFrom, ProfileSettings};

/// Where a profile stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileStatus {
    /// Not running: new, or sent back by a change; it has no scheduled jobs.
    Draft,
    /// Validated against its current connection and connector, and running on schedule.
    Published,
}

impl ProfileStatus {
    /// The name stored in the database and shown to operators.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileStatus::Draft => "draft",
            ProfileStatus::Published => "published",
        }
    }
}

/// The connector a profile uses, as last loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConnectorIdentity {
    /// The connector's name from its descriptor, e.g. `smartsheet`.
    pub name: String,
    /// The connector's version, as its descriptor gives it.
    pub version: String,
    /// The hex sha256 of the component's bytes.
    pub digest: String,
    /// The base URL the profile's connection resolved to.
    pub base_url: String,
}

/// The outcome of the last `validate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Validation {
    /// When it ran, in milliseconds since the Unix epoch.
    pub at: i64,
    /// Whether the connector's `validate` succeeded.
    pub passed: bool,
    /// What `validate` reported, or why it failed.
    pub detail: String,
    /// Fingerprint of the connection and connector it ran against.
    pub fingerprint: String,
    /// The vendor account (`account.id`) the credentials act as, as the
    /// last passing validation reported it; never reclaimed unless a rule
    /// names it.
    pub credential_account: Option<String>,
}

/// A stored profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProfileRecord {
    /// The profile's id; left out of JSON output.
    #[serde(skip)]
    pub id: ProfileId,
    /// The tenant it belongs to; left out of JSON output (`tenant_name` is not).
    #[serde(skip)]
    pub tenant: TenantId,
    /// The tenant's name.
    pub tenant_name: String,
    /// The profile's name, unique within its tenant.
    pub name: String,
    /// Draft or published; only a published profile has scheduled jobs.
    pub status: ProfileStatus,
    /// Its connection, what it downloads, whether it reclaims, and its schedules.
    pub settings: ProfileSettings,
    /// The connector it was last loaded with.
    pub connector: ConnectorIdentity,
    /// The last validation's outcome; `None` if it was never validated.
    pub validation: Option<Validation>,
    /// When it was last published, in epoch milliseconds; `None` while a draft.
    pub published_at: Option<i64>,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Where it was made; `None` for profiles made before schema 16.
    pub source: Option<Source>,
}

/// One of a published profile's scheduled jobs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScheduledJob {
    /// The profile it belongs to; left out of JSON output.
    #[serde(skip)]
    pub profile: ProfileId,
    /// What it runs: `subscriptions` or `activity`.
    pub kind: String,
    /// The cron expression it runs on.
    pub cron: String,
    /// The IANA time zone the cron times are read in, e.g. `Europe/Berlin`.
    pub time_zone: String,
    /// When it is next due, in milliseconds since the Unix epoch.
    pub next_due_at: i64,
    /// When it last ran, in epoch milliseconds; `None` if it has not run yet.
    pub last_run_at: Option<i64>,
}

const PROFILE_COLUMNS: &str = "SELECT p.id, p.tenant_id, t.name AS tenant_name, p.name, p.status,
        p.connection_name, CAST(p.download_activity AS INTEGER) AS download_activity,
        CAST(p.reclaim AS INTEGER) AS reclaim, p.activity_from_date, p.activity_from_days,
        p.subscriptions_cron, p.activity_cron, p.connector_name, p.connector_version, p.connector_digest,
        p.base_url, p.validated_at, CAST(p.validation_passed AS INTEGER) AS validation_passed, p.validation_detail, p.validated_fingerprint,
        p.credential_account, p.published_at, p.created_at, p.source
     FROM profiles p JOIN tenants t ON t.id = p.tenant_id";

fn profile_from_row(r: &sqlx::any::AnyRow) -> Result<ProfileRecord> {
    let activity_from = match r.get::<Option<String>, _>("activity_from_date") {
        Some(date) => ActivityFrom::Date(date.parse().context("stored activity_from_date")?),
        None => ActivityFrom::DaysBack(
            u32::try_from(r.get::<i64, _>("activity_from_days")).context("activity_from_days")?,
        ),
    };
    let status = match r.get::<String, _>("status").as_str() {
        "published" => ProfileStatus::Published,
        _ => ProfileStatus::Draft,
    };
    let validation = r
        .get::<Option<i64>, _>("validated_at")
        .map(|at| Validation {
            at,
            passed: r
                .get::<Option<i64>, _>("validation_passed")
                .is_some_and(|passed| passed != 0),
            detail: r
                .get::<Option<String>, _>("validation_detail")
                .unwrap_or_default(),
            fingerprint: r
                .get::<Option<String>, _>("validated_fingerprint")
                .unwrap_or_default(),
            credential_account: r.get("credential_account"),
        });
    Ok(ProfileRecord {
        id: ProfileId {
            tenant: TenantId(r.get("tenant_id")),
            id: r.get("id"),
        },
        tenant: TenantId(r.get("tenant_id")),
        tenant_name: r.get("tenant_name"),
        name: r.get("name"),
        status,
        settings: ProfileSettings {
            connection: r.get("connection_name"),
            download_activity: crate::flag(r, "download_activity"),
            reclaim: crate::flag(r, "reclaim"),
            activity_from,
            subscriptions_cron: r.get("subscriptions_cron"),
            activity_cron: r.get("activity_cron"),
        },
        connector: ConnectorIdentity {
            name: r.get("connector_name"),
            version: r.get("connector_version"),
            digest: r.get("connector_digest"),
            base_url: r.get("base_url"),
        },
        validation,
        published_at: r.get("published_at"),
        created_at: r.get("created_at"),
        source: r
            .get::<Option<String>, _>("source")
            .as_deref()
            .and_then(Source::parse),
    })
}

fn activity_columns(from: ActivityFrom) -> (Option<String>, i64) {
    match from {
        ActivityFrom::Date(date) => (Some(date.to_string()), 60),
        ActivityFrom::DaysBack(days) => (None, i64::from(days)),
    }
}

impl Storage {
    /// A tenant by name, if it exists.
    pub async fn find_tenant(&self, name: &str) -> Result<Option<TenantId>> {
        Ok(sqlx::query_scalar("SELECT id FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *self.read(Tenancy::AllTenants).await?)
            .await?
            .map(TenantId))
    }

    /// Creates a draft profile. Fails if the tenant already has one by that name.
    pub async fn create_profile(
        &self,
        tenant: TenantId,
        name: &str,
        settings: &ProfileSettings,
        connector: &ConnectorIdentity,
        source: Source,
        note: &AuditNote<'_>,
    ) -> Result<ProfileId> {
        let mut tx = self.write(tenant).await?;
        let (date, days) = activity_columns(settings.activity_from);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO profiles (tenant_id, name, connector_name, connector_version, connector_digest, base_url,
                 created_at, connection_name, status, download_activity, reclaim, activity_from_date,
                 activity_from_days, subscriptions_cron, activity_cron, source)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9, $10, $11, $12, $13, $14, $15) RETURNING id",
        )
        .bind(tenant.0)
        .bind(name)
        .bind(&connector.name)
        .bind(&connector.version)
        .bind(&connector.digest)
        .bind(&connector.base_url)
        .bind(note.at)
        .bind(&settings.connection)
        .bind(settings.download_activity)
        .bind(settings.reclaim)
        .bind(date)
        .bind(days)
        .bind(&settings.subscriptions_cron)
        .bind(&settings.activity_cron)
        .bind(source.as_str())
        .fetch_one(&mut *tx)
        .await
        .with_context(|| format!("creating profile {name}"))?;
        audit::append(&mut tx, tenant, Some(name), note).await?;
        tx.commit().await?;
        Ok(ProfileId { tenant, id })
    }

    /// Replaces a profile's settings and connector identity; `status` is
    /// what the lifecycle decided it becomes (a draft has no jobs), and
    /// `outdated` marks the last validation as no longer covering the
    /// settings (publishing then needs a new one).
    pub async fn update_profile(
        &self,
        profile: &ProfileRecord,
        settings: &ProfileSettings,
        connector: &ConnectorIdentity,
        status: ProfileStatus,
        outdated: bool,
        note: &AuditNote<'_>,
    ) -> Result<()> {
        let mut tx = self.write(profile.id).await?;
        let (date, days) = activity_columns(settings.activity_from);
        sqlx::query(
            "UPDATE profiles SET connection_name = $1, download_activity = $2, reclaim = $3, activity_from_date = $4,
                 activity_from_days = $5, subscriptions_cron = $6, activity_cron = $7, connector_name = $8,
                 connector_version = $9, connector_digest = $10, base_url = $11, status = $12,
                 published_at = CASE WHEN $13 = 'draft' THEN NULL ELSE published_at END,
                 validated_fingerprint = CASE WHEN $14 THEN NULL ELSE validated_fingerprint END
             WHERE id = $15 AND tenant_id = $16",
        )
        .bind(&settings.connection)
        .bind(settings.download_activity)
        .bind(settings.reclaim)
        .bind(date)
        .bind(days)
        .bind(&settings.subscriptions_cron)
        .bind(&settings.activity_cron)
        .bind(&connector.name)
        .bind(&connector.version)
        .bind(&connector.digest)
        .bind(&connector.base_url)
        .bind(status.as_str())
        .bind(status.as_str())
        .bind(outdated)
        .bind(profile.id.id)
        .bind(profile.tenant.0)
        .execute(&mut *tx)
        .await?;
        if status == ProfileStatus::Draft {
            sqlx::query("DELETE FROM scheduled_jobs WHERE profile_id = $1")
                .bind(profile.id.id)
                .execute(&mut *tx)
                .await?;
        }
        audit::append(&mut tx, profile.tenant, Some(&profile.name), note).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A tenant's profile by name.
    pub async fn profile(&self, tenant: TenantId, name: &str) -> Result<Option<ProfileRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{PROFILE_COLUMNS} WHERE p.tenant_id = $1 AND p.name = $2"
        )))
        .bind(tenant.0)
        .bind(name)
        .fetch_optional(&mut *self.read(tenant).await?)
        .await?;
        row.as_ref().map(profile_from_row).transpose()
    }

    /// A tenant's profiles, by name.
    pub async fn profiles(&self, tenant: TenantId) -> Result<Vec<ProfileRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{PROFILE_COLUMNS} WHERE p.tenant_id = $1 ORDER BY p.name"
        )))
        .bind(tenant.0)
        .fetch_all(&mut *self.read(tenant).await?)
        .await?;
        rows.iter().map(profile_from_row).collect()
    }

    /// Every published profile of every tenant: what `serve` schedules.
    pub async fn published_profiles(&self) -> Result<Vec<ProfileRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{PROFILE_COLUMNS} WHERE p.status = 'published' ORDER BY t.name, p.name"
        )))
        .fetch_all(&mut *self.read(Tenancy::AllTenants).await?)
        .await?;
        rows.iter().map(profile_from_row).collect()
    }

    /// Records a validation's outcome and the fingerprint it ran against.
    pub async fn record_validation(
        &self,
        profile: &ProfileRecord,
        validation: &Validation,
        note: &AuditNote<'_>,
    ) -> Result<()> {
        let mut tx = self.write(profile.id).await?;
        sqlx::query(
            "UPDATE profiles SET validated_at = $1, validation_passed = $2, validation_detail = $3, validated_fingerprint = $4,
               credential_account = $5
             WHERE id = $6 AND tenant_id = $7",
        )
        .bind(validation.at)
        .bind(validation.passed)
        .bind(super::stored_text(&validation.detail))
        .bind(&validation.fingerprint)
        .bind(&validation.credential_account)
        .bind(profile.id.id)
        .bind(profile.tenant.0)
        .execute(&mut *tx)
        .await?;
        audit::append(&mut tx, profile.tenant, Some(&profile.name), note).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Publishes a profile and creates its jobs, atomically.
    pub async fn publish_profile(
        &self,
        profile: &ProfileRecord,
        jobs: &[ScheduledJob],
        note: &AuditNote<'_>,
    ) -> Result<()> {
        let mut tx = self.write(profile.id).await?;
        sqlx::query(
            "UPDATE profiles SET status = 'published', published_at = $1 WHERE id = $2 AND tenant_id = $3",
        )
        .bind(note.at)
        .bind(profile.id.id)
        .bind(profile.tenant.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM scheduled_jobs WHERE profile_id = $1")
            .bind(profile.id.id)
            .execute(&mut *tx)
            .await?;
        for job in jobs {
            sqlx::query(
                "INSERT INTO scheduled_jobs (profile_id, kind, cron, time_zone, next_due_at, last_run_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(profile.id.id)
            .bind(&job.kind)
            .bind(&job.cron)
            .bind(&job.time_zone)
            .bind(job.next_due_at)
            .bind(job.last_run_at)
            .execute(&mut *tx)
            .await?;
        }
        audit::append(&mut tx, profile.tenant, Some(&profile.name), note).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Returns a profile to draft and removes its jobs.
    pub async fn unpublish_profile(
        &self,
        profile: &ProfileRecord,
        note: &AuditNote<'_>,
    ) -> Result<()> {
        self.update_profile(
            profile,
            &profile.settings,
            &profile.connector,
            ProfileStatus::Draft,
            false,
            note,
        )
        .await
    }

    /// Deletes a profile with its data, jobs and job runs; its audit entries
    /// stay (they name the profile, not its row).
    pub async fn delete_profile(
        &self,
        profile: &ProfileRecord,
        note: &AuditNote<'_>,
    ) -> Result<()> {
        let mut tx = self.write(profile.id).await?;
        for table in [
            "scheduled_jobs",
            "removal_candidates",
            "reclamation_rules",
            "profile_leases",
            "sync_cursors",
            "activity_watermarks",
            "subscriptions",
            "job_runs",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE profile_id = $1"
            )))
            .bind(profile.id.id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM profiles WHERE id = $1 AND tenant_id = $2")
            .bind(profile.id.id)
            .bind(profile.tenant.0)
            .execute(&mut *tx)
            .await?;
        audit::append(&mut tx, profile.tenant, Some(&profile.name), note).await?;
        tx.commit().await?;
        Ok(())
    }
}
