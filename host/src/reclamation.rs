//! Turning a profile's stored subscriptions into removal candidates: picks
//! the rule in force (storing the default the first time), the tenant's
//! exclusions, runs the refresh and records it as a job.
//!
//! The scheduler calls this after a profile's sync jobs succeed, so the
//! candidates follow the subscriptions daily; `seatwarden candidates
//! refresh` calls it on demand. Deactivation is not here: it arrives with
//! dry runs, the circuit breaker and undo.

use crate::app::App;
use crate::rules::{Exclusion, ReclamationRule};
use crate::storage::{
    AuditNote, JobKind, OneShotJob, ProfileRecord, RefreshReport, RefreshScope, Trigger,
};
use anyhow::Result;

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
        .store_rule(
            record.tenant,
            record.id,
            &record.name,
            &wanted,
            &AuditNote {
                actor,
                action: "rule.create",
                detail: "",
                at: now,
            },
        )
        .await?;
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

/// The tenant's exclusions from the configuration.
pub fn exclusions(app: &App, tenant: &str) -> Vec<Exclusion> {
    app.config
        .exclusions
        .iter()
        .filter(|e| e.tenant == tenant)
        .map(|e| e.exclusion.clone())
        .collect()
}

/// Refreshes a profile's candidates and records the refresh as a job.
pub async fn refresh(
    app: &App,
    record: &ProfileRecord,
    trigger: Trigger,
    actor: &str,
    now: i64,
) -> Result<RefreshReport> {
    let rule = rule_in_force(app, record, actor, now).await?;
    let exclusions = exclusions(app, &record.tenant_name);
    let scope = RefreshScope {
        tenant: record.tenant,
        profile: record.id,
        profile_name: &record.name,
        connector: &record.connector.name,
        actor,
        now,
    };
    let outcome = app
        .storage
        .refresh_candidates(scope, &rule, &exclusions)
        .await;
    let (detail, error_kind) = match &outcome {
        Ok(report) => (summary(report, &rule), None),
        Err(err) => (format!("{err:#}"), Some("host")),
    };
    app.storage
        .record_job(
            record.id,
            &OneShotJob {
                kind: JobKind::Candidates,
                trigger,
                started_at: now,
                finished_at: crate::sync::now_ms().max(now),
                error_kind,
                detail: &detail,
            },
        )
        .await?;
    outcome
}

/// One line for job results and logs.
pub fn summary(report: &RefreshReport, rule: &ReclamationRule) -> String {
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
    text
}
