//! Reclamation rules (versioned) and removal candidates: where the rules
//! engine's verdicts become records an administrator reviews.
//!
//! A refresh runs the rule over a profile's stored subscriptions and, in one
//! write transaction, opens a candidate for each newly stale account,
//! cancels open candidates whose account showed new activity, and skips
//! those whose account disappeared, was deactivated, or is now excluded or
//! protected. Every one of those decisions leaves an audit entry with its
//! evidence. Nothing here talks to a vendor.

use super::audit::{self, AuditNote};
use super::{ProfileId, Storage, StoredSubscription, TenantId};
use crate::rules::{Exclusion, ReclamationRule, Staleness, Verdict, evaluate};
use anyhow::{Context, Result};
use serde::Serialize;
use sqlx::Row;
use std::collections::HashMap;

/// Where a candidate stands. Only `ready` and the closed states are
/// reached today; the others arrive with notification and approval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CandidateState {
    Ready,
    AwaitingUser,
    AwaitingApproval,
    AwaitingRevocation,
    ClosedComplete,
    ClosedSkipped,
    ClosedCanceled,
    AttentionRequired,
}

impl CandidateState {
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateState::Ready => "ready",
            CandidateState::AwaitingUser => "awaiting-user",
            CandidateState::AwaitingApproval => "awaiting-approval",
            CandidateState::AwaitingRevocation => "awaiting-revocation",
            CandidateState::ClosedComplete => "closed-complete",
            CandidateState::ClosedSkipped => "closed-skipped",
            CandidateState::ClosedCanceled => "closed-canceled",
            CandidateState::AttentionRequired => "attention-required",
        }
    }

    pub fn is_closed(self) -> bool {
        matches!(
            self,
            CandidateState::ClosedComplete
                | CandidateState::ClosedSkipped
                | CandidateState::ClosedCanceled
        )
    }

    fn parse(text: &str) -> Result<CandidateState> {
        Ok(match text {
            "ready" => CandidateState::Ready,
            "awaiting-user" => CandidateState::AwaitingUser,
            "awaiting-approval" => CandidateState::AwaitingApproval,
            "awaiting-revocation" => CandidateState::AwaitingRevocation,
            "closed-complete" => CandidateState::ClosedComplete,
            "closed-skipped" => CandidateState::ClosedSkipped,
            "closed-canceled" => CandidateState::ClosedCanceled,
            "attention-required" => CandidateState::AttentionRequired,
            other => anyhow::bail!("unknown candidate state {other:?} in the database"),
        })
    }
}

/// One removal candidate with the evidence that made it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Candidate {
    pub id: i64,
    pub account_id: String,
    pub principal: String,
    pub state: CandidateState,
    pub rule_version: i64,
    pub threshold_days: i64,
    /// `stale` or `never-logged-in`.
    pub reason: String,
    pub days_inactive: i64,
    pub last_active_at: Option<i64>,
    pub last_active_source: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub close_reason: Option<String>,
}

/// What a refresh changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RefreshReport {
    pub opened: usize,
    pub canceled: usize,
    pub skipped: usize,
    /// Open candidates that stay open.
    pub still_open: usize,
    /// Accounts spared by an exclusion, by the exclusion's description.
    pub excluded: HashMap<String, usize>,
    pub protected: usize,
    /// Candidates the rule would have opened with `create_candidates` off.
    pub measured_only: usize,
}

/// What storing a rule did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleChange {
    /// The rule equals the version in force.
    Unchanged(i64),
    /// The profile's first rule.
    Created(i64),
    Replaced {
        from: i64,
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
    pub tenant: TenantId,
    pub profile: ProfileId,
    pub profile_name: &'a str,
    /// The connector's name, for identifier exclusions.
    pub connector: &'a str,
    pub actor: &'a str,
    pub now: i64,
}

impl<'a> RefreshScope<'a> {
    /// The scope of a stored profile, acting as `actor` at `now`.
    pub fn of(record: &'a super::ProfileRecord, actor: &'a str, now: i64) -> RefreshScope<'a> {
        RefreshScope {
            tenant: record.tenant,
            profile: record.id,
            profile_name: &record.name,
            connector: &record.connector.name,
            actor,
            now,
        }
    }
}

const CANDIDATE_COLUMNS: &str = "SELECT id, account_id, principal, state, rule_version, threshold_days, reason,
        days_inactive, last_active_at, last_active_source, created_at, updated_at, closed_at, close_reason
     FROM removal_candidates";

fn candidate_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<Candidate> {
    Ok(Candidate {
        id: r.get("id"),
        account_id: r.get("account_id"),
        principal: r.get("principal"),
        state: CandidateState::parse(&r.get::<String, _>("state"))?,
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
    })
}

impl Storage {
    /// The profile's newest rule, if one was stored.
    pub async fn current_rule(&self, profile: ProfileId) -> Result<Option<ReclamationRule>> {
        let row = sqlx::query(
            "SELECT version, rule FROM reclamation_rules WHERE profile_id = ? ORDER BY version DESC LIMIT 1",
        )
        .bind(profile.0)
        .fetch_optional(&self.pool)
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
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO reclamation_rules (profile_id, version, rule, created_at) VALUES (?, ?, ?, ?)",
        )
        .bind(profile.0)
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
            "{CANDIDATE_COLUMNS} WHERE profile_id = ?{filter} ORDER BY id DESC"
        )))
        .bind(profile.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(candidate_from_row).collect()
    }

    /// Moves a candidate to `state` (closing it when the state is a closed
    /// one) with an audit entry saying why.
    pub async fn settle_candidate(
        &self,
        scope: RefreshScope<'_>,
        candidate: &Candidate,
        state: CandidateState,
        why: &str,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        transition(&mut tx, &scope, candidate, state, why).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a decision that changes no row (e.g. a refused reclaim).
    pub async fn record_decision(
        &self,
        tenant: TenantId,
        profile_name: Option<&str>,
        note: &AuditNote<'_>,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        audit::append(&mut tx, tenant, profile_name, note).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Runs `rule` over the profile's stored subscriptions and records what
    /// changed; see the module documentation.
    pub async fn refresh_candidates(
        &self,
        scope: RefreshScope<'_>,
        rule: &ReclamationRule,
        exclusions: &[Exclusion],
    ) -> Result<RefreshReport> {
        let accounts = self.subscriptions(scope.profile).await?;
        let open: HashMap<String, Candidate> = self
            .candidates(scope.profile, false)
            .await?
            .into_iter()
            .map(|c| (c.account_id.clone(), c))
            .collect();
        let mut report = RefreshReport::default();
        let mut tx = self.write().await?;
        let mut seen = std::collections::HashSet::new();
        for account in &accounts {
            seen.insert(account.account_id.as_str());
            let verdict = evaluate(rule, exclusions, scope.connector, account, scope.now);
            let existing = open.get(&account.account_id);
            match (&verdict, existing) {
                (Verdict::Candidate(staleness), None) => {
                    if rule.create_candidates {
                        open_candidate(&mut tx, &scope, rule, account, staleness).await?;
                        report.opened += 1;
                    } else {
                        report.measured_only += 1;
                    }
                }
                (Verdict::Candidate(_), Some(_)) => report.still_open += 1,
                (Verdict::Active { days_inactive }, Some(candidate)) => {
                    let why = format!(
                        "new activity: last active {days_inactive} days ago{}",
                        account
                            .last_active_source
                            .as_deref()
                            .map(|s| format!(" ({s})"))
                            .unwrap_or_default()
                    );
                    transition(
                        &mut tx,
                        &scope,
                        candidate,
                        CandidateState::ClosedCanceled,
                        &why,
                    )
                    .await?;
                    report.canceled += 1;
                }
                (other, Some(candidate)) => {
                    let why = format!("no longer a candidate: {}", describe(other));
                    transition(
                        &mut tx,
                        &scope,
                        candidate,
                        CandidateState::ClosedSkipped,
                        &why,
                    )
                    .await?;
                    report.skipped += 1;
                }
                (_, None) => {}
            }
            match verdict {
                Verdict::Excluded { by } => *report.excluded.entry(by).or_default() += 1,
                Verdict::Protected { .. } => report.protected += 1,
                _ => {}
            }
        }
        for candidate in open.values() {
            if !seen.contains(candidate.account_id.as_str()) {
                transition(
                    &mut tx,
                    &scope,
                    candidate,
                    CandidateState::ClosedSkipped,
                    "the account is no longer stored for this profile",
                )
                .await?;
                report.skipped += 1;
            }
        }
        tx.commit().await?;
        Ok(report)
    }
}

fn describe(verdict: &Verdict) -> String {
    match verdict {
        Verdict::NotActive => "the account is deactivated or gone at the vendor".into(),
        Verdict::Excluded { by } => format!("excluded by {by}"),
        Verdict::Protected { why } => format!("protected: {why}"),
        Verdict::OutOfScope { condition } => format!("out of the rule's scope: {condition}"),
        Verdict::Grace { days_old } => format!("in grace: {days_old} days old"),
        Verdict::Active { days_inactive } => format!("active {days_inactive} days ago"),
        Verdict::Candidate(_) => "still a candidate".into(),
    }
}

async fn open_candidate(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    scope: &RefreshScope<'_>,
    rule: &ReclamationRule,
    account: &StoredSubscription,
    staleness: &Staleness,
) -> Result<()> {
    let (reason, days, last, source) = match staleness {
        Staleness::Stale {
            days_inactive,
            last_active_at,
            source,
        } => (
            "stale",
            *days_inactive,
            Some(*last_active_at),
            source.clone(),
        ),
        Staleness::NeverLoggedIn { days_since_created } => {
            ("never-logged-in", *days_since_created, None, None)
        }
    };
    sqlx::query(
        "INSERT INTO removal_candidates (profile_id, account_id, principal, state, rule_version, threshold_days,
             reason, days_inactive, last_active_at, last_active_source, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(scope.profile.0)
    .bind(&account.account_id)
    .bind(&account.principal)
    .bind(CandidateState::Ready.as_str())
    .bind(rule.version)
    .bind(i64::from(rule.threshold_days))
    .bind(reason)
    .bind(days)
    .bind(last)
    .bind(&source)
    .bind(scope.now)
    .bind(scope.now)
    .execute(&mut **tx)
    .await?;
    let detail = format!(
        "{} ({}) is a removal candidate under rule version {} (threshold {} days): {}",
        account.principal,
        account.account_id,
        rule.version,
        rule.threshold_days,
        match staleness {
            Staleness::Stale {
                days_inactive,
                source,
                ..
            } => format!(
                "no activity for {days_inactive} days (last from {})",
                source.as_deref().unwrap_or("an unnamed source")
            ),
            Staleness::NeverLoggedIn { days_since_created } => {
                format!("never logged in, account {days_since_created} days old")
            }
        }
    );
    audit::append(
        tx,
        scope.tenant,
        Some(scope.profile_name),
        &AuditNote {
            actor: scope.actor,
            action: "candidate.open",
            detail: &detail,
            at: scope.now,
        },
    )
    .await
}

/// Moves an open candidate to `state` (closing it when the state is a
/// closed one), with an audit entry.
async fn transition(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    scope: &RefreshScope<'_>,
    candidate: &Candidate,
    state: CandidateState,
    why: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE removal_candidates SET state = ?, closed_at = ?, updated_at = ?, close_reason = ?
         WHERE id = ? AND profile_id = ? AND closed_at IS NULL",
    )
    .bind(state.as_str())
    .bind(state.is_closed().then_some(scope.now))
    .bind(scope.now)
    .bind(why)
    .bind(candidate.id)
    .bind(scope.profile.0)
    .execute(&mut **tx)
    .await?;
    let detail = format!(
        "candidate {} ({}) {}: {why}",
        candidate.id,
        candidate.principal,
        state.as_str()
    );
    let action = match state {
        _ if state.is_closed() => "candidate.close",
        CandidateState::AttentionRequired => "candidate.attention",
        _ => "candidate.update",
    };
    audit::append(
        tx,
        scope.tenant,
        Some(scope.profile_name),
        &AuditNote {
            actor: scope.actor,
            action,
            detail: &detail,
            at: scope.now,
        },
    )
    .await
}
