//! Jobs a person starts (the command line today, the HTTP API next): a sync,
//! a reclaim run, a decision on a candidate, the undo of a reclamation.
//!
//! Each runs under the same guards as its scheduled twin, so no front end
//! can skip one: a sync refuses a profile whose last validation failed and
//! holds the profile's lease (on the app's clock) exactly as the scheduler
//! does; a reclaim plans under the rule in force and records its refusals;
//! a decision is applied through the candidate state machine. Front ends
//! only render what these return.

use crate::output::date_time;
use crate::reclamation::{self, ReclaimOutcome, ReclaimPlan};
use crate::sync::{ProfileSync, Progress, SyncOptions, SyncReport};
use crate::wiring::{App, ProfileContext};
use anyhow::{Context, Result, bail};
use seatwarden_domain::candidate_state::Decision;
use seatwarden_store::{Candidate, CandidateState, RefreshScope, TenantId, Trigger};
use tokio_util::sync::CancellationToken;

/// What a sync started by hand needs besides the profile.
pub struct SyncRequest<'a> {
    /// The operator confirmed that this listing is the truth (see
    /// `SyncOptions::accept_gone`).
    pub accept_gone: bool,
    /// Cancelled when the person interrupts: the sync stops between pages.
    pub cancel: CancellationToken,
    /// Sees each page and each retry, for a progress display.
    pub progress: &'a (dyn Fn(Progress) + Send + Sync),
}

/// A finished sync started by hand.
pub struct SyncDone {
    /// What the sync did.
    pub report: SyncReport,
    /// Why the profile's lease could not be given back, if it could not
    /// (it then runs out by itself within the configured lease term).
    pub lease_not_returned: Option<String>,
}

/// Syncs a profile now, under its lease. A draft may be synced to look at
/// its data before publishing (a sync reads; nothing is deactivated); one
/// whose last validation failed is refused: that check found the connection
/// wrong (credential, host, permissions), and a sync would carry the
/// credential there again.
pub async fn sync(app: &App, ctx: &ProfileContext, request: SyncRequest<'_>) -> Result<SyncDone> {
    let record = &ctx.record;
    if let Some(validation) = record.validation.as_ref().filter(|v| !v.passed) {
        bail!(
            "profile {} failed its last validation ({}): {}. Fix the connection, run `seatwarden profile validate {}`, then sync",
            record.name,
            date_time(validation.at),
            validation.detail,
            record.name
        );
    }
    let owner = crate::lease::process_owner();
    let lease_lost = CancellationToken::new();
    let lease = crate::lease::HeldLease::take(
        &app.storage,
        record.id,
        owner,
        app.config.scheduler.lease,
        app.clock.clone(),
        lease_lost.clone(),
    )
    .await
    .with_context(|| format!("taking the lease of profile {}", record.name))?;
    let lease = match lease {
        Ok(lease) => lease,
        Err(busy) => bail!(
            "profile {} is busy: {busy}; try again when its job finishes",
            record.name
        ),
    };
    // Only a component the profile was validated with speaks for the
    // tenant's models; a draft synced with another one does not.
    if record
        .validation
        .as_ref()
        .is_some_and(|v| v.passed && v.fingerprint == ctx.connected.fingerprint)
    {
        app.remember_declared_models(record.tenant, &ctx.connected.connector)
            .await?;
    }
    let sync = ProfileSync {
        storage: &app.storage,
        clock: app.clock.as_ref(),
        connector: &ctx.connected.connector,
        connection: &ctx.connected.connection,
        profile: record.id,
        options: SyncOptions {
            accept_gone: request.accept_gone,
            cancel: request.cancel,
            lease_lost,
            owner: owner.to_string(),
            ..SyncOptions::for_profile(&record.settings, Trigger::Manual)
        },
    };
    let report = sync.run(request.progress).await;
    // The sync's own outcome is what the operator needs; a lease that could
    // not be given back runs out by itself.
    let lease_not_returned = lease.release().await.err().map(|err| format!("{err:#}"));
    Ok(SyncDone {
        report: report?,
        lease_not_returned,
    })
}

/// A candidate of the tenant by id, with its profile's name; "not found"
/// for another tenant's candidate.
pub async fn find_candidate(
    app: &App,
    tenant: TenantId,
    tenant_name: &str,
    id: i64,
) -> Result<(String, Candidate)> {
    app.storage
        .find_candidate(tenant, id)
        .await?
        .with_context(|| {
            format!(
                "tenant {tenant_name} has no removal candidate {id}; `seatwarden candidates list --profile P --all` shows them"
            )
        })
}

/// A decision applied to a candidate.
pub struct Decided {
    /// The candidate's profile.
    pub profile: String,
    /// The candidate as it was before the decision.
    pub candidate: Candidate,
    /// The state the decision moved it to.
    pub state: CandidateState,
    /// Why nothing will be deactivated although the candidate now awaits
    /// revocation (the profile reports only), if so.
    pub report_only: Option<String>,
}

/// Applies an administrator's decision (or the user's answer given to one)
/// to a candidate, through the candidate state machine; the audit chain
/// records who decided and why.
pub async fn decide(
    app: &App,
    tenant: TenantId,
    tenant_name: &str,
    actor: &str,
    id: i64,
    decision: Decision,
    reason: Option<&str>,
) -> Result<Decided> {
    let (profile, candidate) = find_candidate(app, tenant, tenant_name, id).await?;
    let record = app.find_profile(tenant, tenant_name, &profile).await?;
    let why = match reason {
        Some(reason) => format!("{actor} chose {}: {reason}", decision.as_str()),
        None => format!("{actor} chose {}", decision.as_str()),
    };
    let state = app
        .storage
        .decide_candidate(
            RefreshScope::of(&record, actor, app.now()),
            &candidate,
            decision,
            &why,
        )
        .await?;
    let report_only = (state == CandidateState::AwaitingRevocation)
        .then(|| reclamation::report_only(&record))
        .flatten();
    Ok(Decided {
        profile,
        candidate,
        state,
        report_only,
    })
}

/// A reclaim run started by hand: the plan, and what became of it.
pub struct Reclaimed {
    /// The candidates the rule in force allows to deactivate now, and the
    /// circuit breaker's verdict.
    pub plan: ReclaimPlan,
    /// What became of the plan.
    pub result: ReclaimResult,
}

/// What became of a reclaim plan.
pub enum ReclaimResult {
    /// Nothing was run: the person asked for a dry run.
    DryRun,
    /// The plan ran: what was deactivated and what failed.
    Done(ReclaimOutcome),
    /// The plan was refused (circuit breaker, report-only profile); the
    /// refusal is recorded in the job history and the audit chain.
    Refused(anyhow::Error),
}

/// Plans a reclaim of the profile under the rule in force and, with
/// `apply`, runs it through the connector. A refused plan is recorded even
/// on a dry run, so the refusal shows in `jobs` and the audit log.
pub async fn reclaim(
    app: &App,
    ctx: &ProfileContext,
    actor: &str,
    apply: bool,
) -> Result<Reclaimed> {
    let rule = reclamation::rule_in_force(app, &ctx.record, actor, app.now()).await?;
    let plan = reclamation::plan_reclaim(&app.storage, &ctx.record, &rule).await?;
    if plan.refused.is_none() && !apply {
        return Ok(Reclaimed {
            plan,
            result: ReclaimResult::DryRun,
        });
    }
    let refused = plan.refused.is_some();
    let executed = reclamation::execute_reclaim(
        app,
        &ctx.record,
        &ctx.connected.connector,
        &ctx.connected.connection,
        &plan,
        Trigger::Manual,
        actor,
    )
    .await;
    let result = match executed {
        Ok(outcome) => ReclaimResult::Done(outcome),
        Err(err) if refused => ReclaimResult::Refused(err),
        Err(err) => return Err(err),
    };
    Ok(Reclaimed { plan, result })
}

/// Undoes a reclamation of the tenant's candidate `id` (see
/// [`reclamation::undo_reclaim`]); returns the candidate's profile and the
/// candidate as it was.
pub async fn reactivate(
    app: &App,
    tenant: TenantId,
    tenant_name: &str,
    actor: &str,
    id: i64,
) -> Result<(String, Candidate)> {
    let (profile, candidate) = find_candidate(app, tenant, tenant_name, id).await?;
    let ctx = app.open_profile(tenant, tenant_name, &profile).await?;
    reclamation::undo_reclaim(
        app,
        &ctx.record,
        &ctx.connected.connector,
        &ctx.connected.connection,
        &candidate,
        actor,
    )
    .await?;
    Ok((profile, candidate))
}
