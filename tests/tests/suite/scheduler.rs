//! The scheduler behind `seatwarden serve`, driven by a [`ManualClock`] so
//! nothing waits for real time: due jobs run once, missed runs collapse,
//! a profile never runs twice at once (two hosts on one database run a due
//! job once, and a dead host's job is taken over when its lease runs out),
//! failures retry later and resume at
//! their cursor, shutdown stops at a page boundary, one hung vendor does not
//! hold up another, retry decisions, and the per-credential token bucket.

use seatwarden_app::clock::{Clock, ManualClock};
use seatwarden_app::profiles::Profiles;
use seatwarden_app::scheduler::{JobOutcome, JobResult, Scheduler, SchedulerOptions};
use seatwarden_app::sync::{RetryDecision, RetryPolicy};
use seatwarden_app::wiring::App;
use seatwarden_sandbox::CallError;
use seatwarden_sandbox::ConnectorError;
use seatwarden_sandbox::error::CallErrorKind;
use seatwarden_store::{JobKind, JobRun, ProfileRecord};
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::smartrecruiters_fake::{
    DAY_MS, Fault, SmartRecruitersFake, SrTenant, seed_tenant,
};
use seatwarden_tests::workspace::{Workspace, smartrecruiters_connection};
use std::sync::Arc;
use std::time::Duration;

const MINUTE_MS: i64 = 60_000;

async fn fake(token: &str, users: usize) -> SmartRecruitersFake {
    SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_tenant(token, users, now_ms())
    })
    .await
}

/// Writes one tenant with one profile per `(name, vendor)`, applies,
/// validates and publishes them all.
async fn published(
    ws: &Workspace,
    vendors: &[(&str, &SmartRecruitersFake, &str)],
    connection_extra: &str,
) -> Arc<App> {
    let mut config = String::from("[tenants.acme]\n\n");
    for (name, vendor, token) in vendors {
        ws.secret(&format!("{name}.key"), token);
        config.push_str(&smartrecruiters_connection(
            name,
            "acme",
            &vendor.url(),
            &format!("{name}.key"),
        ));
        config.push_str(connection_extra);
        config.push_str(&format!(
            "\n[profiles.{name}]\ntenant = \"acme\"\nconnection = \"{name}\"\n\n"
        ));
    }
    ws.write_config(&config);
    let app = ws.app().await.unwrap();
    let p = profiles(&app).await;
    p.apply().await.unwrap();
    for (name, _, _) in vendors {
        assert!(p.validate(name).await.unwrap().passed);
        p.publish(name).await.unwrap();
    }
    app
}

async fn profiles(app: &App) -> Profiles<'_> {
    let (tenant_name, tenant) = app.tenant(Some("acme")).await.unwrap();
    Profiles {
        app,
        tenant,
        tenant_name,
        actor: "test".into(),
    }
}

async fn record(app: &App, name: &str) -> ProfileRecord {
    profiles(app).await.get(name).await.unwrap()
}

/// Job runs the scheduler made (not the validation's), oldest first.
async fn scheduled_runs(app: &App, profile: &ProfileRecord) -> Vec<JobRun> {
    let mut runs: Vec<JobRun> = app
        .storage
        .job_runs(profile.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.trigger == "schedule" && r.kind != "candidates")
        .collect();
    runs.sort_by_key(|r| r.id);
    runs
}

async fn next_due(app: &App, profile: &ProfileRecord, kind: &str) -> i64 {
    app.storage
        .scheduled_jobs(profile.id)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.kind == kind)
        .unwrap()
        .next_due_at
}

fn users_requests(vendor: &SmartRecruitersFake) -> Vec<String> {
    vendor
        .server
        .requests()
        .into_iter()
        .filter(|r| {
            r.target.starts_with("/user-api/v201804/users?")
                || r.target == "/user-api/v201804/users"
        })
        .map(|r| r.target)
        .collect()
}

/// A start time for the manual clock that is after every job's first due
/// time and far from the default 02:00 runs, whatever the real time is.
fn tomorrow_noon() -> i64 {
    (now_ms() / DAY_MS + 1) * DAY_MS + 12 * 60 * MINUTE_MS
}

/// The sync jobs' outcomes, without the candidates refresh that follows
/// them and the weekly reconciliation (which a jump of days may cross).
fn syncs(outcomes: Vec<JobOutcome>) -> Vec<JobOutcome> {
    outcomes
        .into_iter()
        .filter(|o| !matches!(o.kind, JobKind::Candidates | JobKind::Reconcile))
        .collect()
}

/// The reconciliations among a pass's outcomes.
fn reconciliations(outcomes: Vec<JobOutcome>) -> Vec<JobOutcome> {
    outcomes
        .into_iter()
        .filter(|o| o.kind == JobKind::Reconcile)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tenant_is_reconciled_weekly_once_and_runs_are_kept() {
    let vendor = fake("DCRA1-weekly", 30).await;
    let ws = Workspace::new("scheduler-weekly");
    let app = published(&ws, &[("sr", &vendor, "DCRA1-weekly")], "").await;
    let clock = Arc::new(ManualClock::new(tomorrow_noon()));
    let scheduler = Scheduler::new(
        Arc::new(app.on_clock(clock.clone())),
        SchedulerOptions::default(),
    );
    let (_, tenant) = app.tenant(Some("acme")).await.unwrap();

    // Not at once: the first reconciliation waits for Monday 06:00.
    let first = scheduler.run_due().await.unwrap();
    assert!(reconciliations(first).is_empty());
    let due = app.storage.next_due_at(clock.now()).await.unwrap().unwrap();
    assert!(due > clock.now());

    // A week later exactly one run happened, even if it was missed by days.
    clock.advance(Duration::from_millis((7 * DAY_MS + 60 * MINUTE_MS) as u64));
    let ran = reconciliations(scheduler.run_due().await.unwrap());
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert_eq!(ran[0].tenant, "acme");
    assert!(
        matches!(&ran[0].result, JobResult::Succeeded(detail) if detail.starts_with("reconciliation run")),
        "{ran:?}"
    );
    assert!(reconciliations(scheduler.run_due().await.unwrap()).is_empty());
    let runs = app.storage.reconciliation_runs(tenant, 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].trigger, "schedule");

    clock.advance(Duration::from_millis((7 * DAY_MS) as u64));
    assert_eq!(reconciliations(scheduler.run_due().await.unwrap()).len(), 1);
    assert_eq!(
        app.storage
            .reconciliation_runs(tenant, 10)
            .await
            .unwrap()
            .len(),
        2,
        "each run is kept, for trends"
    );
}

/// A host that claimed a tenant's weekly reconciliation and died before
/// running it: the job stays held for one lease term, in which no other
/// host runs it, and is due again after; the next host runs it once and
/// moves it to the next week.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconciliation_claimed_by_a_host_that_died_runs_once_its_hold_runs_out() {
    let vendor = fake("DCRA1-held", 30).await;
    let ws = Workspace::new("scheduler-held");
    let app = published(&ws, &[("sr", &vendor, "DCRA1-held")], "").await;
    let clock = Arc::new(ManualClock::new(tomorrow_noon()));
    let scheduler = Scheduler::new(
        Arc::new(app.on_clock(clock.clone())),
        SchedulerOptions::default(),
    );
    let (_, tenant) = app.tenant(Some("acme")).await.unwrap();
    assert_eq!(reconciliations(scheduler.run_due().await.unwrap()).len(), 0);

    // A week on, another host claims the due run and dies.
    clock.advance(Duration::from_millis((7 * DAY_MS) as u64));
    let now = clock.now();
    let due = app.storage.due_tenant_jobs(now).await.unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    let lease = i64::try_from(app.config.scheduler.lease.as_millis()).unwrap();
    assert!(
        app.storage
            .claim_tenant_job(tenant, "reconcile", due[0].2, now + lease, now)
            .await
            .unwrap()
    );
    assert_eq!(
        reconciliations(scheduler.run_due().await.unwrap()).len(),
        0,
        "held by the claimant"
    );
    assert!(
        app.storage
            .reconciliation_runs(tenant, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Its hold runs out: this host runs it, once, and schedules next week.
    clock.advance(Duration::from_millis((lease + 1) as u64));
    assert_eq!(reconciliations(scheduler.run_due().await.unwrap()).len(), 1);
    assert_eq!(reconciliations(scheduler.run_due().await.unwrap()).len(), 0);
    assert_eq!(
        app.storage
            .reconciliation_runs(tenant, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let after = clock.now();
    assert!(app.storage.due_tenant_jobs(after).await.unwrap().is_empty());
    // Moved to its next period (next Monday), not held again.
    let due_by = |at: i64| app.storage.due_tenant_jobs(at);
    assert!(due_by(after + 2 * lease).await.unwrap().is_empty());
    assert_eq!(due_by(after + 8 * DAY_MS).await.unwrap().len(), 1);
}

fn kinds(outcomes: &[JobOutcome]) -> Vec<(String, JobKind)> {
    let mut kinds: Vec<_> = outcomes
        .iter()
        .map(|o| (o.profile.clone(), o.kind))
        .collect();
    kinds.sort_by_key(|(p, k)| (p.clone(), k.as_str()));
    kinds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_jobs_run_once_and_missed_runs_collapse_into_one() {
    let vendor = fake("DCRA1-due", 120).await;
    let ws = Workspace::new("scheduler-due");
    let app = published(&ws, &[("sr", &vendor, "DCRA1-due")], "").await;
    let clock = Arc::new(ManualClock::new(tomorrow_noon()));
    let scheduler = Scheduler::new(
        Arc::new(app.on_clock(clock.clone())),
        SchedulerOptions::default(),
    );

    // A new profile's first runs are due at once.
    let first = syncs(scheduler.run_due().await.unwrap());
    assert_eq!(
        first
            .iter()
            .map(|o| (o.kind, o.result.clone()))
            .map(|(k, r)| (k, matches!(r, JobResult::Succeeded(_))))
            .collect::<Vec<_>>(),
        [(JobKind::Subscriptions, true), (JobKind::Activity, true)],
        "{first:?}"
    );
    let sr = record(&app, "sr").await;
    let runs = scheduled_runs(&app, &sr).await;
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].kind, "subscriptions");
    assert_eq!(runs[0].status, "succeeded");
    assert_eq!(runs[0].items, 120);
    assert_eq!(runs[0].created, 120);
    assert_eq!(runs[0].pages, 2);
    assert_eq!(runs[1].kind, "activity");
    assert!(runs[1].items > 0, "activity events are counted");

    // Nothing is due until the next 02:00 UTC.
    assert!(syncs(scheduler.run_due().await.unwrap()).is_empty());
    let next = next_due(&app, &sr, "subscriptions").await;
    assert!(next > clock.now() && next <= clock.now() + DAY_MS);
    assert_eq!(
        (next / MINUTE_MS) % (24 * 60),
        2 * 60,
        "the default schedule is 02:00 in the configured zone (UTC)"
    );

    // The host was down for three days: each job runs once, not three times.
    clock.advance(Duration::from_millis((3 * DAY_MS + 60 * MINUTE_MS) as u64));
    let caught_up = syncs(scheduler.run_due().await.unwrap());
    assert_eq!(caught_up.len(), 2, "{caught_up:?}");
    assert_eq!(scheduled_runs(&app, &sr).await.len(), 4);
    assert!(next_due(&app, &sr, "subscriptions").await > clock.now());
    assert!(syncs(scheduler.run_due().await.unwrap()).is_empty());
    // The second subscriptions run saw the same accounts again.
    let runs = scheduled_runs(&app, &sr).await;
    assert_eq!((runs[2].created, runs[2].updated), (0, 120));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_never_runs_twice_at_once() {
    let vendor = fake("DCRA1-busy", 50).await;
    let ws = Workspace::new("scheduler-busy");
    let app = published(&ws, &[("sr", &vendor, "DCRA1-busy")], "").await;
    let sr = record(&app, "sr").await;
    let clock = Arc::new(ManualClock::new(tomorrow_noon()));
    let scheduler = Scheduler::new(
        Arc::new(app.on_clock(clock.clone())),
        SchedulerOptions::default(),
    );

    // Another host process holds the profile's lease.
    let now = clock.now();
    assert!(
        app.storage
            .try_lease(sr.id, "other-host:42", now, now + 15 * MINUTE_MS)
            .await
            .unwrap()
    );
    let due_at = next_due(&app, &sr, "subscriptions").await;
    assert!(due_at <= now);
    let before = vendor.server.requests().len();
    // The holder ends the job, or its lease runs out: nothing runs here.
    assert!(syncs(scheduler.run_due().await.unwrap()).is_empty());
    assert_eq!(
        vendor.server.requests().len(),
        before,
        "the vendor saw nothing"
    );
    assert!(scheduled_runs(&app, &sr).await.is_empty());
    // Still due from when it was due, so it runs once the lease has run
    // out (not at the next scheduled time).
    assert_eq!(next_due(&app, &sr, "subscriptions").await, due_at);
    clock.advance(Duration::from_secs(16 * 60));
    let ran = syncs(scheduler.run_due().await.unwrap());
    assert!(
        ran.iter()
            .all(|o| matches!(o.result, JobResult::Succeeded(_))),
        "{ran:?}"
    );
    assert_eq!(
        app.storage.lease_holder(sr.id).await.unwrap(),
        None,
        "released"
    );

    // Two ticks at once in this process start the profile once.
    clock.advance(Duration::from_millis(DAY_MS as u64));
    let first_pages_before = users_requests(&vendor)
        .iter()
        .filter(|t| !t.contains("pageId"))
        .count();
    let (a, b) = tokio::join!(scheduler.run_due(), scheduler.run_due());
    let mut both = syncs(a.unwrap());
    both.extend(syncs(b.unwrap()));
    assert_eq!(kinds(&both).len(), 2, "{both:?}");
    let first_pages_after = users_requests(&vendor)
        .iter()
        .filter(|t| !t.contains("pageId"))
        .count();
    assert_eq!(
        first_pages_after - first_pages_before,
        1,
        "one listing, not two"
    );
}

/// A scheduler for the host process named `owner`, on its own `app`.
fn host(owner: &str, app: &App, clock: &Arc<ManualClock>) -> Scheduler {
    Scheduler::new(
        Arc::new(app.on_clock(clock.clone())),
        SchedulerOptions {
            owner: owner.into(),
            ..SchedulerOptions::default()
        },
    )
}

/// Listings of the first page (a sync starting over, not resuming).
fn first_pages(vendor: &SmartRecruitersFake) -> usize {
    users_requests(vendor)
        .iter()
        .filter(|t| !t.contains("pageId"))
        .count()
}

/// Two host processes on one database (each with its own pool and owner)
/// look at the schedule at once: the due jobs run once, and the host that
/// lost the race neither runs them after the winner nor makes them due
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_run_a_due_job_once() {
    let vendor = fake("DCRA1-two-hosts", 150).await;
    let ws = Workspace::new("scheduler-two-hosts");
    let app = published(&ws, &[("sr", &vendor, "DCRA1-two-hosts")], "").await;
    let sr = record(&app, "sr").await;
    let other = ws.app().await.unwrap();
    let clock = Arc::new(ManualClock::new(tomorrow_noon()));
    let a = host("host-a", &app, &clock);
    let b = host("host-b", &other, &clock);

    let before = first_pages(&vendor);
    let (ran_a, ran_b) = tokio::join!(a.run_due(), b.run_due());
    let mut both = syncs(ran_a.unwrap());
    both.extend(syncs(ran_b.unwrap()));
    let mut succeeded: Vec<JobKind> = both
        .iter()
        .filter(|o| matches!(o.result, JobResult::Succeeded(_)))
        .map(|o| o.kind)
        .collect();
    succeeded.sort();
    assert_eq!(
        succeeded,
        [JobKind::Subscriptions, JobKind::Activity],
        "{both:?}"
    );
    assert!(
        both.iter()
            .all(|o| matches!(o.result, JobResult::Succeeded(_) | JobResult::Skipped(_))),
        "{both:?}"
    );
    assert_eq!(first_pages(&vendor) - before, 1, "one listing, not two");
    assert_eq!(scheduled_runs(&app, &sr).await.len(), 2);

    // Neither host runs them again before their next scheduled time.
    clock.advance(Duration::from_secs(31 * 60));
    let (again_a, again_b) = tokio::join!(a.run_due(), b.run_due());
    assert!(syncs(again_a.unwrap()).is_empty());
    assert!(syncs(again_b.unwrap()).is_empty());
    assert_eq!(scheduled_runs(&app, &sr).await.len(), 2);
    assert!(next_due(&app, &sr, "subscriptions").await > clock.now());
}

/// A host that dies mid-sync (its task dropped: nothing released, nothing
/// recorded) leaves its job due. Another host leaves the profile alone
/// while the dead one's lease lasts, then takes the job over and resumes
/// at the stored cursor: only the uncommitted batch's page is listed
/// again, nothing is stored twice and nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_hosts_job_is_taken_over_when_its_lease_runs_out() {
    let vendor = fake("DCRA1-dead-host", 1_500).await;
    let ws = Workspace::new("scheduler-dead-host");
    let app = published(&ws, &[("sr", &vendor, "DCRA1-dead-host")], "").await;
    let sr = record(&app, "sr").await;
    let clock = Arc::new(ManualClock::new(tomorrow_noon()));
    let due_at = next_due(&app, &sr, "subscriptions").await;

    // Host A lists eleven pages (the first ten, a batch, are committed
    // with their cursor); the twelfth never answers, and A dies.
    let a = Arc::new(host("host-a", &app, &clock));
    vendor.inject(std::iter::repeat_n(Fault::Pass, 11).chain([Fault::Hang]));
    let before = vendor.server.requests().len();
    let dying = tokio::spawn({
        let a = a.clone();
        async move { a.run_due().await }
    });
    vendor.server.wait_for_requests(before + 12).await;
    dying.abort();
    assert!(dying.await.unwrap_err().is_cancelled());
    assert_eq!(app.storage.subscriptions(sr.id).await.unwrap().len(), 1_000);
    let (holder, _) = app.storage.lease_holder(sr.id).await.unwrap().unwrap();
    assert_eq!(holder, "host-a", "a dead host releases nothing");
    assert_eq!(
        next_due(&app, &sr, "subscriptions").await,
        due_at,
        "the job is still due"
    );

    // Host B leaves it alone while A's lease lasts...
    let other = ws.app().await.unwrap();
    let b = host("host-b", &other, &clock);
    let listed_before = users_requests(&vendor).len();
    assert!(syncs(b.run_due().await.unwrap()).is_empty());
    assert_eq!(users_requests(&vendor).len(), listed_before);

    // ...and once it has run out, takes the job over where A stopped.
    clock.advance(app.config.scheduler.lease + Duration::from_secs(1));
    let outcomes = syncs(b.run_due().await.unwrap());
    assert_eq!(
        outcomes.iter().map(|o| o.kind).collect::<Vec<_>>(),
        [JobKind::Subscriptions, JobKind::Activity],
        "{outcomes:?}"
    );
    match &outcomes[0].result {
        JobResult::Succeeded(detail) => assert!(detail.contains("resumed"), "{detail}"),
        other => panic!("expected success, got {other:?}"),
    }
    let resumed = users_requests(&vendor)[listed_before..].to_vec();
    assert_eq!(
        resumed.len(),
        5,
        "pages 11 to 15, from the committed cursor: {resumed:?}"
    );
    assert!(
        resumed.iter().all(|t| t.contains("pageId")),
        "the new host did not start over: {resumed:?}"
    );
    assert_eq!(app.storage.subscriptions(sr.id).await.unwrap().len(), 1_500);
    assert!(next_due(&app, &sr, "subscriptions").await > clock.now());
    assert_eq!(app.storage.lease_holder(sr.id).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_is_retried_later_and_resumes_at_its_cursor() {
    let vendor = fake("DCRA1-fail", 350).await;
    let ws = Workspace::new("scheduler-fail");
    let app = published(&ws, &[("sr", &vendor, "DCRA1-fail")], "").await;
    let sr = record(&app, "sr").await;
    let clock = Arc::new(ManualClock::new(tomorrow_noon()));
    let scheduler = Scheduler::new(
        Arc::new(app.on_clock(clock.clone())),
        SchedulerOptions::default(),
    );

    // Two pages arrive, then the vendor rejects the third request (a 4xx:
    // never retried within the run).
    vendor.inject([Fault::Pass, Fault::Pass, Fault::Status(404)]);
    let outcomes = syncs(scheduler.run_due().await.unwrap());
    match &outcomes[0].result {
        JobResult::Failed { kind, message } => {
            assert_eq!(kind, "not-found");
            assert!(message.contains("list-users"), "{message}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(
        matches!(outcomes[1].result, JobResult::Succeeded(_)),
        "activity still ran"
    );
    let failed = app
        .storage
        .tenant_job_runs(sr.tenant, Some(sr.id), true, 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].status, "failed");
    assert_eq!(failed[0].error_kind.as_deref(), Some("not-found"));
    assert_eq!(failed[0].pages, 2);
    assert_eq!(app.storage.subscriptions(sr.id).await.unwrap().len(), 200);

    // Due again in 30 minutes; the retry resumes at page three.
    assert_eq!(
        next_due(&app, &sr, "subscriptions").await,
        clock.now() + 30 * MINUTE_MS
    );
    let listed_before = users_requests(&vendor).len();
    clock.advance(Duration::from_secs(30 * 60));
    let retried = syncs(scheduler.run_due().await.unwrap());
    assert_eq!(retried.len(), 1, "only the failed job is due: {retried:?}");
    match &retried[0].result {
        JobResult::Succeeded(detail) => assert!(detail.contains("resumed"), "{detail}"),
        other => panic!("expected success, got {other:?}"),
    }
    let resumed: Vec<String> = users_requests(&vendor)[listed_before..].to_vec();
    assert!(
        resumed.iter().all(|t| t.contains("pageId")),
        "the retry did not start over: {resumed:?}"
    );
    assert_eq!(app.storage.subscriptions(sr.id).await.unwrap().len(), 350);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_mid_run_stops_cleanly_and_the_next_start_resumes() {
    let vendor = fake("DCRA1-stop", 500).await;
    let ws = Workspace::new("scheduler-stop");
    let app = published(&ws, &[("sr", &vendor, "DCRA1-stop")], "").await;
    let sr = record(&app, "sr").await;
    let clock = Arc::new(ManualClock::new(tomorrow_noon()));
    let scheduler = Arc::new(Scheduler::new(
        Arc::new(app.on_clock(clock.clone())),
        SchedulerOptions::default(),
    ));

    // The third page never comes back; shut down while it hangs.
    vendor.inject([Fault::Pass, Fault::Pass, Fault::Hang]);
    let before = vendor.server.requests().len();
    let running = tokio::spawn({
        let scheduler = scheduler.clone();
        async move { scheduler.run_due().await }
    });
    vendor.server.wait_for_requests(before + 3).await;
    scheduler.shutdown_token().cancel();
    let outcomes = running.await.unwrap().unwrap();
    assert_eq!(outcomes.len(), 1, "activity did not start: {outcomes:?}");
    assert_eq!(outcomes[0].result, JobResult::Interrupted);
    let runs = scheduled_runs(&app, &sr).await;
    assert_eq!(runs[0].status, "interrupted");
    assert_eq!(runs[0].pages, 2);
    assert_eq!(
        app.storage.subscriptions(sr.id).await.unwrap().len(),
        200,
        "whole pages only"
    );
    assert_eq!(app.storage.lease_holder(sr.id).await.unwrap(), None);
    // Both jobs are due at the next start.
    assert!(next_due(&app, &sr, "subscriptions").await <= clock.now());
    assert!(next_due(&app, &sr, "activity").await <= clock.now());

    let listed_before = users_requests(&vendor).len();
    let restarted = Scheduler::new(
        Arc::new(app.on_clock(clock.clone())),
        SchedulerOptions::default(),
    );
    let outcomes = syncs(restarted.run_due().await.unwrap());
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    match &outcomes[0].result {
        JobResult::Succeeded(detail) => assert!(detail.contains("resumed"), "{detail}"),
        other => panic!("expected success, got {other:?}"),
    }
    assert!(
        users_requests(&vendor)[listed_before..]
            .iter()
            .all(|t| t.contains("pageId"))
    );
    assert_eq!(app.storage.subscriptions(sr.id).await.unwrap().len(), 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_vendor_does_not_hold_up_another_profile() {
    let slow = fake("DCRA1-slow", 30).await;
    let quick = fake("DCRA1-quick", 30).await;
    let ws = Workspace::new("scheduler-slow");
    let app = published(
        &ws,
        &[
            ("slow", &slow, "DCRA1-slow"),
            ("quick", &quick, "DCRA1-quick"),
        ],
        "",
    )
    .await;
    slow.inject([Fault::Hang]);
    let slow_before = slow.server.requests().len();
    let clock = Arc::new(ManualClock::new(tomorrow_noon()));
    let scheduler = Arc::new(Scheduler::new(
        Arc::new(app.on_clock(clock)),
        SchedulerOptions::default(),
    ));
    let (serving, mut reports) = serve_reporting(&scheduler);
    // Quick's two jobs finish while slow's first request hangs.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let report = reports.recv().await.unwrap();
        if report.kind != JobKind::Candidates {
            seen.push(report);
        }
    }
    assert!(
        seen.iter()
            .all(|o| o.profile == "quick" && matches!(o.result, JobResult::Succeeded(_))),
        "{seen:?}"
    );
    slow.server.wait_for_requests(slow_before + 1).await;
    scheduler.shutdown_token().cancel();
    serving.await.unwrap().unwrap();
    let mut last = reports.recv().await.unwrap();
    while last.profile == "quick" {
        last = reports.recv().await.unwrap();
    }
    assert_eq!(
        (last.profile.as_str(), last.result),
        ("slow", JobResult::Interrupted)
    );
}

fn vendor_error(error: ConnectorError) -> CallError {
    CallError {
        connector: "test@0.1.0".into(),
        call: "list-users",
        kind: CallErrorKind::Vendor(error),
        stderr: String::new(),
        denials: Vec::new(),
    }
}

#[test]
fn retries_back_off_with_jitter_honour_vendor_waits_and_skip_4xx() {
    let policy = RetryPolicy::default();
    let outage = vendor_error(ConnectorError::Unavailable("503".into()));
    let wait = |attempt, jitter| match policy.decide(&outage, attempt, jitter) {
        RetryDecision::Retry(wait) => wait,
        RetryDecision::GiveUp => panic!("attempt {attempt} gave up"),
    };
    // base 500 ms, doubling, spread over [w/2, w).
    assert_eq!(wait(1, 0.0), Duration::from_millis(250));
    assert!(wait(1, 0.999) < Duration::from_millis(500));
    assert_eq!(wait(3, 0.0), Duration::from_millis(1000));
    assert!(wait(3, 0.5) > wait(3, 0.0), "jitter spreads retries");
    assert_eq!(
        RetryPolicy {
            max_attempts: 30,
            ..policy
        }
        .decide(&outage, 25, 0.999),
        RetryDecision::Retry(Duration::from_secs(60).mul_f64(0.5 + 0.999 / 2.0)),
        "the cap bounds the wait"
    );
    assert_eq!(
        policy.decide(&outage, policy.max_attempts, 0.0),
        RetryDecision::GiveUp
    );

    // A vendor's own wait is honoured exactly, up to the limit.
    let hinted = vendor_error(ConnectorError::RateLimited(Some(1_500)));
    assert_eq!(
        policy.decide(&hinted, 1, 0.7),
        RetryDecision::Retry(Duration::from_millis(1_500))
    );
    let too_long = vendor_error(ConnectorError::RateLimited(Some(3_600_000)));
    assert_eq!(policy.decide(&too_long, 1, 0.0), RetryDecision::GiveUp);
    let unhinted = vendor_error(ConnectorError::RateLimited(None));
    assert_eq!(
        policy.decide(&unhinted, 2, 0.0),
        RetryDecision::Retry(Duration::from_millis(500))
    );

    // 4xx-class and sandbox failures are never retried.
    for error in [
        ConnectorError::Unauthorized("401".into()),
        ConnectorError::Forbidden("403".into()),
        ConnectorError::NotFound("404".into()),
        ConnectorError::InvalidResponse("garbage".into()),
    ] {
        assert_eq!(
            policy.decide(&vendor_error(error), 1, 0.0),
            RetryDecision::GiveUp
        );
    }
    let cpu = CallError {
        kind: CallErrorKind::CpuBudget(Duration::from_secs(1)),
        ..vendor_error(ConnectorError::Unavailable(String::new()))
    };
    assert_eq!(policy.decide(&cpu, 1, 0.0), RetryDecision::GiveUp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_bucket_keeps_a_sync_under_the_vendors_limit() {
    // The fake allows 5 requests per second per endpoint; the connection's
    // bucket allows 4, so the vendor never has to refuse one.
    let vendor = SmartRecruitersFake::start(SrTenant {
        rate_limit: Some(5),
        ..seed_tenant("DCRA1-bucket", 600, now_ms())
    })
    .await;
    let ws = Workspace::new("scheduler-bucket");
    let app = published(
        &ws,
        &[("sr", &vendor, "DCRA1-bucket")],
        "rate_limit = \"4/s\"\n",
    )
    .await;
    let clock = Arc::new(ManualClock::new(tomorrow_noon()));
    let outcomes = Scheduler::new(Arc::new(app.on_clock(clock)), SchedulerOptions::default())
        .run_due()
        .await
        .unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o.result, JobResult::Succeeded(_))),
        "{outcomes:?}"
    );
    assert!(users_requests(&vendor).len() >= 6);
    assert_eq!(vendor.rate_limited(), 0, "no request was refused");
}

/// Runs `scheduler.serve` on a task; each outcome arrives on the channel
/// as it is reported.
fn serve_reporting(
    scheduler: &Arc<Scheduler>,
) -> (
    tokio::task::JoinHandle<anyhow::Result<()>>,
    tokio::sync::mpsc::UnboundedReceiver<JobOutcome>,
) {
    let (sender, reports) = tokio::sync::mpsc::unbounded_channel();
    let scheduler = scheduler.clone();
    let serving = tokio::spawn(async move {
        scheduler
            .serve(&move |outcome: &JobOutcome| {
                let _ = sender.send(outcome.clone());
            })
            .await
    });
    (serving, reports)
}

/// A vendor allowing 5 requests per second, and profiles `one` and `two`
/// published on one credential of it, each limited to 4/s.
async fn two_profiles_on_one_credential(token: &str) -> (SmartRecruitersFake, Workspace, Arc<App>) {
    let vendor = SmartRecruitersFake::start(SrTenant {
        rate_limit: Some(5),
        ..seed_tenant(token, 300, now_ms())
    })
    .await;
    let ws = Workspace::new(&format!("scheduler-bucket-{token}"));
    ws.secret("shared.key", token);
    let app = applied(
        &ws,
        "",
        &[
            ("one", &vendor, "shared.key"),
            ("two", &vendor, "shared.key"),
        ],
        "rate_limit = \"4/s\"\n",
    )
    .await;
    let p = profiles(&app).await;
    p.publish("one").await.unwrap();
    p.publish("two").await.unwrap();
    (vendor, ws, app)
}

/// Two host processes on one database sync two profiles on one credential
/// at the same time (each host one profile, each at 4/s): the limit's slots
/// live in the database, so together they send 4/s and the vendor, which
/// allows 5/s, refuses none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_sharing_a_credential_share_its_rate_limit() {
    let (vendor, ws, app) = two_profiles_on_one_credential("DCRA1-two-host-bucket").await;
    let one = record(&app, "one").await;
    let two = record(&app, "two").await;
    let clock = Arc::new(ManualClock::new(tomorrow_noon()));
    let other = ws.app().await.unwrap();
    let a = Arc::new(host("host-a", &app, &clock));
    let b = host("host-b", &other, &clock);

    // Host A starts profile one while profile two is held elsewhere; once A
    // is at work, two is let go and host B (which leaves one to A) runs it.
    let now = clock.now();
    assert!(
        app.storage
            .try_lease(two.id, "elsewhere", now, now + 15 * MINUTE_MS)
            .await
            .unwrap()
    );
    let before = vendor.server.requests().len();
    let listed_before = users_requests(&vendor).len();
    let on_a = tokio::spawn({
        let a = a.clone();
        async move { a.run_due().await }
    });
    vendor.server.wait_for_requests(before + 1).await;
    app.storage
        .release_lease(two.id, "elsewhere")
        .await
        .unwrap();
    let on_b = syncs(b.run_due().await.unwrap());
    let on_a = syncs(on_a.await.unwrap().unwrap());

    for (outcomes, profile) in [(&on_a, &one), (&on_b, &two)] {
        assert_eq!(outcomes.len(), 2, "{outcomes:?}");
        assert!(
            outcomes
                .iter()
                .all(|o| o.profile == profile.name && matches!(o.result, JobResult::Succeeded(_))),
            "{outcomes:?}"
        );
    }
    assert!(users_requests(&vendor).len() - listed_before >= 6);
    assert_eq!(vendor.rate_limited(), 0, "no request was refused");
}

/// Writes a configuration with `head` (top-level tables) and one
/// SmartRecruiters connection and profile per `(name, vendor, key file)`,
/// each connection followed by `connection_extra`; applies and validates
/// every profile, publishes none.
async fn applied(
    ws: &Workspace,
    head: &str,
    connections: &[(&str, &SmartRecruitersFake, &str)],
    connection_extra: &str,
) -> Arc<App> {
    let mut config = format!("{head}\n[tenants.acme]\n\n");
    for (name, vendor, key_file) in connections {
        config.push_str(&smartrecruiters_connection(
            name,
            "acme",
            &vendor.url(),
            key_file,
        ));
        config.push_str(connection_extra);
        config.push_str(&format!(
            "\n[profiles.{name}]\ntenant = \"acme\"\nconnection = \"{name}\"\n\n"
        ));
    }
    ws.write_config(&config);
    let app = ws.app().await.unwrap();
    let p = profiles(&app).await;
    p.apply().await.unwrap();
    for (name, ..) in connections {
        assert!(p.validate(name).await.unwrap().passed);
    }
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrent_jobs_holds_a_profile_until_a_slot_frees() {
    let slow = fake("DCRA1-slot-slow", 30).await;
    let quick = fake("DCRA1-slot-quick", 30).await;
    let ws = Workspace::new("scheduler-slots");
    ws.secret("slow.key", "DCRA1-slot-slow");
    ws.secret("quick.key", "DCRA1-slot-quick");
    let app = applied(
        &ws,
        "[scheduler]\nmax_concurrent_jobs = 1\n\n[limits]\nread_timeout = \"1s\"\n",
        &[("slow", &slow, "slow.key"), ("quick", &quick, "quick.key")],
        "",
    )
    .await;
    let p = profiles(&app).await;
    p.publish("slow").await.unwrap();
    slow.inject([Fault::Hang]);
    let slow_before = slow.server.requests().len();
    let clock = Arc::new(ManualClock::new(tomorrow_noon()));
    let scheduler = Arc::new(Scheduler::new(
        Arc::new(app.on_clock(clock.clone())),
        SchedulerOptions::default(),
    ));
    let (serving, mut reports) = serve_reporting(&scheduler);
    // Slow holds the only slot, its first request hanging (until the 1 s
    // read timeout; the retry then succeeds). Quick becomes due now, and
    // the loop, woken by the clock, starts it: it must wait for the slot.
    slow.server.wait_for_requests(slow_before + 1).await;
    let quick_before = quick.server.requests().len();
    p.publish("quick").await.unwrap();
    clock.advance(Duration::from_secs(61));
    let mut order = Vec::new();
    while order
        .iter()
        .filter(|o: &&JobOutcome| o.profile == "quick")
        .count()
        < 2
    {
        let outcome = reports.recv().await.unwrap();
        if !matches!(outcome.kind, JobKind::Candidates | JobKind::Reconcile) {
            order.push(outcome);
        }
    }
    scheduler.shutdown_token().cancel();
    serving.await.unwrap().unwrap();
    let profiles_in_order: Vec<&str> = order.iter().map(|o| o.profile.as_str()).collect();
    assert_eq!(
        profiles_in_order,
        ["slow", "slow", "quick", "quick"],
        "quick ran while slow held the only slot: {order:?}"
    );
    assert!(
        order
            .iter()
            .all(|o| matches!(o.result, JobResult::Succeeded(_))),
        "{order:?}"
    );
    assert!(quick.server.requests().len() > quick_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_sharing_a_credential_share_its_rate_limit() {
    // The fake allows 5 requests per second per endpoint. Two profiles on
    // one credential at 4/s each would send 8/s together; sharing one
    // bucket they send 4/s, and the vendor never refuses one.
    let (vendor, _ws, app) = two_profiles_on_one_credential("DCRA1-shared").await;
    let before = users_requests(&vendor).len();
    let clock = Arc::new(ManualClock::new(tomorrow_noon()));
    let outcomes = Scheduler::new(Arc::new(app.on_clock(clock)), SchedulerOptions::default())
        .run_due()
        .await
        .unwrap();
    let synced = syncs(outcomes);
    assert_eq!(synced.len(), 4, "{synced:?}");
    assert!(
        synced
            .iter()
            .all(|o| matches!(o.result, JobResult::Succeeded(_))),
        "{synced:?}"
    );
    // Both listed every page (300 users, 100 a page), at once.
    assert!(users_requests(&vendor).len() - before >= 6);
    assert_eq!(vendor.rate_limited(), 0, "no request was refused");
}
