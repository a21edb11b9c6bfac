//! What reconciliation and the usage reports read, and the reconciliation
//! runs they keep. Subscriptions are streamed row by row (a tenant may have
//! millions), never loaded as a whole.

use super::{ProfileId, Storage, TenantId, Trigger};
use crate::Result;
use anyhow::Context;
use futures_util::TryStreamExt;
use sqlx::Row;

/// One active subscription still at the vendor, as the scan passes it on.
pub struct LiveSubscription<'r> {
    /// The vendor's id of the account.
    pub account_id: &'r str,
    /// The account's principal as the vendor last reported it.
    pub principal: &'r str,
    /// The licence or seat identifiers it consumes.
    pub identifiers: Vec<String>,
    /// The connector's attributes as stored: a JSON array of `[name, value]`.
    pub attributes_json: &'r str,
    /// Its latest known activity, in epoch milliseconds; `None` if none was ever recorded.
    pub last_active_at: Option<i64>,
}

/// Live subscriptions sharing one list of identifiers.
pub struct IdentifierGroup {
    /// The list as stored (JSON): the group's key.
    pub raw: String,
    /// The same list, parsed.
    pub identifiers: Vec<String>,
    /// How many live subscriptions hold exactly this list.
    pub subscriptions: u64,
    /// Of those, accounts with an open removal candidate.
    pub open_candidates: u64,
}

/// A closed-complete candidate not undone since: a right reclaimed.
pub struct Reclaimed {
    /// When the account was deactivated (else when its candidate closed), in epoch ms.
    pub deactivated_at: i64,
    /// The identifiers its account holds as last stored: the rights reclaimed.
    pub identifiers: Vec<String>,
}

/// A kept reconciliation run.
#[derive(Clone, Debug)]
pub struct ReconciliationRun {
    /// The run's id, as [`Storage::record_reconciliation`] returned it.
    pub id: i64,
    /// What started it: `schedule` or `manual`.
    pub trigger: String,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_at: i64,
    /// When it finished, in milliseconds since the Unix epoch.
    pub finished_at: i64,
    /// The day the position is for, as `YYYY-MM-DD` in the time zone the run used.
    pub as_of: String,
    /// The position as JSON (see `crate::reconciliation::Position`).
    pub position: String,
}

/// A reconciliation run to keep.
pub struct NewReconciliationRun<'a> {
    /// What started it.
    pub trigger: Trigger,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_at: i64,
    /// When it finished, in milliseconds since the Unix epoch.
    pub finished_at: i64,
    /// The day the position is for, as `YYYY-MM-DD`.
    pub as_of: &'a str,
    /// The position as JSON, stored as given.
    pub position: &'a str,
}

fn group(raw: String, subscriptions: i64, open_candidates: i64) -> Result<IdentifierGroup> {
    Ok(IdentifierGroup {
        identifiers: serde_json::from_str(&raw)
            .with_context(|| format!("stored identifiers {raw}"))?,
        raw,
        subscriptions: u64::try_from(subscriptions)?,
        open_candidates: u64::try_from(open_candidates)?,
    })
}

impl Storage {
    /// Calls `each` for every active subscription of `profile` that is
    /// still at the vendor, in no particular order.
    pub async fn scan_live_subscriptions(
        &self,
        profile: ProfileId,
        mut each: impl FnMut(LiveSubscription<'_>) -> Result<()>,
    ) -> Result<()> {
        let mut tx = self.read(profile).await?;
        let mut rows = sqlx::query(
            "SELECT account_id, principal, identifiers, attributes, last_active_at
             FROM subscriptions WHERE profile_id = $1 AND active = TRUE AND gone_at IS NULL",
        )
        .bind(profile.id)
        .fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            let account_id: &str = row.try_get("account_id")?;
            let identifiers = serde_json::from_str(row.try_get("identifiers")?)
                .with_context(|| format!("stored identifiers of account {account_id}"))?;
            each(LiveSubscription {
                account_id,
                principal: row.try_get("principal")?,
                identifiers,
                attributes_json: row.try_get("attributes")?,
                last_active_at: row.try_get("last_active_at")?,
            })?;
        }
        Ok(())
    }

    /// A profile's live subscriptions (active, still at the vendor) grouped
    /// by their identifiers, with how many of each group have an open
    /// removal candidate. Only accounts whose principal is one of
    /// `principals` (compared without regard to ASCII case) when given.
    /// SQLite does the counting from indexes (migration 0008), so a million
    /// subscriptions come back as a handful of rows.
    pub async fn live_subscription_groups(
        &self,
        profile: ProfileId,
        principals: Option<&[String]>,
    ) -> Result<Vec<IdentifierGroup>> {
        let rows = match principals {
            Some([]) => return Ok(Vec::new()),
            Some(list) => {
                // Driven by the principals (CROSS JOIN keeps that order):
                // one index search each. With `IN (...)` SQLite preferred
                // scanning the live-identifiers index, every live row.
                let sql = format!(
                    "WITH spared (principal) AS (VALUES {})
                     SELECT s.identifiers, COUNT(*) AS subscriptions, COUNT(c.id) AS open_candidates
                     FROM spared CROSS JOIN subscriptions s
                     LEFT JOIN removal_candidates c ON c.profile_id = s.profile_id
                       AND c.account_id = s.account_id AND c.closed_at IS NULL
                     WHERE s.profile_id = $1 AND lower(s.principal) = spared.principal
                       AND s.active = TRUE AND s.gone_at IS NULL
                     GROUP BY s.identifiers",
                    (2..list.len() + 2)
                        .map(|n| format!("(${n})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(profile.id);
                for principal in list {
                    query = query.bind(principal.to_ascii_lowercase());
                }
                query.fetch_all(&mut *self.read(profile).await?).await?
            }
            None => {
                // Counted apart: scanning the candidates and looking their
                // accounts up beats probing for a candidate per account.
                let open: std::collections::HashMap<String, i64> = sqlx::query(
                    "SELECT s.identifiers, COUNT(*) AS open_candidates
                     FROM removal_candidates c CROSS JOIN subscriptions s
                     WHERE s.profile_id = c.profile_id AND s.account_id = c.account_id
                       AND c.profile_id = $1 AND c.closed_at IS NULL
                       AND s.active = TRUE AND s.gone_at IS NULL
                     GROUP BY s.identifiers",
                )
                .bind(profile.id)
                .fetch_all(&mut *self.read(profile).await?)
                .await?
                .iter()
                .map(|row| (row.get("identifiers"), row.get("open_candidates")))
                .collect();
                let rows = sqlx::query(
                    "SELECT identifiers, COUNT(*) AS subscriptions FROM subscriptions
                     WHERE profile_id = $1 AND active = TRUE AND gone_at IS NULL
                     GROUP BY identifiers",
                )
                .bind(profile.id)
                .fetch_all(&mut *self.read(profile).await?)
                .await?;
                return rows
                    .iter()
                    .map(|row| {
                        let raw: String = row.try_get("identifiers")?;
                        let open_candidates = open.get(&raw).copied().unwrap_or(0);
                        group(raw, row.try_get("subscriptions")?, open_candidates)
                    })
                    .collect();
            }
        };
        rows.iter()
            .map(|row| {
                group(
                    row.try_get("identifiers")?,
                    row.try_get("subscriptions")?,
                    row.try_get("open_candidates")?,
                )
            })
            .collect()
    }

    /// The rights `profile` reclaimed and did not give back: candidates
    /// closed complete (deactivated through Seatwarden) and not reactivated.
    pub async fn reclaimed(&self, profile: ProfileId) -> Result<Vec<Reclaimed>> {
        let rows = sqlx::query(
            "SELECT COALESCE(c.deactivated_at, c.closed_at) AS at, s.identifiers
             FROM removal_candidates c
             JOIN subscriptions s ON s.profile_id = c.profile_id AND s.account_id = c.account_id
             WHERE c.profile_id = $1 AND c.state = 'closed-complete' AND c.reactivated_at IS NULL",
        )
        .bind(profile.id)
        .fetch_all(&mut *self.read(profile).await?)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Reclaimed {
                    deactivated_at: row.try_get("at")?,
                    identifiers: serde_json::from_str(row.try_get("identifiers")?)
                        .context("stored identifiers of a reclaimed account")?,
                })
            })
            .collect()
    }

    /// Keeps a reconciliation run; returns its id.
    pub async fn record_reconciliation(
        &self,
        tenant: TenantId,
        run: &NewReconciliationRun<'_>,
    ) -> Result<i64> {
        let mut tx = self.write(tenant).await?;
        let id = sqlx::query_scalar(
            "INSERT INTO reconciliation_runs (tenant_id, trigger_kind, started_at, finished_at, as_of, position)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(tenant.0)
        .bind(run.trigger.as_str())
        .bind(run.started_at)
        .bind(run.finished_at)
        .bind(run.as_of)
        .bind(run.position)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The tenant's newest reconciliation runs, newest first.
    pub async fn reconciliation_runs(
        &self,
        tenant: TenantId,
        limit: i64,
    ) -> Result<Vec<ReconciliationRun>> {
        let rows = sqlx::query(
            "SELECT id, trigger_kind, started_at, finished_at, as_of, position
             FROM reconciliation_runs WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(tenant.0)
        .bind(limit)
        .fetch_all(&mut *self.read(tenant).await?)
        .await?;
        Ok(rows
            .iter()
            .map(|row| ReconciliationRun {
                id: row.get("id"),
                trigger: row.get("trigger_kind"),
                started_at: row.get("started_at"),
                finished_at: row.get("finished_at"),
                as_of: row.get("as_of"),
                position: row.get("position"),
            })
            .collect())
    }
}
