//! `seatwarden serve`: runs published profiles' jobs when they are due.
//!
//! One loop, three rules. A job that is due runs once, however many of its
//! times were missed while the host was down: when it ends, its next due
//! time moves to the first cron time after then. Jobs of one profile never
//! overlap: a profile runs in one task at a time in this process, and holds
//! the profile's lease in the database against other processes. Jobs of
//! different profiles run concurrently up to a limit, each in its own task,
//! so a slow or failing vendor only holds its own slot.
//!
//! Several host processes share one schedule through the lease. A job
//! stays due while it runs, so when its host dies (its lease is renewed no
//! more) the job is still due once the lease runs out, and the next host
//! to look takes the lease and resumes at the stored cursor. Whoever takes
//! the lease reads the job's due time again under it, so a host that saw
//! the job due just before another one ran it does not run it a second
//! time; and the end of a run moves the due time only from the value it
//! was found at, so a schedule changed meanwhile (`apply`) keeps its time.
//!
//! Time comes from the app's [`Clock`], so tests drive the scheduler with a
//! [`ManualClock`](crate::clock::ManualClock) instead of waiting. Shutdown cancels a token that every
//! running sync watches: it stops between pages, its run is recorded as
//! interrupted, and the next run resumes at the stored cursor.

use crate::sync::{ActivityOutcome, Interrupted, ProfileSync, RetryPolicy, SyncOptions};
use crate::wiring::App;
use anyhow::{Context, Result};
use seatwarden_domain::cron::CronSchedule;
use seatwarden_store::{
    JobKind, OneShotJob, ProfileId, ProfileRecord, ProfileStatus, ScheduledJob, TenantId, Trigger,
};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;

/// How one scheduled job ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobResult {
    /// The job finished; the text says what it did.
    Succeeded(String),
    /// The job failed, or could not be started.
    Failed {
        /// A short, stable name for the failure, e.g. `rate-limited`, `lease-lost` or `host`.
        kind: String,
        /// The error with its causes, in words.
        message: String,
    },
    /// Shutdown stopped the job; it is due again at the next start and resumes at its cursor.
    Interrupted,
    /// Not run: e.g. the profile is busy elsewhere.
    Skipped(String),
}

/// One job the scheduler ran (or skipped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobOutcome {
    /// The name of the tenant the job belongs to.
    pub tenant: String,
    /// The profile's name; `(all profiles)` for a tenant's reconciliation.
    pub profile: String,
    /// Which job it was.
    pub kind: JobKind,
    /// How it ended.
    pub result: JobResult,
}

/// Scheduler behaviour beyond the configuration's `[scheduler]` table.
#[derive(Clone, Debug)]
pub struct SchedulerOptions {
    /// Names this process in leases ([`crate::lease::process_owner`] by
    /// default; unique to the process).
    pub owner: String,
    /// How a sync retries a failed vendor call within one run, before the job fails.
    pub retry: RetryPolicy,
    /// A failed job is tried again after this long (or at its next time,
    /// if sooner), resuming at its cursor.
    pub retry_failed_after: Duration,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            owner: crate::lease::process_owner().to_string(),
            retry: RetryPolicy::default(),
            retry_failed_after: Duration::from_secs(30 * 60),
        }
    }
}

/// The scheduler of one host process.
pub struct Scheduler {
    /// What every profile's task shares; each task gets a clone.
    shared: Worker,
    /// The configured tenants by id, once their reconciliation schedule
    /// is stored (the configuration does not change while this runs).
    tenants: tokio::sync::OnceCell<std::collections::HashMap<TenantId, String>>,
}

impl Scheduler {
    /// A scheduler over `app`'s jobs, running at most `max_concurrent_jobs` at once;
    /// nothing runs until [`Scheduler::run_due`] or [`Scheduler::serve`] is called.
    pub fn new(app: Arc<App>, options: SchedulerOptions) -> Scheduler {
        let clock = app.clock.clone();
        let slots = Arc::new(Semaphore::new(app.config.scheduler.max_concurrent_jobs));
        Scheduler {
            shared: Worker {
                app,
                clock,
                options,
                cancel: CancellationToken::new(),
                slots,
                running: Arc::default(),
            },
            tenants: tokio::sync::OnceCell::new(),
        }
    }

    /// Cancelling this token shuts the scheduler down gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shared.cancel.clone()
    }

    /// Starts every due job whose profile is not already running, and waits
    /// for all of them. For tests and `serve --once`.
    pub async fn run_due(&self) -> Result<Vec<JobOutcome>> {
        let mut tasks = JoinSet::new();
        self.start_due(&mut tasks).await?;
        let mut outcomes = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            outcomes.extend(joined.context("a job task panicked")?);
        }
        Ok(outcomes)
    }

    /// Runs until shutdown: starts due jobs, sleeps until the next one is
    /// due or a job finishes, and on shutdown lets running jobs stop at a
    /// page boundary. `report` sees every finished job.
    pub async fn serve(&self, report: &(dyn Fn(&JobOutcome) + Send + Sync)) -> Result<()> {
        let mut tasks: JoinSet<Vec<JobOutcome>> = JoinSet::new();
        let slots = self.shared.app.config.scheduler.max_concurrent_jobs;
        'serving: loop {
            if self.shared.cancel.is_cancelled() {
                break;
            }
            self.start_due(&mut tasks).await?;
            let next = self
                .shared
                .app
                .storage
                .next_due_at(self.shared.clock.now())
                .await?;
            let wake = next
                .unwrap_or(i64::MAX)
                .min(self.shared.clock.now() + recheck_ms(self.shared.app.config.scheduler.lease));
            loop {
                tokio::select! {
                    _ = self.shared.cancel.cancelled() => break 'serving,
                    _ = self.shared.clock.sleep_until(wake) => break,
                    Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                        for outcome in joined.context("a job task panicked")? {
                            report(&outcome);
                        }
                        // A job ended. Look at the schedule again only when
                        // a slot would otherwise idle: while more profiles
                        // wait for a slot here than there are slots, every
                        // due one is already queued, and reading the whole
                        // schedule after each of thousands of jobs would
                        // cost more than the jobs.
                        if tasks.len() < slots {
                            break;
                        }
                    }
                }
            }
        }
        while let Some(joined) = tasks.join_next().await {
            for outcome in joined.context("a job task panicked")? {
                report(&outcome);
            }
        }
        Ok(())
    }

    /// Claims due jobs profile by profile and spawns one task per profile.
    async fn start_due(&self, tasks: &mut JoinSet<Vec<JobOutcome>>) -> Result<()> {
        let now = self.shared.clock.now();
        self.start_due_reconciliations(now, tasks).await?;
        let mut by_profile: BTreeMap<ProfileId, Vec<ScheduledJob>> = BTreeMap::new();
        let due = self.shared.app.storage.due_jobs(now).await?;
        {
            // Profiles this host runs or has queued already are left out
            // before anything more is read.
            let running = self.shared.running.lock().expect("running set poisoned");
            for job in due {
                if !running.contains(&job.profile) {
                    by_profile.entry(job.profile).or_default().push(job);
                }
            }
        }
        if by_profile.is_empty() {
            return Ok(());
        }
        // A job stays due while it runs: a profile whose lease a live
        // holder has is that holder's (it ends the job, or its lease runs
        // out and the job is found due again).
        let leased: std::collections::HashMap<ProfileId, String> = self
            .shared
            .app
            .storage
            .live_leases(now)
            .await?
            .into_iter()
            .collect();
        let mut published: std::collections::HashMap<ProfileId, ProfileRecord> = self
            .shared
            .app
            .storage
            .published_profiles()
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        for (profile_id, mut jobs) in by_profile {
            let Some(record) = published.remove(&profile_id) else {
                continue;
            };
            if leased
                .get(&profile_id)
                .is_some_and(|holder| !crate::lease::owner_is_dead(holder))
            {
                continue;
            }
            if !self
                .shared
                .running
                .lock()
                .expect("running set poisoned")
                .insert(profile_id)
            {
                continue; // still running from an earlier tick: never overlap
            }
            // Subscriptions first, so activity lands on fresh accounts.
            jobs.sort_by_key(|j| JobKind::parse_scheduled(&j.kind));
            // A stored schedule with no next time (written before such
            // expressions were refused) stops this profile, never the others.
            let mut unschedulable = None;
            for job in &jobs {
                if let Err(err) = next_time(job, now) {
                    // Looked at again in a day, not at every tick.
                    self.shared
                        .app
                        .storage
                        .reschedule(profile_id, &job.kind, now + DAY_MS)
                        .await?;
                    unschedulable = Some((job.kind.clone(), err));
                }
            }
            if let Some((kind, err)) = unschedulable {
                tracing::error!(
                    profile = %record.name,
                    job = %kind,
                    error = %format!("{err:#}"),
                    "a stored schedule has no next run; fix the profile's schedule and run `seatwarden apply`"
                );
                self.shared
                    .running
                    .lock()
                    .expect("running set poisoned")
                    .remove(&profile_id);
                continue;
            }
            let worker = self.shared.clone();
            tasks.spawn(async move { worker.run_profile(record, jobs).await });
        }
        Ok(())
    }

    /// Stores each configured tenant's weekly reconciliation schedule (once
    /// per scheduler), and starts the due ones of tenants with a published
    /// profile. A due run is claimed in the database first, so of several
    /// host processes only one runs it; missed runs collapse into one. As a
    /// profile's job does, it stays due while it runs: the claim holds it
    /// for one lease term, renewed while it waits and runs, and only the
    /// finished run moves it to its next period. A host that dies holding
    /// it leaves it due again when the hold runs out.
    async fn start_due_reconciliations(
        &self,
        now: i64,
        tasks: &mut JoinSet<Vec<JobOutcome>>,
    ) -> Result<()> {
        let app = &self.shared.app;
        let settings = &app.config.scheduler;
        let kind = JobKind::Reconcile.as_str();
        let next = CronSchedule::parse(&settings.reconcile_cron)
            .map_err(anyhow::Error::msg)?
            .next_after(now, &settings.time_zone)?;
        let names = self
            .tenants
            .get_or_try_init(|| async {
                let mut names = std::collections::HashMap::new();
                for name in app.config.tenants.keys() {
                    let tenant = app.storage.ensure_tenant(name, now).await?;
                    app.storage
                        .ensure_tenant_job(
                            tenant,
                            kind,
                            &settings.reconcile_cron,
                            &settings.zone_name(),
                            next,
                        )
                        .await?;
                    names.insert(tenant, name.clone());
                }
                anyhow::Ok(names)
            })
            .await?;
        for (tenant, job, due) in app.storage.due_tenant_jobs(now).await? {
            let Some(name) = names.get(&tenant).cloned() else {
                continue; // no longer configured
            };
            let held_until = now + lease_ms(settings.lease);
            if job != kind
                || !app
                    .storage
                    .claim_tenant_job(tenant, &job, due, held_until, now)
                    .await?
            {
                continue;
            }
            let worker = self.shared.clone();
            tasks
                .spawn(async move { vec![worker.reconcile(tenant, name, held_until, next).await] });
        }
        Ok(())
    }
}

const DAY_MS: i64 = 86_400_000;

/// How long an idle host sleeps at most before it reads the schedule
/// again, whatever the next due time says: profiles may be published by
/// another process meanwhile, a job another host held is due again when
/// that host stops (SIGTERM releases its lease) or its lease runs out, and
/// a rolling restart must not leave such a job unrun for longer than one
/// lease. So: half a lease, and never more than a minute.
fn recheck_ms(lease: Duration) -> i64 {
    (lease_ms(lease) / 2).clamp(1_000, 60_000)
}

fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX)
}

fn next_time(job: &ScheduledJob, after: i64) -> Result<i64> {
    let zone = jiff::tz::TimeZone::get(&job.time_zone)
        .with_context(|| format!("time zone {:?} of a stored job", job.time_zone))?;
    CronSchedule::parse(&job.cron)
        .map_err(anyhow::Error::msg)?
        .next_after(after, &zone)
}

/// What one profile's task holds: handles shared with the scheduler.
#[derive(Clone)]
struct Worker {
    app: Arc<App>,
    clock: Arc<dyn Clock>,
    options: SchedulerOptions,
    cancel: CancellationToken,
    slots: Arc<Semaphore>,
    running: Arc<Mutex<HashSet<ProfileId>>>,
}

impl Worker {
    /// Runs a tenant's scheduled reconciliation, claimed until
    /// `held_until`, in a job slot, renewing the hold every third of a lease
    /// while it waits and runs; then moves the job to `next` (its next
    /// period). Stopped before it ran, it stays held until the hold runs
    /// out and is due again then.
    async fn reconcile(
        self,
        tenant: TenantId,
        name: String,
        held_until: i64,
        next: i64,
    ) -> JobOutcome {
        let outcome = |result| JobOutcome {
            tenant: name.clone(),
            profile: "(all profiles)".into(),
            kind: JobKind::Reconcile,
            result,
        };
        let kind = JobKind::Reconcile.as_str();
        let term = lease_ms(self.app.config.scheduler.lease);
        // The end of this host's hold; `None` once another took it over.
        let mut held = Some(held_until);
        let work = async {
            let _permit = tokio::select! {
                permit = self.slots.clone().acquire_owned() => permit,
                _ = self.cancel.cancelled() => return None,
            };
            Some(crate::reconciliation::run(&self.app, tenant, Trigger::Schedule).await)
        };
        tokio::pin!(work);
        let mut renew_at = held_until - term * 2 / 3;
        let run = loop {
            tokio::select! {
                run = &mut work => break run,
                _ = self.clock.sleep_until(renew_at), if held.is_some() => {
                    let (from, to) = (held.unwrap_or_default(), self.clock.now() + term);
                    match self.app.storage.move_tenant_job(tenant, kind, from, to).await {
                        Ok(true) => {
                            held = Some(to);
                            renew_at = to - term * 2 / 3;
                        }
                        Ok(false) => {
                            tracing::warn!(tenant = %name, "the reconciliation's hold was taken or its schedule moved; finishing this run without renewing it");
                            held = None;
                        }
                        Err(err) => {
                            tracing::warn!(tenant = %name, error = %err, "could not renew the reconciliation's hold; trying again in a second");
                            renew_at = self.clock.now() + 1000;
                        }
                    }
                }
            }
        };
        let Some(run) = run else {
            return outcome(JobResult::Interrupted);
        };
        if let Some(held) = held
            && let Err(err) = self
                .app
                .storage
                .move_tenant_job(tenant, kind, held, next)
                .await
        {
            tracing::error!(tenant = %name, error = %err, "could not move the reconciliation to its next period; it runs again when its hold runs out");
        }
        outcome(match run {
            Ok(run) => JobResult::Succeeded(format!(
                "reconciliation run {} as of {}: {} models",
                run.id,
                run.position.as_of,
                run.position.models.len()
            )),
            Err(err) => JobResult::Failed {
                kind: "host".into(),
                message: format!("{err:#}"),
            },
        })
    }

    async fn run_profile(self, record: ProfileRecord, jobs: Vec<ScheduledJob>) -> Vec<JobOutcome> {
        let outcome = |kind: JobKind, result: JobResult| JobOutcome {
            tenant: record.tenant_name.clone(),
            profile: record.name.clone(),
            kind,
            result,
        };
        let kinds: Vec<JobKind> = jobs
            .iter()
            .filter_map(|j| JobKind::parse_scheduled(&j.kind))
            .collect();
        let mut outcomes = Vec::new();
        let permit = tokio::select! {
            permit = self.slots.clone().acquire_owned() => Some(permit),
            _ = self.cancel.cancelled() => None,
        };
        let Some(permit) = permit else {
            // Shut down before a slot freed up: still due at the next start.
            self.done(record.id);
            return kinds
                .into_iter()
                .map(|k| outcome(k, JobResult::Interrupted))
                .collect();
        };
        let _permit = permit.expect("the semaphore is never closed");
        let owner = self.options.owner.clone();
        let lease_lost = CancellationToken::new();
        let leased = crate::lease::HeldLease::take(
            &self.app.storage,
            record.id,
            &owner,
            self.app.config.scheduler.lease,
            self.clock.clone(),
            lease_lost.clone(),
        )
        .await;
        let host_failed = |kinds: Vec<JobKind>, err: anyhow::Error| -> Vec<JobOutcome> {
            let message = format!("{err:#}");
            kinds
                .into_iter()
                .map(|k| {
                    outcome(
                        k,
                        JobResult::Failed {
                            kind: "host".into(),
                            message: message.clone(),
                        },
                    )
                })
                .collect()
        };
        let lease = match leased {
            Ok(Ok(lease)) => lease,
            Ok(Err(busy)) => {
                // Another host took it first: the jobs stay due, and their
                // holder ends them (or its lease runs out).
                self.done(record.id);
                return kinds
                    .into_iter()
                    .map(|k| outcome(k, JobResult::Skipped(format!("profile busy: {busy}"))))
                    .collect();
            }
            Err(err) => {
                self.done(record.id);
                return host_failed(kinds, err);
            }
        };
        // Read again under the lease: another host may have run them
        // between this one's look at the schedule and now.
        let due = match self.still_due(&record, &kinds).await {
            Ok(due) => due,
            Err(err) => {
                if let Err(err) = lease.release().await {
                    tracing::warn!(error = %err, "could not release a profile lease");
                }
                self.done(record.id);
                return host_failed(kinds, err);
            }
        };
        for (job, kind) in &due {
            if lease.lost() {
                break;
            }
            let result = self.run_job(&record, *kind, &lease_lost).await;
            let interrupted = result == JobResult::Interrupted;
            // Interrupted: due at the next start, which resumes at the
            // stored cursor (as do the jobs not started). Lease lost: its
            // new holder ends the job.
            if !interrupted && !lease.lost() {
                let ended = self.clock.now();
                let next = next_time(job, ended).unwrap_or(ended + DAY_MS);
                let next = if matches!(result, JobResult::Failed { .. }) {
                    next.min(self.retry_at())
                } else {
                    next
                };
                self.finish(job, next).await;
            }
            outcomes.push(outcome(*kind, result));
            if interrupted {
                break;
            }
        }
        // The candidates follow every successful sync, inside the lease.
        let interrupted = outcomes.iter().any(|o| o.result == JobResult::Interrupted);
        let synced = outcomes
            .iter()
            .any(|o| matches!(o.result, JobResult::Succeeded(_)));
        if synced && !interrupted && !lease.lost() {
            let result = match crate::reclamation::refresh(
                &self.app,
                &record,
                Trigger::Schedule,
                "scheduler",
                self.clock.now(),
            )
            .await
            {
                Ok(refreshed) => JobResult::Succeeded(refreshed.summary),
                Err(err) => JobResult::Failed {
                    kind: "host".into(),
                    message: format!("{err:#}"),
                },
            };
            let refreshed = matches!(result, JobResult::Succeeded(_));
            outcomes.push(outcome(JobKind::Candidates, result));
            if refreshed {
                let reclaimed =
                    crate::reclamation::auto_reclaim(&self.app, &record, self.clock.now()).await;
                match reclaimed {
                    Ok(None) => {}
                    Ok(Some(done)) => {
                        outcomes.push(outcome(JobKind::Deactivate, JobResult::Succeeded(done)))
                    }
                    Err(err) => outcomes.push(outcome(
                        JobKind::Deactivate,
                        JobResult::Failed {
                            kind: "refused".into(),
                            message: format!("{err:#}"),
                        },
                    )),
                }
            }
        }
        if let Err(err) = lease.release().await {
            tracing::warn!(error = %err, "could not release a profile lease");
        }
        self.done(record.id);
        outcomes
    }

    fn done(&self, profile: ProfileId) {
        self.running
            .lock()
            .expect("running set poisoned")
            .remove(&profile);
    }

    /// When a failed job is tried again.
    fn retry_at(&self) -> i64 {
        self.clock.now() + self.options.retry_failed_after.as_millis() as i64
    }

    /// Of `kinds`, the profile's jobs that are due now, in the order they
    /// run (subscriptions first).
    async fn still_due(
        &self,
        record: &ProfileRecord,
        kinds: &[JobKind],
    ) -> Result<Vec<(ScheduledJob, JobKind)>> {
        let now = self.clock.now();
        let mut due: Vec<(ScheduledJob, JobKind)> = self
            .app
            .storage
            .scheduled_jobs(record.id)
            .await?
            .into_iter()
            .filter(|job| job.next_due_at <= now)
            .filter_map(|job| {
                let kind = JobKind::parse_scheduled(&job.kind)?;
                kinds.contains(&kind).then_some((job, kind))
            })
            .collect();
        due.sort_by_key(|(_, kind)| *kind);
        Ok(due)
    }

    /// Moves an ended job's due time to `next`, unless it changed since it
    /// was found due (then the newer time stands).
    async fn finish(&self, job: &ScheduledJob, next: i64) {
        match self
            .app
            .storage
            .finish_job(job.profile, &job.kind, job.next_due_at, next)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!(job = %job.kind, "the job's schedule changed while it ran; keeping the new time")
            }
            Err(err) => tracing::warn!(error = %err, "could not reschedule a job"),
        }
    }

    async fn run_job(
        &self,
        record: &ProfileRecord,
        kind: JobKind,
        lease_lost: &CancellationToken,
    ) -> JobResult {
        let started = self.clock.now();
        let result = self.sync(record, kind, lease_lost).await;
        if let Err(err) = self
            .app
            .storage
            .mark_ran(record.id, kind.as_str(), started)
            .await
        {
            tracing::warn!(error = %err, "could not record when a job ran");
        }
        match result {
            Ok(detail) => JobResult::Succeeded(detail),
            Err(err) if err.downcast_ref::<Interrupted>().is_some() => JobResult::Interrupted,
            Err(err) if err.downcast_ref::<crate::lease::LeaseLost>().is_some() => {
                JobResult::Failed {
                    kind: "lease-lost".into(),
                    message: format!("{err:#}"),
                }
            }
            Err(err) => {
                let kind_name = err
                    .downcast_ref::<seatwarden_sandbox::error::CallError>()
                    .map_or("host", |e| e.kind_name())
                    .to_string();
                JobResult::Failed {
                    kind: kind_name,
                    message: format!("{err:#}"),
                }
            }
        }
    }

    /// Connects the profile and runs one job; failures before the sync
    /// starts (credential missing, connector changed) are recorded as
    /// failed job runs too, so `seatwarden jobs` shows them.
    async fn sync(
        &self,
        record: &ProfileRecord,
        kind: JobKind,
        lease_lost: &CancellationToken,
    ) -> Result<String> {
        let started = self.clock.now();
        let ready = self.prepare(record).await;
        let connected = match ready {
            Ok(connected) => connected,
            Err((error_kind, err)) => {
                let message = format!("{err:#}");
                self.app
                    .storage
                    .record_job(
                        record.id,
                        &OneShotJob {
                            kind,
                            trigger: Trigger::Schedule,
                            started_at: started,
                            finished_at: self.clock.now(),
                            error_kind: Some(error_kind),
                            detail: &message,
                        },
                    )
                    .await?;
                return Err(err);
            }
        };
        self.app
            .remember_declared_models(record.tenant, &connected.connector)
            .await?;
        let sync = ProfileSync {
            storage: &self.app.storage,
            clock: self.clock.as_ref(),
            connector: &connected.connector,
            connection: &connected.connection,
            profile: record.id,
            options: SyncOptions {
                retry: self.options.retry,
                cancel: self.cancel.clone(),
                lease_lost: lease_lost.clone(),
                owner: self.options.owner.clone(),
                ..SyncOptions::for_profile(&record.settings, Trigger::Schedule)
            },
        };
        let quiet = |_| {};
        match kind {
            JobKind::Activity => match sync.run_activity(&quiet).await? {
                activity @ ActivityOutcome::Pulled { .. } => Ok(activity.pulled_summary()),
                ActivityOutcome::Unsupported(why) => Ok(format!("activity not available: {why}")),
                ActivityOutcome::Skipped => Ok("activity skipped".into()),
            },
            _ => {
                let report = sync.run_users(&quiet).await?;
                Ok(format!(
                    "{} accounts in {} pages{}; {} gone",
                    report.accounts,
                    report.pages,
                    if report.resumed { " (resumed)" } else { "" },
                    report.gone
                ))
            }
        }
    }

    /// Connects a profile and checks it may still run: still published, and
    /// its connection and connector are the ones it was validated against.
    async fn prepare(
        &self,
        record: &ProfileRecord,
    ) -> Result<crate::wiring::Connected, (&'static str, anyhow::Error)> {
        let current = self
            .app
            .storage
            .profile(record.tenant, &record.name)
            .await
            .map_err(|e| ("host", e.into()))?;
        if current.as_ref().map(|p| p.status) != Some(ProfileStatus::Published) {
            return Err((
                "unpublished",
                anyhow::anyhow!("profile {} is no longer published", record.name),
            ));
        }
        let connected = self
            .app
            .connect(&record.tenant_name, &record.settings.connection)
            .await
            .map_err(|e| ("host", e.context(format!("profile {}", record.name))))?;
        let validated = record.validation.as_ref().map(|v| v.fingerprint.as_str());
        if validated != Some(connected.fingerprint.as_str()) {
            return Err((
                "stale-validation",
                anyhow::anyhow!(
                    "profile {}: its connection or connector changed since it was validated; run `seatwarden profile validate {}` and publish it again",
                    record.name,
                    record.name
                ),
            ));
        }
        Ok(connected)
    }
}
