//! Reclamation rules (versioned) and removal candidates: where the rules
//! engine's verdicts become records an administrator reviews.
//!
//! A refresh reads what the rule must judge and, in one write transaction,
//! applies the plan the domain computes from it (`seatwarden_domain::
//! refresh`: open a candidate for each newly stale account, cancel open
//! candidates whose account showed new activity, skip those whose account
//! disappeared, was deactivated, or is now excluded or protected). Every
//! change leaves an audit entry with its evidence. Nothing here judges an
//! account or talks to a vendor.
//!
//! A refresh is incremental: it judges idle accounts without a candidate,
//! and only those open candidates that database triggers marked because
//! their account changed (migration 0009), unless the digest of the rule's
//! inputs changed since the last refresh, when it judges every one.

use super::audit::{self, AuditNote};
use super::{
    ProfileId, SUBSCRIPTION_COLUMNS, Storage, StoredSubscription, TenantId, subscription_from_row,
};
use crate::Tenancy;
use crate::sql::{Engine, Statement};
use crate::{Result, StoreError};
use anyhow::Context;
use seatwarden_domain::activity_overlay::ActivityOverlay;
pub use seatwarden_domain::candidate_state::CandidateState;
use seatwarden_domain::candidate_state::{Decision, next};
pub use seatwarden_domain::refresh::RefreshReport;
use seatwarden_domain::refresh::{self, Change, Judge, OpenCandidate};
use seatwarden_domain::rules::{Exclusion, ReclamationRule, Staleness};
use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;

/// One removal candidate with the evidence that made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// The candidate's id, as `seatwarden candidates show` takes it.
    pub id: i64,
    /// The vendor's id of the account it would reclaim.
    pub account_id: String,
    /// The account's principal when the candidate was opened.
    pub principal: String,
    /// Where it stands in review and reclamation.
    pub state: CandidateState,
    /// The version of the profile's rule that opened it.
    pub rule_version: i64,
    /// That rule's threshold, in days without activity.
    pub threshold_days: i64,
    /// `stale` or `never-logged-in`.
    pub reason: String,
    /// Days without activity when opened; for `never-logged-in`, the account's age in days.
    pub days_inactive: i64,
    /// The last activity it was judged on, in epoch milliseconds; `None` if never logged in.
    pub last_active_at: Option<i64>,
    /// Where `last_active_at` came from, e.g. `vendor:account` or `activity:<kind>`.
    pub last_active_source: Option<String>,
    /// When it was opened, in milliseconds since the Unix epoch.
    pub created_at: i64,
    /// When it last changed, in milliseconds since the Unix epoch.
    pub updated_at: i64,
    /// When it reached a closed state, in epoch milliseconds; `None` while open.
    pub closed_at: Option<i64>,
    /// Why it last changed state.
    pub close_reason: Option<String>,
    /// When the user was told, and the reclamation date they were given.
    pub notified_at: Option<i64>,
    /// The reclamation date given to the user, in epoch milliseconds; `None` if not told.
    pub reclaim_after: Option<i64>,
    /// When the account was deactivated at the vendor, in epoch milliseconds.
    pub deactivated_at: Option<i64>,
    /// The audit entry that recorded the deactivation.
    pub reclaim_audit_id: Option<i64>,
    /// When the reclamation was undone at the vendor, in epoch milliseconds.
    pub reactivated_at: Option<i64>,
}

/// What a decision on an open candidate checks and records of it.
#[derive(Clone, Copy, Debug)]
struct CandidateKey<'a> {
    id: i64,
    principal: &'a str,
    state: CandidateState,
}

impl Candidate {
    fn key(&self) -> CandidateKey<'_> {
        CandidateKey {
            id: self.id,
            principal: &self.principal,
            state: self.state,
        }
    }
}

/// What a decision on an open candidate a refresh read checks.
fn open_key(candidate: &OpenCandidate) -> CandidateKey<'_> {
    CandidateKey {
        id: candidate.id,
        principal: &candidate.principal,
        state: candidate.state,
    }
}

/// What a refresh read; see `Storage::refresh_reading`.
#[derive(Default)]
struct RefreshReading {
    accounts: Vec<(StoredSubscription, Option<OpenCandidate>)>,
    orphans: Vec<OpenCandidate>,
    unread_open: usize,
}

/// A digest of everything besides the accounts that decides a verdict:
/// when it changes, every open candidate is judged again.
fn basis(
    scope: &RefreshScope<'_>,
    rule: &ReclamationRule,
    exclusions: &[Exclusion],
) -> Result<String> {
    use sha2::Digest;
    // The overlay's signals are inputs too: a new sign-in at the identity
    // provider must reach every open candidate.
    let inputs = serde_json::to_vec(&(
        rule,
        exclusions,
        scope.connector,
        scope.credential_account,
        scope.activity_overlay,
    ))?;
    Ok(hex::encode(sha2::Sha256::digest(inputs)))
}

/// What storing a rule did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleChange {
    /// The rule equals the version in force.
    Unchanged(i64),
    /// The profile's first rule.
    Created(i64),
    /// A new version replaced the one in force.
    Replaced {
        /// The version that was in force.
        from: i64,
        /// The new version, now in force.
        to: i64,
    },
}

impl RuleChange {
    /// The version in force afterwards.
    pub fn version(self) -> i64 {
        match self {
            RuleChange::Unchanged(v)
            | RuleChange::Created(v)
            | RuleChange::Replaced { to: v, .. } => v,
        }
    }
}

/// The profile a refresh runs for.
#[derive(Clone, Copy, Debug)]
pub struct RefreshScope<'a> {
    /// The tenant whose audit chain records the decisions.
    pub tenant: TenantId,
    /// The profile whose candidates are refreshed.
    pub profile: ProfileId,
    /// The profile's name, as audit entries give it.
    pub profile_name: &'a str,
    /// The connector's name, for identifier exclusions.
    pub connector: &'a str,
    /// The vendor account the profile's credentials act as (protected).
    pub credential_account: Option<&'a str>,
    /// Who the audit entries name as acting, e.g. `scheduler`.
    pub actor: &'a str,
    /// When the decisions are made, in milliseconds since the Unix epoch.
    pub now: i64,
    /// An identity provider's sign-ins laid over the accounts' own
    /// activity (the profile's `activity_also_from`), if any.
    pub activity_overlay: Option<&'a ActivityOverlay>,
}

impl<'a> RefreshScope<'a> {
    /// The scope of a stored profile, acting as `actor` at `now`.
    pub fn of(record: &'a super::ProfileRecord, actor: &'a str, now: i64) -> RefreshScope<'a> {
        RefreshScope {
            tenant: record.tenant,
            profile: record.id,
            profile_name: &record.name,
            connector: &record.connector.name,
            credential_account: record
                .validation
                .as_ref()
                .and_then(|v| v.credential_account.as_deref()),
            actor,
            now,
            activity_overlay: None,
        }
    }
}

const CANDIDATE_COLUMNS: &str = "SELECT id, account_id, principal, state, rule_version, threshold_days, reason,
        days_inactive, last_active_at, last_active_source, created_at, updated_at, closed_at, close_reason,
        notified_at, reclaim_after, deactivated_at, reclaim_audit_id, reactivated_at
     FROM removal_candidates";

/// The columns `candidate_from_row` reads, from `removal_candidates c`
/// (for joins); the caller adds the FROM clause.
pub(crate) const CANDIDATE_COLUMNS_OF_C: &str = "SELECT c.id, c.account_id, c.principal, c.state, c.rule_version,
        c.threshold_days, c.reason, c.days_inactive, c.last_active_at, c.last_active_source, c.created_at,
        c.updated_at, c.closed_at, c.close_reason, c.notified_at, c.reclaim_after, c.deactivated_at,
        c.reclaim_audit_id, c.reactivated_at";

pub(crate) fn candidate_from_row(r: &sqlx::any::AnyRow) -> Result<Candidate> {
    Ok(Candidate {
        id: r.get("id"),
        account_id: r.get("account_id"),
        principal: r.get("principal"),
        state: {
            let state: String = r.get("state");
            CandidateState::parse(&state)
                .with_context(|| format!("unknown candidate state {state:?} in the database"))?
        },
        rule_version: r.get("rule_version"),
        threshold_days: r.get("threshold_days"),
        reason: r.get("reason"),
        days_inactive: r.get("days_inactive"),
        last_active_at: r.get("last_active_at"),
        last_active_source: r.get("last_active_source"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
        closed_at: r.get("closed_at"),
        close_reason: r.get("close_reason"),
        notified_at: r.get("notified_at"),
        reclaim_after: r.get("reclaim_after"),
        deactivated_at: r.get("deactivated_at"),
        reclaim_audit_id: r.get("reclaim_audit_id"),
        reactivated_at: r.get("reactivated_at"),
    })
}

impl Storage {
    /// The profile's newest rule, if one was stored.
    pub async fn current_rule(&self, profile: ProfileId) -> Result<Option<ReclamationRule>> {
        let row = sqlx::query(
            "SELECT version, rule FROM reclamation_rules WHERE profile_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(profile.id)
        .fetch_optional(&mut *self.read(profile).await?)
        .await?;
        row.map(|r| {
            let mut rule: ReclamationRule =
                serde_json::from_str(&r.get::<String, _>("rule")).context("stored rule")?;
            rule.version = r.get("version");
            Ok(rule)
        })
        .transpose()
    }

    /// Stores `rule` as the profile's newest version unless it equals the
    /// current one, with an audit entry (`rule.create` or `rule.update`).
    pub async fn store_rule(
        &self,
        tenant: TenantId,
        profile: ProfileId,
        profile_name: &str,
        rule: &ReclamationRule,
        actor: &str,
        at: i64,
    ) -> Result<RuleChange> {
        let current = self.current_rule(profile).await?;
        let previous = current.as_ref().map(|c| c.version);
        // Versions aside, is it the rule already in force?
        let same = |current: &ReclamationRule| {
            *current
                == ReclamationRule {
                    version: current.version,
                    ..rule.clone()
                }
        };
        if let Some(current) = current.filter(same) {
            return Ok(RuleChange::Unchanged(current.version));
        }
        let version = previous.map_or(1, |v| v + 1);
        let json = serde_json::to_string(&ReclamationRule {
            version,
            ..rule.clone()
        })?;
        let mut tx = self.write(profile).await?;
        sqlx::query(
            "INSERT INTO reclamation_rules (profile_id, version, rule, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(profile.id)
        .bind(version)
        .bind(&json)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let detail = format!("rule version {version}: {json}");
        audit::append(
            &mut tx,
            tenant,
            Some(profile_name),
            &AuditNote {
                actor,
                action: if previous.is_some() {
                    "rule.update"
                } else {
                    "rule.create"
                },
                detail: &detail,
                at,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(match previous {
            Some(from) => RuleChange::Replaced { from, to: version },
            None => RuleChange::Created(version),
        })
    }

    /// A profile's candidates, newest first; only open ones unless `all`.
    pub async fn candidates(&self, profile: ProfileId, all: bool) -> Result<Vec<Candidate>> {
        let filter = if all { "" } else { " AND closed_at IS NULL" };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{CANDIDATE_COLUMNS} WHERE profile_id = $1{filter} ORDER BY id DESC"
        )))
        .bind(profile.id)
        .fetch_all(&mut *self.read(profile).await?)
        .await?;
        rows.iter().map(candidate_from_row).collect()
    }

    /// One candidate of the tenant by id, with its profile's name.
    pub async fn find_candidate(
        &self,
        tenant: TenantId,
        id: i64,
    ) -> Result<Option<(String, Candidate)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT c.*, p.name AS profile_name FROM ({CANDIDATE_COLUMNS} WHERE id = $1) c
             JOIN profiles p ON p.id = (SELECT profile_id FROM removal_candidates WHERE id = $2)
             WHERE p.tenant_id = $3"
        )))
        .bind(id)
        .bind(id)
        .bind(tenant.0)
        .fetch_optional(&mut *self.read(tenant).await?)
        .await?;
        row.map(|r| Ok((r.get("profile_name"), candidate_from_row(&r)?)))
            .transpose()
    }

    /// The tenant (id and name) and profile name a candidate belongs to:
    /// for answer links, which name only the candidate.
    pub async fn candidate_owner(&self, id: i64) -> Result<Option<(TenantId, String, String)>> {
        let row = sqlx::query(
            "SELECT p.tenant_id, t.name AS tenant_name, p.name AS profile_name
             FROM removal_candidates c JOIN profiles p ON p.id = c.profile_id
             JOIN tenants t ON t.id = p.tenant_id WHERE c.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *self.read(Tenancy::AllTenants).await?)
        .await?;
        Ok(row.map(|r| {
            (
                TenantId(r.get("tenant_id")),
                r.get("tenant_name"),
                r.get("profile_name"),
            )
        }))
    }

    /// Applies `decision` to a candidate (see [`seatwarden_domain::candidate_state`]),
    /// with an audit entry saying why; refused when the state does not take
    /// it or the candidate changed since it was read.
    pub async fn decide_candidate(
        &self,
        scope: RefreshScope<'_>,
        candidate: &Candidate,
        decision: Decision,
        why: &str,
    ) -> Result<CandidateState> {
        let mut tx = self.write(scope.profile).await?;
        let (state, _) = transition_alone(&mut tx, &scope, candidate.key(), decision, why).await?;
        tx.commit().await?;
        Ok(state)
    }

    /// Records that the user was told: awaiting their answer until
    /// `reclaim_after`; `nonce_hash` is what their links must present.
    pub async fn record_notice(
        &self,
        scope: RefreshScope<'_>,
        candidate: &Candidate,
        reclaim_after: i64,
        nonce_hash: &str,
        why: &str,
    ) -> Result<()> {
        let mut tx = self.write(scope.profile).await?;
        transition_alone(&mut tx, &scope, candidate.key(), Decision::Notified, why).await?;
        sqlx::query(
            "UPDATE removal_candidates SET notified_at = $1, reclaim_after = $2, answer_nonce_hash = $3 WHERE id = $4",
        )
        .bind(scope.now)
        .bind(reclaim_after)
        .bind(nonce_hash)
        .bind(candidate.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes the user's answer from a link: only while the candidate awaits
    /// it and only with the nonce of its current links, which is then
    /// cleared so neither link works again.
    pub async fn answer_candidate(
        &self,
        scope: RefreshScope<'_>,
        candidate: &Candidate,
        nonce_hash: &str,
        decision: Decision,
    ) -> Result<CandidateState> {
        let mut tx = self.write(scope.profile).await?;
        let used = sqlx::query(
            "UPDATE removal_candidates SET answer_nonce_hash = NULL
             WHERE id = $1 AND answer_nonce_hash = $2 AND state = 'awaiting-user'",
        )
        .bind(candidate.id)
        .bind(nonce_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if used != 1 {
            return Err(StoreError::Conflict(
                "this link was already used or has been replaced".into(),
            ));
        }
        let why = format!("the user answered {} through their link", decision.as_str());
        let (state, _) = transition_alone(&mut tx, &scope, candidate.key(), decision, &why).await?;
        tx.commit().await?;
        Ok(state)
    }

    /// Records a deactivation done at the vendor: the account is stored as
    /// inactive and the candidate closed complete, in one transaction, with
    /// the audit entry an undo links back to.
    pub async fn complete_reclamation(
        &self,
        scope: RefreshScope<'_>,
        candidate: &Candidate,
        why: &str,
    ) -> Result<()> {
        let mut tx = self.write(scope.profile).await?;
        let (_, audit_id) =
            transition_alone(&mut tx, &scope, candidate.key(), Decision::Deactivated, why).await?;
        sqlx::query(
            "UPDATE subscriptions SET active = FALSE WHERE profile_id = $1 AND account_id = $2",
        )
        .bind(scope.profile.id)
        .bind(&candidate.account_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE removal_candidates SET deactivated_at = $1, reclaim_audit_id = $2 WHERE id = $3",
        )
        .bind(scope.now)
        .bind(audit_id)
        .bind(candidate.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records an undo done at the vendor: the account is active again (its
    /// grace period starts now) and the audit entry names the reclamation it
    /// reverses.
    pub async fn record_reactivation(
        &self,
        scope: RefreshScope<'_>,
        candidate: &Candidate,
    ) -> Result<i64> {
        let mut tx = self.write(scope.profile).await?;
        sqlx::query(
            "UPDATE subscriptions SET active = TRUE, reactivated_at = $1 WHERE profile_id = $2 AND account_id = $3",
        )
        .bind(scope.now)
        .bind(scope.profile.id)
        .bind(&candidate.account_id)
        .execute(&mut *tx)
        .await?;
        let updated = sqlx::query(
            "UPDATE removal_candidates SET reactivated_at = $1, updated_at = $2
             WHERE id = $3 AND profile_id = $4 AND state = 'closed-complete' AND reactivated_at IS NULL",
        )
        .bind(scope.now)
        .bind(scope.now)
        .bind(candidate.id)
        .bind(scope.profile.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated != 1 {
            return Err(StoreError::Conflict(format!(
                "candidate {} was already reactivated",
                candidate.id
            )));
        }
        let detail = format!(
            "candidate {} ({}): reactivated {} at the vendor, undoing the reclamation in audit entry {}",
            candidate.id,
            candidate.principal,
            candidate.account_id,
            candidate
                .reclaim_audit_id
                .map_or_else(|| "(unknown)".to_string(), |id| format!("#{id}"))
        );
        let id = audit::append(
            &mut tx,
            scope.tenant,
            Some(scope.profile_name),
            &AuditNote {
                actor: scope.actor,
                action: "candidate.undo",
                detail: &detail,
                at: scope.now,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The audit entries about one candidate, oldest first.
    pub async fn candidate_history(
        &self,
        tenant: TenantId,
        candidate: i64,
    ) -> Result<Vec<super::AuditEntry>> {
        self.audit_entries_starting(tenant, &format!("candidate {candidate} ("))
            .await
    }

    /// Records a decision that changes no row (e.g. a refused reclaim).
    pub async fn record_decision(
        &self,
        tenant: TenantId,
        profile_name: Option<&str>,
        note: &AuditNote<'_>,
    ) -> Result<()> {
        let mut tx = self.write(tenant).await?;
        audit::append(&mut tx, tenant, profile_name, note).await?;
        tx.commit().await?;
        Ok(())
    }

    /// What a refresh has to judge, by principal: live accounts idle since
    /// `idle_before` (last activity at or before it, or none recorded)
    /// without an open candidate, and the open candidates with their
    /// accounts (all of them when `all_open`; otherwise those marked for a
    /// recheck because their account changed, and those awaiting a user
    /// past their reclamation date); then the open candidates whose account
    /// is no longer stored; then how many open candidates were left unread.
    ///
    /// The rest cannot change a candidate: recently active or inactive
    /// accounts without one are not idle (an account becomes idle through
    /// a change, or through time, which the idle search sees), and an open
    /// candidate's verdict only moves with time towards staying one. At a
    /// million subscriptions reading them was all of a refresh.
    async fn refresh_reading(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        profile: ProfileId,
        idle_before: i64,
        now: i64,
        all_open: bool,
    ) -> Result<RefreshReading> {
        let idle_without_candidate = |activity: &str| {
            format!(
                "{SUBSCRIPTION_COLUMNS}, CAST(NULL AS BIGINT) AS candidate_id,
                   CAST(NULL AS TEXT) AS candidate_principal, CAST(NULL AS TEXT) AS candidate_state,
                   CAST(NULL AS BIGINT) AS candidate_reclaim_after
                 FROM subscriptions s
                 WHERE s.profile_id = $1 AND s.active = TRUE AND s.gone_at IS NULL AND {activity}
                   AND NOT EXISTS (SELECT 1 FROM removal_candidates c
                                   WHERE c.profile_id = s.profile_id
                                     AND c.account_id = s.account_id AND c.closed_at IS NULL)"
            )
        };
        let which_open = if all_open {
            "TRUE"
        } else {
            "(c.recheck OR (c.state = 'awaiting-user' AND c.reclaim_after <= $3))"
        };
        let sql = format!(
            "{} UNION ALL {} UNION ALL
             {SUBSCRIPTION_COLUMNS}, c.id AS candidate_id, c.principal AS candidate_principal,
               c.state AS candidate_state, c.reclaim_after AS candidate_reclaim_after
             FROM removal_candidates c
             LEFT JOIN subscriptions s ON s.profile_id = c.profile_id AND s.account_id = c.account_id
             WHERE c.profile_id = $1 AND c.closed_at IS NULL AND {which_open}",
            // Two searches: one OR over both would scan every live row.
            idle_without_candidate("s.last_active_at <= $2"),
            idle_without_candidate("s.last_active_at IS NULL"),
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(profile.id)
            .bind(idle_before);
        if !all_open {
            query = query.bind(now);
        }
        let rows = query.fetch_all(&mut **tx).await?;
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM removal_candidates WHERE profile_id = $1 AND closed_at IS NULL",
        )
        .bind(profile.id)
        .fetch_one(&mut **tx)
        .await?;
        let mut reading = RefreshReading::default();
        for row in &rows {
            let candidate = match row.try_get::<Option<i64>, _>("candidate_id")? {
                Some(id) => Some(OpenCandidate {
                    id,
                    principal: row.try_get("candidate_principal")?,
                    state: {
                        let state: &str = row.try_get("candidate_state")?;
                        CandidateState::parse(state).with_context(|| {
                            format!("unknown candidate state {state:?} in the database")
                        })?
                    },
                    reclaim_after: row.try_get("candidate_reclaim_after")?,
                }),
                None => None,
            };
            let read_open = usize::from(candidate.is_some());
            match (row.try_get::<Option<&str>, _>("account_id")?, candidate) {
                (Some(_), candidate) => reading
                    .accounts
                    .push((subscription_from_row(row)?, candidate)),
                (None, Some(candidate)) => reading.orphans.push(candidate),
                (None, None) => {}
            }
            reading.unread_open += read_open;
        }
        reading.unread_open = usize::try_from(open)?.saturating_sub(reading.unread_open);
        reading.accounts.sort_unstable_by(|(a, _), (b, _)| {
            (&a.principal, &a.account_id).cmp(&(&b.principal, &b.account_id))
        });
        Ok(reading)
    }

    /// Runs `rule` over the profile's stored subscriptions and records what
    /// changed; see the module documentation.
    pub async fn refresh_candidates(
        &self,
        scope: RefreshScope<'_>,
        rule: &ReclamationRule,
        exclusions: &[Exclusion],
    ) -> Result<RefreshReport> {
        let idle_before =
            scope.now - i64::from(rule.threshold_days) * seatwarden_domain::rules::DAY_MS;
        let basis = basis(&scope, rule, exclusions)?;
        // Read inside the write transaction: a sync committing between the
        // reading and the recheck marks being cleared would be lost.
        let mut tx = self.write(scope.profile).await?;
        let judged: Option<String> =
            sqlx::query_scalar("SELECT candidates_basis FROM profiles WHERE id = $1")
                .bind(scope.profile.id)
                .fetch_one(&mut *tx)
                .await?;
        let all_open = judged.as_deref() != Some(basis.as_str());
        let mut reading =
            Self::refresh_reading(&mut tx, scope.profile, idle_before, scope.now, all_open).await?;
        // Only accounts idle by the vendor's signal are read: one active by
        // it stays active whatever the identity provider says (the newer
        // signal wins), so nothing else can change.
        if let Some(overlay) = scope.activity_overlay {
            for (account, _) in &mut reading.accounts {
                overlay.apply(account);
            }
        }
        let judge = Judge {
            rule,
            exclusions,
            connector: scope.connector,
            credential_account: scope.credential_account,
            now: scope.now,
        };
        let plan = refresh::plan(&judge, &reading.accounts, &reading.orphans)
            .map_err(|refused| StoreError::Conflict(refused.to_string()))?;
        let mut report = plan.report;
        report.still_open += reading.unread_open;
        report.judged_every_open = all_open && judged.is_some();
        let mut chain = audit::Chain::open(&mut tx, scope.tenant).await?;
        // Consecutive openings are written together (see `open_candidates`);
        // a move writes them first, so the audit log keeps the plan's order.
        let mut opening: Vec<Opening<'_>> = Vec::new();
        for change in &plan.changes {
            match change {
                Change::Open {
                    account,
                    staleness,
                    why,
                } => opening.push(Opening {
                    account,
                    staleness,
                    why,
                }),
                Change::Move {
                    candidate,
                    decision,
                    to,
                    why,
                    left_listing,
                } => {
                    open_candidates(&mut tx, &mut chain, self.engine, &scope, rule, &opening)
                        .await?;
                    opening.clear();
                    let moved = Moved {
                        decision: *decision,
                        to: *to,
                    };
                    transition(&mut tx, &mut chain, &scope, open_key(candidate), moved, why)
                        .await?;
                    if *left_listing {
                        sqlx::query("UPDATE removal_candidates SET gone_from = $1 WHERE id = $2")
                            .bind(candidate.state.as_str())
                            .bind(candidate.id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
        }
        open_candidates(&mut tx, &mut chain, self.engine, &scope, rule, &opening).await?;
        sqlx::query(
            "UPDATE removal_candidates SET recheck = FALSE
             WHERE profile_id = $1 AND closed_at IS NULL AND recheck",
        )
        .bind(scope.profile.id)
        .execute(&mut *tx)
        .await?;
        if all_open {
            sqlx::query("UPDATE profiles SET candidates_basis = $1 WHERE id = $2")
                .bind(&basis)
                .bind(scope.profile.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(report)
    }
}

/// How many candidates a refresh opens per statement: 15 values each, well
/// under either engine's limit on bound values.
const OPEN_CHUNK: usize = 500;

/// A candidate the plan opens.
struct Opening<'a> {
    account: &'a StoredSubscription,
    staleness: &'a Staleness,
    why: &'a str,
}

/// Opens candidates `OPEN_CHUNK` at a time: one query for the accounts'
/// earlier candidates, one multi-row insert for the candidates and one for
/// their audit entries (the chain's hashes computed in order in between).
/// A first refresh opens a candidate for one account in eight; one by one
/// that was three round trips each.
async fn open_candidates(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    chain: &mut audit::Chain,
    engine: Engine,
    scope: &RefreshScope<'_>,
    rule: &ReclamationRule,
    opening: &[Opening<'_>],
) -> Result<()> {
    /// id, state it was closed in, notified_at, reclaim_after.
    type Carried = (i64, CandidateState, Option<i64>, Option<i64>);
    for chunk in opening.chunks(OPEN_CHUNK) {
        // An account that left the listing and came back carries on from
        // the state its candidate was closed in (the newest candidate of
        // the account only: one closed for any other reason starts afresh).
        let mut query = Statement::new(
            engine,
            "SELECT account_id, id, gone_from, notified_at, reclaim_after FROM removal_candidates
             WHERE profile_id = ",
        );
        query
            .push_bind(scope.profile.id)
            .push(" AND account_id IN (");
        for (n, open) in chunk.iter().enumerate() {
            if n > 0 {
                query.push(", ");
            }
            query.push_bind(open.account.account_id.as_str());
        }
        query.push(") ORDER BY id");
        let mut newest: HashMap<String, Option<Carried>> = HashMap::new();
        for row in query.build().fetch_all(&mut **tx).await? {
            let gone_from: Option<String> = row.try_get(2)?;
            let carried = gone_from
                .as_deref()
                .and_then(CandidateState::parse)
                .filter(|state| !state.is_closed())
                .map(|state| -> Result<Carried> {
                    Ok((row.try_get(1)?, state, row.try_get(3)?, row.try_get(4)?))
                })
                .transpose()?;
            // Oldest first: the last row of an account is its newest.
            newest.insert(row.try_get(0)?, carried);
        }
        let carried_of =
            |open: &Opening<'_>| newest.get(&open.account.account_id).copied().flatten();

        let mut insert = Statement::new(
            engine,
            "INSERT INTO removal_candidates (profile_id, account_id, principal, state, rule_version, threshold_days,
                 reason, days_inactive, last_active_at, last_active_source, created_at, updated_at,
                 carried_from, notified_at, reclaim_after) VALUES ",
        );
        for (n, open) in chunk.iter().enumerate() {
            let (reason, days, last, source) = evidence(open.staleness);
            let carried = carried_of(open);
            let state = carried.map_or(CandidateState::Ready, |(_, state, ..)| state);
            insert.push_row(n == 0, |row| {
                row.bind(scope.profile.id)
                    .bind(open.account.account_id.clone())
                    .bind(open.account.principal.clone())
                    .bind(state.as_str())
                    .bind(rule.version)
                    .bind(i64::from(rule.threshold_days))
                    .bind(reason)
                    .bind(days)
                    .bind(last)
                    .bind(source.map(str::to_string))
                    .bind(scope.now)
                    .bind(scope.now)
                    .bind(carried.map(|(id, ..)| id))
                    .bind(carried.and_then(|(_, _, notified, _)| notified))
                    .bind(carried.and_then(|(.., reclaim_after)| reclaim_after));
            });
        }
        insert.push(" RETURNING account_id, id");
        // By account, not by position: neither engine promises RETURNING's
        // order. A plan opens at most one candidate per account.
        let mut ids: HashMap<String, i64> = HashMap::with_capacity(chunk.len());
        for row in insert.build().fetch_all(&mut **tx).await? {
            ids.insert(row.try_get(0)?, row.try_get(1)?);
        }
        let details = chunk
            .iter()
            .map(|open| {
                let id = ids.get(&open.account.account_id).ok_or_else(|| {
                    StoreError::Conflict(format!(
                        "opening candidates for profile {}: the database returned no id for account {}",
                        scope.profile_name, open.account.account_id
                    ))
                })?;
                let carries = carried_of(open)
                    .map(|(earlier, state, ..)| {
                        format!(
                            "; the account left the vendor's listing and came back: carries on from candidate {earlier} in {}",
                            state.as_str()
                        )
                    })
                    .unwrap_or_default();
                Ok(format!(
                    "candidate {id} ({}): account {} is a removal candidate under rule version {} (threshold {} days): {}{carries}",
                    open.account.principal,
                    open.account.account_id,
                    rule.version,
                    rule.threshold_days,
                    open.why,
                ))
            })
            .collect::<Result<Vec<String>>>()?;
        let notes: Vec<AuditNote<'_>> = details
            .iter()
            .map(|detail| AuditNote {
                actor: scope.actor,
                action: "candidate.open",
                detail,
                at: scope.now,
            })
            .collect();
        chain
            .append_many(tx, engine, Some(scope.profile_name), &notes)
            .await?;
    }
    Ok(())
}

/// A staleness as the candidate stores it: reason, days, last activity and
/// what set it.
fn evidence(staleness: &Staleness) -> (&'static str, i64, Option<i64>, Option<&str>) {
    match staleness {
        Staleness::Stale {
            days_inactive,
            last_active_at,
            source,
        } => (
            "stale",
            *days_inactive,
            Some(*last_active_at),
            source.as_deref(),
        ),
        Staleness::NeverLoggedIn { days_since_created } => {
            ("never-logged-in", *days_since_created, None, None)
        }
    }
}

/// `transition` for a transaction that makes only this one decision.
async fn transition_alone(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    scope: &RefreshScope<'_>,
    candidate: CandidateKey<'_>,
    decision: Decision,
    why: &str,
) -> Result<(CandidateState, i64)> {
    let to = next(candidate.state, decision).map_err(|refused| {
        StoreError::Conflict(format!(
            "candidate {} ({}): {refused}",
            candidate.id, candidate.principal
        ))
    })?;
    let mut chain = audit::Chain::open(tx, scope.tenant).await?;
    transition(
        tx,
        &mut chain,
        scope,
        candidate,
        Moved { decision, to },
        why,
    )
    .await
}

/// A decision the state machine allowed, and the state it leads to.
#[derive(Clone, Copy, Debug)]
struct Moved {
    decision: Decision,
    to: CandidateState,
}

/// Moves an open candidate as the state machine decided, with an audit
/// entry; returns the new state and the entry's id. Refused when the
/// candidate changed since it was read (another writer got there first).
async fn transition(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    chain: &mut audit::Chain,
    scope: &RefreshScope<'_>,
    candidate: CandidateKey<'_>,
    Moved {
        decision,
        to: state,
    }: Moved,
    why: &str,
) -> Result<(CandidateState, i64)> {
    let updated = sqlx::query(
        "UPDATE removal_candidates SET state = $1, closed_at = $2, updated_at = $3, close_reason = $4
         WHERE id = $5 AND profile_id = $6 AND state = $7 AND closed_at IS NULL",
    )
    .bind(state.as_str())
    .bind(state.is_closed().then_some(scope.now))
    .bind(scope.now)
    .bind(why)
    .bind(candidate.id)
    .bind(scope.profile.id)
    .bind(candidate.state.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated != 1 {
        return Err(StoreError::Conflict(format!(
            "candidate {} ({}) changed while this decision was made; look at it again with `seatwarden candidates show {}`",
            candidate.id, candidate.principal, candidate.id
        )));
    }
    let detail = format!(
        "candidate {} ({}) {} -> {} ({}): {why}",
        candidate.id,
        candidate.principal,
        candidate.state,
        state,
        decision.as_str()
    );
    let action = match state {
        _ if state.is_closed() => "candidate.close",
        CandidateState::AttentionRequired => "candidate.attention",
        _ => "candidate.update",
    };
    let id = chain
        .append(
            tx,
            Some(scope.profile_name),
            &AuditNote {
                actor: scope.actor,
                action,
                detail: &detail,
                at: scope.now,
            },
        )
        .await?;
    Ok((state, id))
}
