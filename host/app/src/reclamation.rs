//! Turning a profile's stored subscriptions into removal candidates: picks
//! the rule in force (storing the default the first time), the tenant's
//! exclusions, runs the refresh and records it as a job.
//!
//! The scheduler calls this after a profile's sync jobs succeed, so the
//! candidates follow the subscriptions daily; `seatwarden candidates
//! refresh` calls it on demand.
//!
//! Reclaiming is planned first and planning refuses outright when it is not
//! safe: a report-only or unpublished profile, a latest download that is
//! missing, failed, interrupted or empty, or more candidates to deactivate than the
//! circuit breaker allows (default 10% of the active accounts). A plan is
//! a dry run until it is executed; execution deactivates through the
//! connector one candidate at a time and records each outcome.

use crate::wiring::App;
use anyhow::{Result, bail};
use seatwarden_domain::activity_overlay::ActivityOverlay;
use seatwarden_domain::candidate_state::Decision;
use seatwarden_domain::rules::ReclamationRule;
use seatwarden_sandbox::Connection;
use seatwarden_sandbox::Connector;
use seatwarden_store::{
    AuditNote, Candidate, CandidateState, JobKind, OneShotJob, ProfileRecord, ProfileStatus,
    RefreshReport, RefreshScope, Storage, Trigger,
};

/// The rule in force for a profile: the newest stored version, else the
/// configuration file's (or the default), stored as version 1.
pub async fn rule_in_force(
    app: &App,
    record: &ProfileRecord,
    actor: &str,
    now: i64,
) -> Result<ReclamationRule> {
    if let Some(rule) = app.storage.current_rule(record.id).await? {
        return Ok(rule);
    }
    let wanted = configured_rule(app, record);
    let version = app
        .storage
        .store_rule(record.tenant, record.id, &record.name, &wanted, actor, now)
        .await?
        .version();
    Ok(ReclamationRule { version, ..wanted })
}

/// The configuration file's rule for the profile, or the default for a
/// profile that is not in the file.
pub fn configured_rule(app: &App, record: &ProfileRecord) -> ReclamationRule {
    app.config
        .profiles
        .get(&record.name)
        .filter(|p| p.tenant == record.tenant_name)
        .map(|p| p.rule.clone())
        .unwrap_or_default()
}

/// The sign-ins of the identity-provider profile that the profile's
/// `activity_also_from` names, by principal; `None` when it names none.
async fn activity_overlay(app: &App, record: &ProfileRecord) -> Result<Option<ActivityOverlay>> {
    let Some(source) = app
        .config
        .profiles
        .get(&record.name)
        .filter(|p| p.tenant == record.tenant_name)
        .and_then(|p| p.activity_also_from.as_ref())
    else {
        return Ok(None);
    };
    let Some(idp) = app.storage.profile(record.tenant, &source.profile).await? else {
        bail!(
            "profile {} takes activity also from profile {}, which is not in the database yet: run `seatwarden apply`, then sync it",
            record.name,
            source.profile
        );
    };
    let accounts = app.storage.subscriptions(idp.id).await?;
    Ok(Some(ActivityOverlay::build(
        &idp.name,
        &accounts,
        &source.principals,
    )))
}

/// What a refresh changed, and the line that says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refreshed {
    /// The counts the candidate refresh returned.
    pub report: RefreshReport,
    /// The one-line account of the refresh (and any notices), as recorded in the job.
    pub summary: String,
}

/// Refreshes a profile's candidates and records the refresh as a job.
pub async fn refresh(
    app: &App,
    record: &ProfileRecord,
    trigger: Trigger,
    actor: &str,
    now: i64,
) -> Result<Refreshed> {
    let rule = rule_in_force(app, record, actor, now).await?;
    let exclusions = app.storage.exclusions(record.tenant).await?;
    let overlay = activity_overlay(app, record).await?;
    let scope = RefreshScope {
        activity_overlay: overlay.as_ref(),
        ..RefreshScope::of(record, actor, now)
    };
    let outcome = match app
        .storage
        .refresh_candidates(scope, &rule, &exclusions)
        .await
    {
        Ok(report) => {
            let mut summary = summary(&report, &rule);
            if let Some(overlay) = &overlay {
                summary.push_str("; ");
                summary.push_str(&overlay.summary());
                // The refresh is committed by now: a failure to count only
                // says so in the summary, it does not fail the refresh.
                match app.storage.live_principals(record.id).await {
                    Ok(principals) => {
                        let unmatched = overlay.unmatched(principals.iter().map(String::as_str));
                        if unmatched > 0 {
                            summary.push_str(&format!(
                                ", {unmatched} of them match no account of this profile (people the identity provider has and the vendor does not; map those whose principals differ under activity_also_from.principals)"
                            ));
                        }
                    }
                    Err(err) => summary.push_str(&format!(
                        " (the people who match no account of this profile were not counted: {err:#})"
                    )),
                }
            }
            match notify(app, record, &rule, actor, now).await {
                Ok(Some(notices)) => summary.push_str(&notices),
                Ok(None) => {}
                Err(err) => summary.push_str(&format!("; notices failed: {err:#}")),
            }
            Ok(Refreshed { report, summary })
        }
        Err(err) => Err(anyhow::Error::from(err)),
    };
    let (detail, error_kind) = match &outcome {
        Ok(refreshed) => (refreshed.summary.clone(), None),
        Err(err) => (format!("{err:#}"), Some("host")),
    };
    app.storage
        .record_job(
            record.id,
            &OneShotJob {
                kind: JobKind::Candidates,
                trigger,
                started_at: now,
                finished_at: app.now().max(now),
                error_kind,
                detail: &detail,
            },
        )
        .await?;
    outcome
}

/// Tells the users of ready candidates, when the rule says so; returns the
/// words for the summary.
async fn notify(
    app: &App,
    record: &ProfileRecord,
    rule: &ReclamationRule,
    actor: &str,
    now: i64,
) -> Result<Option<String>> {
    let Some(days) = rule.notify_days else {
        return Ok(None);
    };
    if let Some(why) = report_only(record) {
        return Ok(Some(format!("; users not told: {why}")));
    }
    let Some(notifier) = &app.notifier else {
        return Ok(Some(
            "; users not told: the rule has notify_days but there is no [notifications] table"
                .into(),
        ));
    };
    let report = notifier
        .notify_ready(&app.storage, record, days, actor, now)
        .await?;
    let mut text = format!("; {} users told ({days} days to answer)", report.sent);
    for (who, why) in &report.failed {
        tracing::warn!(profile = %record.name, principal = %who, "notice not sent: {why}");
    }
    if let Some((who, why)) = report.failed.first() {
        text.push_str(&format!(
            "; {} notices not sent, tried again at the next refresh (first: {who}: {why})",
            report.failed.len()
        ));
    }
    Ok(Some(text))
}

/// Why a profile may not deactivate anything, if it may not.
pub fn report_only(record: &ProfileRecord) -> Option<String> {
    (record.status != ProfileStatus::Published || !record.settings.reclaim).then(|| {
        format!(
            "profile {} is report only: reclaiming needs it published with `reclaim = true` (it is {}, reclaim {})",
            record.name,
            record.status.as_str(),
            if record.settings.reclaim { "on" } else { "off" }
        )
    })
}

/// One line for job results and logs.
fn summary(report: &RefreshReport, rule: &ReclamationRule) -> String {
    let excluded: usize = report.excluded.values().sum();
    let mut text = format!(
        "rule v{} ({} days): {} opened, {} still open, {} canceled by new activity, {} skipped; {} excluded, {} protected",
        rule.version,
        rule.threshold_days,
        report.opened,
        report.still_open,
        report.canceled,
        report.skipped,
        excluded,
        report.protected
    );
    if !rule.create_candidates {
        text.push_str(&format!(
            "; measure only: {} accounts would be candidates",
            report.measured_only
        ));
    }
    text.push_str(&format!("; {} accounts judged", report.judged));
    if report.judged_every_open {
        text.push_str(" (every open candidate again: the rule, an exclusion or the credentials' account changed)");
    }
    text
}

/// Who a reclaim run would deactivate, or why it refuses to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReclaimPlan {
    /// The candidates the run would deactivate; listed even when the plan is refused.
    pub deactivate: Vec<Candidate>,
    /// Accounts of the profile active and still at the vendor; the breaker's base.
    pub active_accounts: usize,
    /// The circuit breaker's limit for this run.
    pub limit: usize,
    /// Set when nothing may be deactivated, with the reason.
    pub refused: Option<String>,
}

/// Whether a reclaim run takes the candidate: approved ones (released by
/// the user, approved by an administrator, or unanswered by the
/// reclamation date), and ready ones when the rule does not notify users
/// first. A candidate whose user was asked waits for the answer.
pub fn reclaimable(candidate: &Candidate, rule: &ReclamationRule) -> bool {
    match candidate.state {
        CandidateState::AwaitingRevocation => true,
        CandidateState::Ready => rule.notify_days.is_none(),
        _ => false,
    }
}

/// Plans a reclaim run for a profile under `rule`.
pub async fn plan_reclaim(
    storage: &Storage,
    record: &ProfileRecord,
    rule: &ReclamationRule,
) -> Result<ReclaimPlan> {
    let active_accounts = storage.active_account_count(record.id).await?;
    let share_limit = active_accounts * rule.breaker_percent as usize / 100;
    let limit = rule
        .breaker_max
        .map_or(share_limit, |max| share_limit.min(max as usize));
    let deactivate: Vec<Candidate> = storage
        .candidates(record.id, false)
        .await?
        .into_iter()
        .filter(|c| reclaimable(c, rule))
        .collect();
    let latest = storage
        .latest_job_run(record.id, JobKind::Subscriptions)
        .await?;
    let refused = if let Some(why) = report_only(record) {
        Some(why)
    } else if let Some(problem) = match &latest {
        None => Some("no subscriptions have been downloaded yet".to_string()),
        Some(run) if run.status != "succeeded" => Some(format!(
            "the latest subscriptions download (job {}) {}; a partial list could make present accounts look stale",
            run.id, run.status
        )),
        Some(run) if run.items == 0 => Some(format!(
            "the latest subscriptions download (job {}) was empty",
            run.id
        )),
        Some(_) => None,
    } {
        Some(problem)
    } else if deactivate.len() > limit {
        Some(format!(
            "circuit breaker: {} candidates to deactivate of {} active accounts is over this run's limit of {} ({}%{}); review the rule, or raise breaker_percent/breaker_max if this is intended",
            deactivate.len(),
            active_accounts,
            limit,
            rule.breaker_percent,
            rule.breaker_max
                .map(|m| format!(", at most {m}"))
                .unwrap_or_default()
        ))
    } else {
        None
    };
    Ok(ReclaimPlan {
        deactivate,
        active_accounts,
        limit,
        refused,
    })
}

/// What an executed reclaim run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReclaimOutcome {
    /// Principals of the candidates deactivated at the vendor, in the order deactivated.
    pub deactivated: Vec<String>,
    /// Principal and the connector's error, for candidates now in
    /// `attention-required`.
    pub failed: Vec<(String, String)>,
}

/// Executes a plan: refused plans are recorded and returned as errors;
/// otherwise each candidate is deactivated through the connector.
pub async fn execute_reclaim(
    app: &App,
    record: &ProfileRecord,
    connector: &Connector,
    connection: &Connection,
    plan: &ReclaimPlan,
    trigger: Trigger,
    actor: &str,
) -> Result<ReclaimOutcome> {
    let storage = &app.storage;
    let now = app.now();
    if let Some(reason) = &plan.refused {
        // The refusal is the run's outcome: `jobs` lists it among the
        // failed, and the audit log says who was refused and why.
        let job = OneShotJob {
            kind: JobKind::Deactivate,
            trigger,
            started_at: now,
            finished_at: app.now(),
            error_kind: Some("refused"),
            detail: &format!("reclaim refused: {reason}"),
        };
        storage.record_job(record.id, &job).await?;
        storage
            .record_decision(
                record.tenant,
                Some(&record.name),
                &AuditNote {
                    actor,
                    action: "reclaim.refused",
                    detail: reason,
                    at: now,
                },
            )
            .await?;
        anyhow::bail!("reclaim refused for profile {}: {reason}", record.name);
    }
    let mut outcome = ReclaimOutcome::default();
    for candidate in &plan.deactivate {
        let started = app.now();
        // An account held through an identity provider's group is never
        // removed here: the group can grant other apps. It waits for an
        // administrator of the identity provider, and says which group.
        if let Some(group) = storage
            .find_subscription(record.id, &candidate.account_id)
            .await?
            .as_ref()
            .and_then(|s| s.granted_by_group().map(str::to_string))
        {
            let why = format!(
                "not removed: {} holds the app through the identity provider's {group}; remove the person from that group there (a group can grant several apps, so Seatwarden never removes a group assignment)",
                candidate.principal
            );
            let scope = RefreshScope::of(record, actor, app.now());
            storage
                .decide_candidate(scope, candidate, Decision::DeactivationFailed, &why)
                .await?;
            outcome
                .failed
                .push((candidate.principal.clone(), why.clone()));
            let job = OneShotJob {
                kind: JobKind::Deactivate,
                trigger,
                started_at: started,
                finished_at: app.now(),
                error_kind: Some("group-assignment"),
                detail: &why,
            };
            storage.record_job(record.id, &job).await?;
            continue;
        }
        let result = connector
            .deactivate_user(connection, &candidate.account_id)
            .await;
        let now = app.now();
        let scope = RefreshScope::of(record, actor, now);
        let (error_kind, detail) = match &result {
            Ok(()) => {
                let why = format!(
                    "deactivated at the vendor ({} {} days, rule v{})",
                    candidate.reason, candidate.days_inactive, candidate.rule_version
                );
                storage.complete_reclamation(scope, candidate, &why).await?;
                outcome.deactivated.push(candidate.principal.clone());
                (
                    None,
                    format!(
                        "deactivated {} (candidate {})",
                        candidate.principal, candidate.id
                    ),
                )
            }
            Err(err) => {
                let why = format!("deactivation failed: {err}");
                storage
                    .decide_candidate(scope, candidate, Decision::DeactivationFailed, &why)
                    .await?;
                outcome
                    .failed
                    .push((candidate.principal.clone(), err.to_string()));
                (Some(err.kind_name()), why)
            }
        };
        let job = OneShotJob {
            kind: JobKind::Deactivate,
            trigger,
            started_at: started,
            finished_at: now,
            error_kind,
            detail: &detail,
        };
        storage.record_job(record.id, &job).await?;
    }
    Ok(outcome)
}

/// The scheduler's reclaim after a refresh. Only a rule that notifies users
/// reclaims on its own (no answer by the date is the users' consent); the
/// approved candidates are deactivated under the same refusals and circuit
/// breaker as a manual run. Without notices, reclaiming waits for a person
/// to run `seatwarden candidates reclaim --apply`. Returns what it did, if
/// anything.
pub async fn auto_reclaim(app: &App, record: &ProfileRecord, now: i64) -> Result<Option<String>> {
    const ACTOR: &str = "scheduler";
    let rule = rule_in_force(app, record, ACTOR, now).await?;
    if rule.notify_days.is_none() || report_only(record).is_some() {
        return Ok(None);
    }
    let plan = plan_reclaim(&app.storage, record, &rule).await?;
    if plan.deactivate.is_empty() {
        return Ok(None);
    }
    let ctx = app
        .open_profile(record.tenant, &record.tenant_name, &record.name)
        .await?;
    let outcome = execute_reclaim(
        app,
        record,
        &ctx.connected.connector,
        &ctx.connected.connection,
        &plan,
        Trigger::Schedule,
        ACTOR,
    )
    .await?;
    Ok(Some(format!(
        "deactivated {} approved candidates; {} need attention",
        outcome.deactivated.len(),
        outcome.failed.len()
    )))
}

/// Why a reclamation was not undone.
#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    /// There is nothing to undo (not reclaimed, already reactivated) or the
    /// connector cannot reactivate: what and what to do instead.
    #[error("{0}")]
    NotUndoable(String),
    /// The vendor refused or failed the reactivation; the failure is
    /// recorded in the jobs and the audit log.
    #[error("{0}")]
    VendorFailed(String),
}

/// Undoes a reclamation: reactivates the account through the connector's
/// `reactivate-user` and records it, linked to the audit entry of the
/// deactivation. The vendor decides whether it is still possible (e.g.
/// Smartsheet: within 30 days); a refusal is recorded and returned with the
/// connector's words.
pub async fn undo_reclaim(
    app: &App,
    record: &ProfileRecord,
    connector: &Connector,
    connection: &Connection,
    candidate: &Candidate,
    actor: &str,
) -> Result<i64> {
    let storage = &app.storage;
    if candidate.state != CandidateState::ClosedComplete || candidate.deactivated_at.is_none() {
        anyhow::bail!(UndoError::NotUndoable(format!(
            "candidate {} ({}) was not reclaimed (it is {}): there is nothing to undo",
            candidate.id, candidate.principal, candidate.state
        )));
    }
    if let Some(at) = candidate.reactivated_at {
        anyhow::bail!(UndoError::NotUndoable(format!(
            "candidate {} ({}) was already reactivated at {}",
            candidate.id,
            candidate.principal,
            jiff::Timestamp::from_millisecond(at)
                .map_or_else(|_| at.to_string(), |t| t.to_string())
        )));
    }
    if !connector.descriptor().capabilities.reactivate {
        anyhow::bail!(UndoError::NotUndoable(format!(
            "connector {} cannot reactivate accounts: restore {} in the vendor's admin console",
            connector.descriptor().name,
            candidate.principal
        )));
    }
    let started = app.now();
    let result = connector
        .reactivate_user(connection, &candidate.account_id)
        .await;
    let now = app.now();
    let (error_kind, detail) = match &result {
        Ok(()) => {
            let scope = RefreshScope::of(record, actor, now);
            let entry = storage.record_reactivation(scope, candidate).await?;
            (
                None,
                format!(
                    "reactivated {} (candidate {}, audit entry #{entry})",
                    candidate.principal, candidate.id
                ),
            )
        }
        Err(err) => {
            let detail = format!(
                "candidate {} ({}): reactivation failed: {err}",
                candidate.id, candidate.principal
            );
            storage
                .record_decision(
                    record.tenant,
                    Some(&record.name),
                    &AuditNote {
                        actor,
                        action: "candidate.undo-failed",
                        detail: &detail,
                        at: now,
                    },
                )
                .await?;
            (Some(err.kind_name()), detail)
        }
    };
    storage
        .record_job(
            record.id,
            &OneShotJob {
                kind: JobKind::Reactivate,
                trigger: Trigger::Manual,
                started_at: started,
                finished_at: now,
                error_kind,
                detail: &detail,
            },
        )
        .await?;
    match result {
        Ok(()) => Ok(now),
        Err(_) => anyhow::bail!(UndoError::VendorFailed(detail)),
    }
}
