//! An operator's deactivation of one named account, held to the same
//! protections as a reclaim.
//!
//! `seatwarden deactivate` used to call the vendor for whatever id it was
//! given: a protected, excluded or administrator account went through, and
//! nothing but a job row (erased with its profile) said so. Here the account
//! must be one the profile has downloaded; the rule in force and the
//! tenant's exclusions judge it exactly as a refresh would; excluded and
//! protected accounts need an explicit override with a reason; the account
//! the profile's credentials act as is never deactivated. Every outcome
//! (refused, failed, done, overridden) goes to the tenant's audit chain as
//! well as to the job history.

use crate::wiring::App;
use anyhow::{Context, Result};
use seatwarden_domain::rules::{Verdict, evaluate};
use seatwarden_sandbox::Connection;
use seatwarden_sandbox::Connector;
use seatwarden_store::{AuditNote, JobKind, OneShotJob, ProfileRecord, Trigger};

/// One manual deactivation, as asked for.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The account's vendor id or principal.
    pub account: &'a str,
    /// Why the operator deactivates an excluded or protected account
    /// anyway; without it such accounts are refused.
    pub override_reason: Option<&'a str>,
    /// Who asks (recorded in the audit chain).
    pub actor: &'a str,
}

/// Deactivates the account through the connector, or refuses; records the
/// outcome in the job history and the audit chain either way. Returns the
/// words that say what was done.
pub async fn deactivate(
    app: &App,
    record: &ProfileRecord,
    connector: &Connector,
    connection: &Connection,
    request: Request<'_>,
) -> Result<String> {
    let started = app.now();
    let account = match judge(app, record, request, started).await {
        Ok(judged) => judged,
        Err(refusal) => {
            let reason = format!("{refusal:#}");
            let detail = format!("refused to deactivate {:?}: {reason}", request.account);
            note_outcome(
                app,
                record,
                &detail,
                Some("refused"),
                started,
                request.actor,
            )
            .await?;
            anyhow::bail!(
                "deactivating {} in profile {} refused: {reason}",
                request.account,
                record.name
            );
        }
    };
    let who = format!("{} ({})", account.principal, account.id);
    let overriding = account
        .overridden
        .map(|why| {
            format!(
                "; overriding \"{why}\" because: {}",
                request.override_reason.unwrap_or_default()
            )
        })
        .unwrap_or_default();
    match connector.deactivate_user(connection, &account.id).await {
        Ok(()) => {
            app.storage
                .set_active(record.id, &account.id, false)
                .await?;
            let detail = format!("deactivated {who}{overriding}");
            note_outcome(app, record, &detail, None, started, request.actor).await?;
            Ok(detail)
        }
        Err(err) => {
            let detail = format!("deactivating {who} failed: {err}{overriding}");
            note_outcome(
                app,
                record,
                &detail,
                Some(err.kind_name()),
                started,
                request.actor,
            )
            .await?;
            Err(err).context(format!(
                "deactivating {} in profile {}",
                request.account, record.name
            ))
        }
    }
}

/// The stored account a request names, once judged deactivatable.
struct Judged {
    id: String,
    principal: String,
    /// What protected or excluded it, when the operator overrode that.
    overridden: Option<String>,
}

async fn judge(
    app: &App,
    record: &ProfileRecord,
    request: Request<'_>,
    now: i64,
) -> Result<Judged> {
    if let Some(why) = crate::reclamation::report_only(record) {
        anyhow::bail!(why);
    }
    let stored = app
        .storage
        .find_subscription(record.id, request.account)
        .await?
        .with_context(|| {
            format!(
                "no downloaded account of profile {} has the id or principal {:?}; run `seatwarden sync --profile {}` and give an id from `seatwarden subscriptions`",
                record.name, request.account, record.name
            )
        })?;
    let credential_account = record
        .validation
        .as_ref()
        .and_then(|v| v.credential_account.as_deref());
    if credential_account == Some(stored.account_id.as_str()) {
        anyhow::bail!(
            "it is the account profile {}'s credentials act as: deactivating it would cut off the integration. Give the profile credentials of another account and validate it first",
            record.name
        );
    }
    if let Some(group) = stored.granted_by_group() {
        anyhow::bail!(
            "the person holds the app through the identity provider's {group}, not a direct assignment: remove them from that group there (a group can grant several apps, so Seatwarden never removes a group assignment)"
        );
    }
    let rule = crate::reclamation::rule_in_force(app, record, request.actor, now).await?;
    let exclusions = app.storage.exclusions(record.tenant).await?;
    let verdict = evaluate(
        &rule,
        &exclusions,
        &record.connector.name,
        credential_account,
        &stored,
        now,
    );
    let guarded = match verdict {
        Verdict::NotActive if stored.gone_at.is_some() => anyhow::bail!(
            "it is no longer in the vendor's listing (gone since the sync of {}); nothing to deactivate",
            jiff::Timestamp::from_millisecond(stored.gone_at.unwrap_or_default()).map_or_else(
                |_| "an unknown time".into(),
                |t| t.strftime("%Y-%m-%d").to_string()
            )
        ),
        Verdict::NotActive => anyhow::bail!("it is already inactive at the vendor"),
        Verdict::Excluded { by } => Some(format!("excluded by {by}")),
        Verdict::Protected { why } => Some(format!("protected: {why}")),
        _ => None,
    };
    let overridden = match (guarded, request.override_reason) {
        (None, _) => None,
        (Some(guard), Some(reason)) if !reason.trim().is_empty() => Some(guard),
        (Some(guard), _) => anyhow::bail!(
            "it is {guard}. If you really mean to deactivate it, say why with --override \"REASON\" (recorded in the audit log)"
        ),
    };
    Ok(Judged {
        id: stored.account_id,
        principal: stored.principal,
        overridden,
    })
}

/// Records an outcome as a job and in the tenant's audit chain.
async fn note_outcome(
    app: &App,
    record: &ProfileRecord,
    detail: &str,
    error_kind: Option<&str>,
    started: i64,
    actor: &str,
) -> Result<()> {
    let finished = app.now();
    app.storage
        .record_job(
            record.id,
            &OneShotJob {
                kind: JobKind::Deactivate,
                trigger: Trigger::Manual,
                started_at: started,
                finished_at: finished,
                error_kind,
                detail,
            },
        )
        .await?;
    let action = match error_kind {
        None => "account.deactivate",
        Some("refused") => "account.deactivate.refused",
        Some(_) => "account.deactivate.failed",
    };
    app.storage
        .record_decision(
            record.tenant,
            Some(&record.name),
            &AuditNote {
                actor,
                action,
                detail,
                at: finished,
            },
        )
        .await?;
    Ok(())
}
