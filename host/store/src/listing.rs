//! Tenant-wide listings one page at a time, for the HTTP API.
//!
//! The command line reads a profile's whole list; an API client over a
//! million subscriptions cannot. Every listing here is scoped to one tenant
//! by a join on its profiles (a row of another tenant is never read), takes
//! its filters as typed values bound into the statement, and pages by key
//! (the last row's key, never an offset), so page 10,000 costs what page 1
//! does and rows written meanwhile neither repeat nor vanish.

use super::{ProfileId, Storage, TenantId};
use crate::audit::AuditEntry;
use crate::candidates::{CANDIDATE_COLUMNS_OF_C, candidate_from_row};
use crate::sql::{Engine, Statement};
use crate::{
    Candidate, CandidateState, JOB_RUN_COLUMNS, JobRun, Result, StoredSubscription,
    job_run_from_row, subscription_from_row,
};
use sqlx::Row;

/// Which accounts a subscriptions listing keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountState {
    /// Active at the vendor and still in its listing.
    Active,
    /// Deactivated at the vendor, still in its listing.
    Inactive,
    /// No longer in the vendor's listing.
    Gone,
}

/// The filters of a subscriptions listing; `None` keeps everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct SubscriptionFilter {
    /// Only this profile's accounts.
    pub profile: Option<ProfileId>,
    /// Only accounts in this state.
    pub state: Option<AccountState>,
    /// Only accounts with no activity at or after this time (epoch ms);
    /// accounts never active are included.
    pub inactive_since: Option<i64>,
    /// Only accounts active at or after this time (epoch ms).
    pub active_since: Option<i64>,
}

/// Where a subscriptions page continues: after this profile and account.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubscriptionKey {
    /// The profile id of the last account on the page before.
    pub profile: i64,
    /// Its vendor account id.
    pub account_id: String,
}

/// One account of a tenant-wide listing, with its profile.
#[derive(Clone, Debug)]
pub struct ListedSubscription {
    /// The profile's id, for the next page's key.
    pub profile_id: ProfileId,
    /// The profile's name.
    pub profile: String,
    /// The account.
    pub subscription: StoredSubscription,
}

impl ListedSubscription {
    /// The key the next page starts after.
    pub fn key(&self) -> SubscriptionKey {
        SubscriptionKey {
            profile: self.profile_id.id,
            account_id: self.subscription.account_id.clone(),
        }
    }
}

/// The filters of a candidates listing.
#[derive(Clone, Copy, Debug, Default)]
pub struct CandidateFilter {
    /// Only this profile's candidates.
    pub profile: Option<ProfileId>,
    /// Only candidates in this state.
    pub state: Option<CandidateState>,
    /// Closed candidates too (ignored when `state` is given).
    pub include_closed: bool,
}

/// The filters of a job listing.
#[derive(Clone, Copy, Debug, Default)]
pub struct JobFilter {
    /// Only this profile's jobs.
    pub profile: Option<ProfileId>,
    /// Only failed runs (`failed`), as stored.
    pub failed_only: bool,
}

impl Storage {
    /// Up to `limit` of the tenant's accounts after `after`, ordered by
    /// profile and account id.
    pub async fn subscriptions_page(
        &self,
        tenant: TenantId,
        filter: &SubscriptionFilter,
        after: Option<&SubscriptionKey>,
        limit: u32,
    ) -> Result<Vec<ListedSubscription>> {
        let mut query = Statement::new(self.engine, crate::SUBSCRIPTION_COLUMNS);
        // The tenant's profiles as an IN list on the primary key's first
        // column: SQLite then walks the key in order and stops at `limit`
        // (a join on the tenant sorted all of the tenant's rows first:
        // about 2 s per page over a million subscriptions).
        query.push(
            ", s.profile_id, p.name AS profile_name FROM subscriptions s
             JOIN profiles p ON p.id = s.profile_id
             WHERE s.profile_id IN (SELECT id FROM profiles WHERE tenant_id = ",
        );
        query.push_bind(tenant.0).push(")");
        if let Some(profile) = filter.profile {
            query.push(" AND s.profile_id = ").push_bind(profile.id);
        }
        match filter.state {
            Some(AccountState::Active) => {
                query.push(" AND s.active = TRUE AND s.gone_at IS NULL");
            }
            Some(AccountState::Inactive) => {
                query.push(" AND s.active = FALSE AND s.gone_at IS NULL");
            }
            Some(AccountState::Gone) => {
                query.push(" AND s.gone_at IS NOT NULL");
            }
            None => {}
        }
        if let Some(since) = filter.inactive_since {
            query
                .push(" AND (s.last_active_at IS NULL OR s.last_active_at < ")
                .push_bind(since)
                .push(")");
        }
        if let Some(since) = filter.active_since {
            query.push(" AND s.last_active_at >= ").push_bind(since);
        }
        if let Some(after) = after {
            query
                .push(" AND (s.profile_id > ")
                .push_bind(after.profile)
                .push(" OR (s.profile_id = ")
                .push_bind(after.profile)
                .push(" AND s.account_id > ")
                .push_bind(after.account_id.clone())
                .push("))");
        }
        query
            .push(" ORDER BY s.profile_id, s.account_id LIMIT ")
            .push_bind(i64::from(limit));
        let rows = query
            .build()
            .fetch_all(&mut *self.read(tenant).await?)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ListedSubscription {
                    profile_id: ProfileId {
                        tenant,
                        id: r.get("profile_id"),
                    },
                    profile: r.get("profile_name"),
                    subscription: subscription_from_row(r)?,
                })
            })
            .collect()
    }

    /// Up to `limit` of the tenant's candidates with their profile names,
    /// newest first, older than candidate `before` when given.
    pub async fn candidates_page(
        &self,
        tenant: TenantId,
        filter: &CandidateFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(String, Candidate)>> {
        let mut query = Statement::new(self.engine, CANDIDATE_COLUMNS_OF_C);
        // Across the tenant, newest first: walk the rowid backwards and
        // stop at `limit` (through the profile index, SQLite sorted every
        // open candidate of the tenant first: ~0.4 s per page at 123,000).
        // One profile's candidates are found through its index.
        query.push(
            if filter.profile.is_none() && self.engine == Engine::Sqlite {
                ", p.name AS profile_name FROM removal_candidates c NOT INDEXED"
            } else {
                ", p.name AS profile_name FROM removal_candidates c"
            },
        );
        query.push(
            " JOIN profiles p ON p.id = c.profile_id
             WHERE c.profile_id IN (SELECT id FROM profiles WHERE tenant_id = ",
        );
        query.push_bind(tenant.0).push(")");
        if let Some(profile) = filter.profile {
            query.push(" AND c.profile_id = ").push_bind(profile.id);
        }
        if let Some(state) = filter.state {
            query.push(" AND c.state = ").push_bind(state.as_str());
        } else if !filter.include_closed {
            query.push(" AND c.closed_at IS NULL");
        }
        if let Some(before) = before {
            query.push(" AND c.id < ").push_bind(before);
        }
        query
            .push(" ORDER BY c.id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows = query
            .build()
            .fetch_all(&mut *self.read(tenant).await?)
            .await?;
        rows.iter()
            .map(|r| Ok((r.get("profile_name"), candidate_from_row(r)?)))
            .collect()
    }

    /// Up to `limit` of the tenant's job runs, newest first, older than run
    /// `before` when given.
    pub async fn job_runs_page(
        &self,
        tenant: TenantId,
        filter: &JobFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<JobRun>> {
        let mut query = Statement::new(self.engine, JOB_RUN_COLUMNS);
        query.push(" WHERE p.tenant_id = ").push_bind(tenant.0);
        if let Some(profile) = filter.profile {
            query.push(" AND j.profile_id = ").push_bind(profile.id);
        }
        if filter.failed_only {
            query.push(" AND j.status = 'failed'");
        }
        if let Some(before) = before {
            query.push(" AND j.id < ").push_bind(before);
        }
        query
            .push(" ORDER BY j.id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows = query
            .build()
            .fetch_all(&mut *self.read(tenant).await?)
            .await?;
        let now = (self.now)();
        Ok(rows.iter().map(|r| job_run_from_row(r, now)).collect())
    }

    /// Up to `limit` of the tenant's audit entries, oldest first, after
    /// entry `after` when given.
    pub async fn audit_page(
        &self,
        tenant: TenantId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT a.id, t.name AS tenant, a.profile_name, a.at, a.actor, a.action, a.detail, a.prev_hash, a.hash
             FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
             WHERE a.tenant_id = $1 AND a.id > $2 ORDER BY a.id LIMIT $3",
        )
        .bind(tenant.0)
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.read(tenant).await?)
        .await?;
        Ok(rows.iter().map(crate::audit::entry_from_row).collect())
    }

    /// The tenant's newest `limit` audit entries, newest first (the
    /// console's view of the log).
    pub async fn audit_newest(&self, tenant: TenantId, limit: u32) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT a.id, t.name AS tenant, a.profile_name, a.at, a.actor, a.action, a.detail, a.prev_hash, a.hash
             FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
             WHERE a.tenant_id = $1 ORDER BY a.id DESC LIMIT $2",
        )
        .bind(tenant.0)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.read(tenant).await?)
        .await?;
        Ok(rows.iter().map(crate::audit::entry_from_row).collect())
    }
}
