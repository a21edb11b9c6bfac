//! Storage under a sync: resuming after a crash between pages, no duplicate
//! rows, accounts that disappear from the vendor, and the activity
//! watermark.

use seatwarden_app::sync::{ActivityOutcome, ProfileSync, Progress, SyncOptions, SyncReport};

use seatwarden_sandbox::Connection;
use seatwarden_sandbox::Connector;
use seatwarden_sandbox::Credential;
use seatwarden_sandbox::Limits;
use seatwarden_sandbox::egress::PrivateTargets;
use seatwarden_store::{Database, Engine, ProfileId, Storage};
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::fixtures::{acme_profile, fresh_store, load, runtime};
use seatwarden_tests::smartrecruiters_fake::{
    DAY_MS, Fault, SmartRecruitersFake, SrTenant, seed_tenant, seeded_activity,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const TOKEN: &str = "DCRA1-storage-tests";

struct Rig {
    fake: SmartRecruitersFake,
    connector: Connector,
    conn: Connection,
    storage: Storage,
    profile: ProfileId,
    database: Database,
}

async fn rig(name: &str, users: usize, engine: Engine) -> Rig {
    rig_on(users, fresh_store(name, engine).await).await
}

async fn rig_on(users: usize, database: Database) -> Rig {
    let fake = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_tenant(TOKEN, users, now_ms())
    })
    .await;
    let runtime = runtime(Limits::default());
    let connector = load(&runtime, "smartrecruiters").await;
    let conn = Connection::builder()
        .base_url(fake.url())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(TOKEN))
        .build(connector.descriptor())
        .unwrap();
    let storage = Storage::open_database(&database).await.unwrap();
    let (_, profile) = acme_profile(&storage, "smartrecruiters", connector.digest()).await;
    Rig {
        fake,
        connector,
        conn,
        storage,
        profile,
        database,
    }
}

impl Rig {
    fn sync(&self, options: SyncOptions) -> ProfileSync<'_> {
        ProfileSync {
            clock: &seatwarden_app::clock::SystemClock,
            storage: &self.storage,
            connector: &self.connector,
            connection: &self.conn,
            profile: self.profile,
            options,
        }
    }

    /// The list-users requests (path and query) the fake received after
    /// its first `before` requests.
    fn user_requests_since(&self, before: usize) -> Vec<String> {
        self.fake.server.requests()[before..]
            .iter()
            .filter(|r| r.target.starts_with("/user-api"))
            .map(|r| r.target.clone())
            .collect()
    }

    /// "A new process": opens the same database again and syncs with it.
    async fn sync_in_a_new_process(&self) -> Resumed {
        let requests_before = self.fake.server.requests().len();
        let reopened = Storage::open_database(&self.database).await.unwrap();
        let sync = ProfileSync {
            clock: &seatwarden_app::clock::SystemClock,
            storage: &reopened,
            connector: &self.connector,
            connection: &self.conn,
            profile: self.profile,
            options: once(),
        };
        let report = sync.run(&|_| {}).await.unwrap();
        let rows = reopened.subscriptions(self.profile).await.unwrap();
        let ids: std::collections::HashSet<_> = rows.iter().map(|r| &r.account_id).collect();
        let runs = reopened.job_runs(self.profile).await.unwrap();
        let attempts: Vec<_> = runs.iter().filter(|r| r.kind == "subscriptions").collect();
        // Newest first: each attempt names the one it resumed.
        for pair in attempts.windows(2) {
            assert_eq!(pair[0].resumes, Some(pair[1].id), "{attempts:?}");
        }
        Resumed {
            report,
            stored: (rows.len(), ids.len()),
            user_requests: self.user_requests_since(requests_before),
            users_run: (
                attempts[0].status.clone(),
                attempts.iter().map(|r| r.pages).sum(),
                attempts.iter().map(|r| r.items).sum(),
            ),
            attempts: attempts
                .iter()
                .map(|r| (r.status.clone(), r.pages, r.items))
                .collect(),
        }
    }
}

/// What a sync in a new process did.
struct Resumed {
    report: SyncReport,
    /// Rows stored for the profile, and distinct account ids among them.
    stored: (usize, usize),
    /// Its list-users requests (path and query).
    user_requests: Vec<String>,
    /// The users run's status, and its pages and items over all attempts.
    users_run: (String, i64, i64),
    /// Each attempt's status, pages and items, newest first.
    attempts: Vec<(String, i64, i64)>,
}

fn once() -> SyncOptions {
    SyncOptions {
        retry: seatwarden_app::sync::RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        },
        ..SyncOptions::default()
    }
}

on_both_engines! {
async fn a_sync_killed_between_pages_resumes_at_the_next_page_without_duplicates(engine: Engine) {
    let rig = rig("crash", 1050, engine).await;
    // Pages of 100 stored three at a time. "Crash": the sync future is
    // dropped as soon as the first three pages are stored, wherever it is
    // then (typically inside the fourth list-users call).
    let pages = Arc::new(AtomicUsize::new(0));
    let stored = tokio::sync::Notify::new();
    let counter = pages.clone();
    let progress = |p: Progress| {
        if matches!(p, Progress::Page { .. }) && counter.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
            stored.notify_one();
        }
    };
    let sync = rig.sync(SyncOptions {
        items_per_commit: 250,
        ..once()
    });
    tokio::select! {
        _ = sync.run(&progress) => panic!("the sync should have been cut off"),
        _ = stored.notified() => {}
    }
    assert_eq!(
        rig.storage.subscriptions(rig.profile).await.unwrap().len(),
        300,
        "three pages survived the crash"
    );
    let resumed = rig.sync_in_a_new_process().await;
    assert!(resumed.report.resumed);
    assert_eq!(resumed.report.accounts, 1050);
    assert_eq!(resumed.report.pages, 11);
    assert_eq!(resumed.stored, (1050, 1050), "all, no duplicates");
    let user_requests = &resumed.user_requests;
    assert!(
        user_requests[0].contains("pageId="),
        "resumed at the stored cursor, not page 1: {}",
        user_requests[0]
    );
    assert_eq!(user_requests.len(), 8, "pages 4 to 11 only");
    assert_eq!(resumed.users_run, ("succeeded".into(), 11, 1050));
    // The killed attempt keeps its own row, shown as interrupted (its
    // process never said so), and the resuming attempt counts only its own
    // pages.
    assert_eq!(
        resumed.attempts,
        [("succeeded".into(), 8, 750), ("interrupted".into(), 3, 300)]
    );
}
}

on_both_engines! {
async fn a_crash_inside_a_batch_loses_only_its_pages_and_the_next_sync_fetches_them_again(engine: Engine) {
    let rig = rig("crash-in-batch", 1050, engine).await;
    // Pages of 100 stored three at a time: pages 1-3 are committed, 4 and 5
    // wait in memory, and the request for page 6 never gets an answer.
    rig.fake
        .inject(std::iter::repeat_n(Fault::Pass, 5).chain([Fault::Hang]));
    let sync = rig.sync(SyncOptions {
        items_per_commit: 250,
        ..once()
    });
    tokio::select! {
        _ = sync.run(&|_| {}) => panic!("the sync should hang at page 6"),
        _ = rig.fake.server.wait_for_requests(6) => {}
    }
    assert_eq!(
        rig.storage.subscriptions(rig.profile).await.unwrap().len(),
        300,
        "only the committed batch survived"
    );
    let resumed = rig.sync_in_a_new_process().await;
    assert!(resumed.report.resumed);
    assert_eq!(resumed.stored, (1050, 1050), "all, no duplicates");
    assert_eq!(
        resumed.user_requests.len(),
        8,
        "pages 4 and 5 fetched again, then 6 to 11"
    );
    assert_eq!(
        resumed.users_run,
        ("succeeded".into(), 11, 1050),
        "the lost pages are counted once"
    );
}
}

on_both_engines! {
async fn a_failed_page_keeps_the_pages_before_it_and_the_next_sync_resumes_there(engine: Engine) {
    let rig = rig("failed-page", 350, engine).await;
    // Pages 1 and 2 succeed and wait in the batch (1,000 accounts a commit);
    // page 3 fails with a 500 and is not retried.
    rig.fake
        .inject([Fault::Pass, Fault::Pass, Fault::Status(500)]);
    let err = rig.sync(once()).run(&|_| {}).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("the next sync resumes at the page that failed"),
        "{text}"
    );
    assert!(text.contains("vendor unavailable"), "{text}");
    let runs = rig.storage.job_runs(rig.profile).await.unwrap();
    assert_eq!(runs[0].status, "failed");
    assert!(
        runs[0].detail.as_deref().unwrap_or("").contains("HTTP 500"),
        "{:?}",
        runs[0].detail
    );
    assert_eq!(
        rig.storage.subscriptions(rig.profile).await.unwrap().len(),
        200,
        "the pages before the failure were stored"
    );

    let requests_before = rig.fake.server.requests().len();
    let report = rig.sync(once()).run(&|_| {}).await.unwrap();
    assert!(report.resumed);
    assert_eq!(
        rig.storage.subscriptions(rig.profile).await.unwrap().len(),
        350
    );
    let user_requests = rig.user_requests_since(requests_before);
    assert_eq!(user_requests.len(), 2, "pages 3 and 4: {user_requests:?}");
    // The failure stays in the history beside the attempt that resumed it,
    // which is timed from its own start, not from the outage's.
    let runs = rig.storage.job_runs(rig.profile).await.unwrap();
    let runs: Vec<_> = runs.iter().filter(|r| r.kind == "subscriptions").collect();
    let (resuming, failed) = (runs[0], runs[1]);
    assert_eq!(resuming.status, "succeeded");
    assert_eq!(resuming.resumes, Some(failed.id));
    assert_eq!((resuming.pages, resuming.items), (2, 150));
    assert_eq!(failed.status, "failed");
    assert_eq!(failed.error_kind.as_deref(), Some("unavailable"));
    assert!(resuming.started_at >= failed.finished_at.unwrap());
}
}

on_both_engines! {
async fn accounts_that_disappear_are_marked_gone_not_deleted(engine: Engine) {
    let rig = rig("gone", 120, engine).await;
    rig.sync(once()).run(&|_| {}).await.unwrap();
    let removed: Vec<String> = rig.fake.users()[10..15]
        .iter()
        .map(|u| u.id.clone())
        .collect();
    rig.fake
        .edit(|t| t.users.retain(|u| !removed.contains(&u.id)));
    let report = rig.sync(once()).run(&|_| {}).await.unwrap();
    assert_eq!(report.gone, 5);
    let rows = rig.storage.subscriptions(rig.profile).await.unwrap();
    assert_eq!(rows.len(), 120, "gone accounts stay in the database");
    let gone: Vec<_> = rows
        .iter()
        .filter(|r| r.gone_at.is_some())
        .map(|r| r.account_id.clone())
        .collect();
    assert_eq!(gone.len(), 5);
    assert!(gone.iter().all(|id| removed.contains(id)));

    // An account that comes back is present again.
    rig.fake
        .edit(|t| t.users.push(seed_tenant(TOKEN, 120, 0).users[12].clone()));
    let report = rig.sync(once()).run(&|_| {}).await.unwrap();
    assert_eq!(report.gone, 0);
    let back = rig
        .storage
        .find_subscription(rig.profile, &removed[2])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.gone_at, None);
}
}

on_both_engines! {
async fn activity_lands_on_subscriptions_and_the_watermark_moves_forward(engine: Engine) {
    let rig = rig("activity", 60, engine).await;
    let report = rig
        .sync(SyncOptions {
            activity_from: seatwarden_store::ActivityFrom::DaysBack(60),
            ..once()
        })
        .run(&|_| {})
        .await
        .unwrap();
    let ActivityOutcome::Pulled {
        events,
        activity_updates,
        ..
    } = report.activity
    else {
        panic!("{:?}", report.activity)
    };
    assert!(events > 0);
    let rows = rig.storage.subscriptions(rig.profile).await.unwrap();
    let users = rig.fake.users();
    let now = now_ms();
    for (i, user) in users.iter().enumerate() {
        let row = rows.iter().find(|r| r.account_id == user.id).unwrap();
        match seeded_activity(i) {
            "never" | "stale" => assert_eq!(row.last_active_at, None, "user {i}"),
            "daily" | "recent" => {
                assert!(now - row.last_active_at.unwrap() < 16 * DAY_MS, "user {i}");
                assert!(
                    row.last_active_source
                        .as_deref()
                        .unwrap()
                        .starts_with("activity:"),
                    "user {i}"
                );
            }
            _ => assert!(now - row.last_active_at.unwrap() > 34 * DAY_MS, "user {i}"),
        }
    }
    let with_activity = rows.iter().filter(|r| r.last_active_at.is_some()).count();
    assert!(
        activity_updates as usize >= with_activity,
        "{activity_updates} updates for {with_activity} accounts"
    );
    let watermark = rig
        .storage
        .activity_since(rig.profile)
        .await
        .unwrap()
        .unwrap();
    assert!(
        now - watermark < 2 * 3_600_000,
        "the next pull starts near now, not 60 days back"
    );

    let before = rig.fake.server.requests().len();
    rig.sync(once()).run(&|_| {}).await.unwrap();
    let audit = rig.fake.server.requests()[before..]
        .iter()
        .find(|r| r.target.starts_with("/audit-api"))
        .unwrap()
        .target
        .clone();
    let after = audit
        .split("eventDateAfter=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .replace("%3A", ":");
    let after = seatwarden_tests::smartrecruiters_fake::parse_iso(&after).unwrap();
    assert_eq!(
        after + 1,
        watermark,
        "the second pull continues from the stored watermark (eventDateAfter is exclusive)"
    );
}
}

on_both_engines! {
async fn without_the_audit_api_the_sync_records_activity_as_unsupported(engine: Engine) {
    let rig = rig("no-audit", 30, engine).await;
    rig.fake.edit(|t| t.audit_licensed = false);
    let report = rig.sync(once()).run(&|_| {}).await.unwrap();
    match report.activity {
        ActivityOutcome::Unsupported(why) => {
            assert!(why.contains("Audit API answered 403"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(report.accounts, 30);
    let runs = rig.storage.job_runs(rig.profile).await.unwrap();
    let activity = runs.iter().find(|r| r.kind == "activity").unwrap();
    assert_eq!(activity.status, "succeeded");
    assert!(
        activity
            .detail
            .as_deref()
            .unwrap()
            .starts_with("unsupported:")
    );
}
}

on_both_engines! {
async fn the_schema_is_versioned(engine: Engine) {
    let rig = rig("schema", 1, engine).await;
    assert_eq!(rig.storage.schema_version().await.unwrap(), 20);
}
}

on_both_engines! {
/// The rate limits' shared slots: each reservation gets its own slot, one
/// interval after the last, whichever connection to the database asks;
/// after a quiet spell the next leaves at once; and a slot pushed far ahead
/// (a host whose clock runs fast) never makes anyone wait past the bound.
async fn rate_slots_are_reserved_in_turn_and_bounded(engine: Engine) {
    let rig = rig("rate-slots", 1, engine).await;
    let other = Storage::open_database(&rig.database).await.unwrap();
    let (interval, most) = (250_000, 60_000_000);
    let t0 = 1_800_000_000_000_000_i64;
    let mut slots = Vec::new();
    for host in [&rig.storage, &other, &rig.storage, &other] {
        slots.push(
            host.reserve_rate_slot("bucket", interval, t0, most)
                .await
                .unwrap(),
        );
    }
    assert_eq!(slots, [t0, t0 + 250_000, t0 + 500_000, t0 + 750_000]);
    // Another credential is not held up by this one.
    assert_eq!(
        other
            .reserve_rate_slot("other", interval, t0, most)
            .await
            .unwrap(),
        t0
    );
    // A quiet spell: the next request leaves at once.
    let later = t0 + 10_000_000;
    assert_eq!(
        rig.storage
            .reserve_rate_slot("bucket", interval, later, most)
            .await
            .unwrap(),
        later
    );
    // A host an hour ahead reserves; the others wait the bound at most.
    let ahead = later + 3_600_000_000;
    rig.storage
        .reserve_rate_slot("bucket", interval, ahead, most)
        .await
        .unwrap();
    let slot = other
        .reserve_rate_slot("bucket", interval, later + 1, most)
        .await
        .unwrap();
    assert_eq!(slot, later + 1 + most);
}
}

on_both_engines! {
async fn an_account_repeated_within_a_page_is_stored_once_last_copy_wins(engine: Engine) {
    let rig = rig("repeat", 1, engine).await;
    let run = rig
        .storage
        .begin_or_resume(
            rig.profile,
            seatwarden_store::Stream::Users,
            None,
            seatwarden_store::Trigger::Manual,
            1,
        )
        .await
        .unwrap();
    let account = |active: bool, name: &str| seatwarden_domain::account::Account {
        id: "dup".into(),
        principal: "dup@example.com".into(),
        display_name: Some(name.into()),
        active,
        subscriptions: vec!["seat".into()],
        created_at: None,
        last_active_at: None,
        attributes: vec![],
    };
    let page = vec![account(true, "first"), account(false, "second")];
    rig.storage
        .upsert_accounts_page(rig.profile, run.run_id, &page, None, 1)
        .await
        .unwrap();
    let rows = rig.storage.subscriptions(rig.profile).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].display_name.as_deref(), rows[0].active),
        (Some("second"), false)
    );
}
}

on_both_engines! {
async fn a_shrunken_listing_is_held_until_a_later_run_agrees_or_the_operator_confirms(engine: Engine) {
    let rig = rig("held-listing", 100, engine).await;
    rig.sync(once()).run(&|_| {}).await.unwrap();
    let everyone = rig.fake.users();

    // A 200 answer with half the users: nothing is marked gone.
    rig.fake.edit(|t| t.users.truncate(50));
    let err = rig.sync(once()).run(&|_| {}).await.unwrap_err();
    let held = err
        .downcast_ref::<seatwarden_store::HeldListing>()
        .unwrap_or_else(|| panic!("{err:#}"));
    assert_eq!((held.missing, held.live, held.max_percent), (50, 100, 10));
    let gone = |rows: &[seatwarden_store::StoredSubscription]| {
        rows.iter().filter(|r| r.gone_at.is_some()).count()
    };
    assert_eq!(
        gone(&rig.storage.subscriptions(rig.profile).await.unwrap()),
        0
    );
    let runs = rig.storage.job_runs(rig.profile).await.unwrap();
    let suspect = runs
        .iter()
        .find(|r| r.error_kind.as_deref() == Some("suspect-listing"))
        .expect("the held run is recorded");
    assert_eq!(suspect.status, "failed");
    assert!(
        suspect
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("left out 50 of 100 live accounts"),
        "{suspect:?}"
    );

    // The vendor recovers: the next run lists everyone, nothing was lost.
    rig.fake.edit(|t| t.users = everyone.clone());
    let report = rig.sync(once()).run(&|_| {}).await.unwrap();
    assert_eq!(report.gone, 0);

    // A real departure: held once, then confirmed by the next run that
    // misses the very same accounts.
    rig.fake.edit(|t| t.users.truncate(70));
    assert!(rig.sync(once()).run(&|_| {}).await.is_err());
    let report = rig.sync(once()).run(&|_| {}).await.unwrap();
    assert_eq!(report.gone, 30);

    // Or by the operator, for no more than the held run would have marked:
    // held with 30 missing, confirmed when the vendor lists 5 of them again.
    rig.fake.edit(|t| t.users.truncate(40));
    assert!(rig.sync(once()).run(&|_| {}).await.is_err());
    let accept = || SyncOptions {
        accept_gone: true,
        ..once()
    };
    rig.fake.edit(|t| t.users = everyone[..45].to_vec());
    let report = rig.sync(accept()).run(&|_| {}).await.unwrap();
    assert_eq!(report.gone, 25);

    // A listing padded with invented accounts does not dilute the share:
    // 40 left of 45, plus 400 made-up ones, is still held.
    rig.fake.edit(|t| {
        t.users.truncate(5);
        for i in 0..400 {
            let mut fake = everyone[0].clone();
            fake.id = format!("invented-{i}");
            fake.email = format!("invented{i}@example.com");
            t.users.push(fake);
        }
    });
    let err = rig.sync(once()).run(&|_| {}).await.unwrap_err();
    let held = err
        .downcast_ref::<seatwarden_store::HeldListing>()
        .unwrap_or_else(|| panic!("{err:#}"));
    assert_eq!((held.missing, held.live), (40, 45));
}
}

on_both_engines! {
/// A 5xx in the middle of a listing is retried (after a backoff) at the
/// same page, and the run ends as one successful attempt with every
/// account once: the outage costs a request, not the run.
async fn a_server_error_mid_listing_is_retried_end_to_end(engine: Engine) {
    let rig = rig("retried-5xx", 350, engine).await;
    rig.fake
        .inject([Fault::Pass, Fault::Status(503), Fault::Status(502)]);
    let report = rig
        .sync(SyncOptions {
            retry: seatwarden_app::sync::RetryPolicy {
                base: std::time::Duration::from_millis(10),
                ..Default::default()
            },
            ..SyncOptions::default()
        })
        .run(&|_| {})
        .await
        .unwrap();
    assert_eq!((report.accounts, report.pages), (350, 4));
    let pages = rig.user_requests_since(0);
    assert_eq!(pages.len(), 6, "4 pages and 2 retries of page 2: {pages:?}");
    assert_eq!(pages[1], pages[2], "the retry asks for the same page");
    assert_eq!(pages[2], pages[3]);
    let runs = rig.storage.job_runs(rig.profile).await.unwrap();
    let users: Vec<_> = runs.iter().filter(|r| r.kind == "subscriptions").collect();
    assert_eq!(users.len(), 1, "one attempt: {users:?}");
    assert_eq!(
        (users[0].status.as_str(), users[0].pages, users[0].items),
        ("succeeded", 4, 350)
    );
    assert_eq!(
        rig.storage.subscriptions(rig.profile).await.unwrap().len(),
        350
    );
}
}

/// A PostgreSQL server of the test's own (the restart tests stop and start
/// it) and a rig of 1050 users storing into a fresh database on it.
async fn restart_rig(name: &str) -> (seatwarden_tests::postgres::Cluster, Rig) {
    let cluster = seatwarden_tests::postgres::Cluster::create(
        &seatwarden_tests::postgres::clusters_dir().join(format!("{name}-{}", std::process::id())),
    );
    let url = cluster.new_database();
    let rig = rig_on(
        1050,
        Database::Postgres(seatwarden_domain::database::PostgresUrl::parse(&url).unwrap()),
    )
    .await;
    (cluster, rig)
}

/// PostgreSQL going down in the middle of a sync for longer than the
/// sync retries a batch (a server of the test's own, stopped with a fast
/// shutdown as an operator's restart does; one attempt here): the pages
/// stored before stay, the sync fails with the store's typed "busy" error
/// instead of a panic or a half-written batch (after the pool has tried
/// to reconnect for its 30 seconds), and once the server is back the next
/// sync resumes at the stored cursor and stores every account exactly
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_restarting_mid_sync_loses_nothing_and_the_next_sync_resumes() {
    let (cluster, rig) = restart_rig("restart").await;
    let pages = AtomicUsize::new(0);
    let progress = |p: Progress| {
        if matches!(p, Progress::Page { .. }) && pages.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
            cluster.stop();
        }
    };
    let sync = rig.sync(SyncOptions {
        items_per_commit: 250,
        store_retry: seatwarden_app::sync::RetryPolicy {
            max_attempts: 1,
            ..seatwarden_app::sync::RetryPolicy::store_default()
        },
        ..once()
    });
    let err = sync.run(&progress).await.unwrap_err();
    assert!(
        err.chain().any(|cause| matches!(
            cause.downcast_ref::<seatwarden_store::StoreError>(),
            Some(seatwarden_store::StoreError::Busy(_))
        )),
        "a typed, retryable error: {err:#}"
    );

    cluster.start();
    assert_eq!(
        rig.storage.subscriptions(rig.profile).await.unwrap().len(),
        300,
        "the three pages stored before the restart survived it"
    );
    let resumed = rig.sync_in_a_new_process().await;
    assert!(resumed.report.resumed);
    assert_eq!(resumed.stored, (1050, 1050), "all, no duplicates");
    assert!(
        resumed.user_requests[0].contains("pageId="),
        "resumed at the stored cursor, not page 1: {}",
        resumed.user_requests[0]
    );
    assert_eq!(resumed.user_requests.len(), 8, "pages 4 to 11 only");
    assert_eq!(resumed.users_run.0, "succeeded");
}

/// PostgreSQL restarting in the middle of a sync and back before the
/// sync's batch retries run out: the batch the outage refused is stored on
/// a later attempt from what the sync holds (no page fetched twice), and
/// the same sync finishes with every account stored exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_the_restarting_database_refused_is_retried_and_the_sync_finishes() {
    let (cluster, rig) = restart_rig("retry").await;
    let pages = AtomicUsize::new(0);
    let retries = std::sync::Mutex::new(Vec::new());
    let progress = |p: Progress| match p {
        Progress::Page { .. } => {
            if pages.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
                cluster.stop();
            }
        }
        Progress::Retry { reason, .. } => {
            // The first refused batch brings the server back.
            let mut retries = retries.lock().unwrap();
            if retries.is_empty() {
                cluster.start();
            }
            retries.push(reason);
        }
    };
    let requests_before = rig.fake.server.requests().len();
    let report = rig
        .sync(SyncOptions {
            items_per_commit: 250,
            store_retry: seatwarden_app::sync::RetryPolicy {
                base: std::time::Duration::from_millis(50),
                ..seatwarden_app::sync::RetryPolicy::store_default()
            },
            ..once()
        })
        .run(&progress)
        .await
        .unwrap();
    let retries = retries.into_inner().unwrap();
    assert_eq!(retries.len(), 1, "one refused batch: {retries:?}");
    assert!(
        retries[0].contains("could not store the batch now"),
        "{retries:?}"
    );
    assert_eq!((report.accounts, report.pages), (1050, 11));
    assert_eq!(
        rig.user_requests_since(requests_before).len(),
        11,
        "no page fetched twice"
    );
    let rows = rig.storage.subscriptions(rig.profile).await.unwrap();
    let ids: std::collections::BTreeSet<_> = rows.iter().map(|r| r.account_id.clone()).collect();
    assert_eq!((rows.len(), ids.len()), (1050, 1050), "all, no duplicates");
    let runs = rig.storage.job_runs(rig.profile).await.unwrap();
    let users: Vec<_> = runs.iter().filter(|r| r.kind == "subscriptions").collect();
    assert_eq!(users.len(), 1, "one attempt: {users:?}");
    assert_eq!(
        (users[0].status.as_str(), users[0].pages, users[0].items),
        ("succeeded", 11, 1050)
    );
}
