//! The integration profile lifecycle against the SmartRecruiters fake:
//! draft, validate, publish, unpublish, delete, every refusal, the toggles'
//! effect on jobs, the 60-day window, two profiles on one connector, and
//! tenant isolation. Each test writes a real configuration file and opens
//! the host on it, as `seatwarden` does.

use seatwarden_app::clock::ManualClock;
use seatwarden_app::profiles::{Applied, Profiles, Refusal, check_activity_from};
use seatwarden_app::scheduler::{JobResult, Scheduler, SchedulerOptions};
use seatwarden_app::sync::first_activity_since;
use seatwarden_app::wiring::App;
use seatwarden_store::{ActivityFrom, ProfileStatus};
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::smartrecruiters_fake::{DAY_MS, SmartRecruitersFake, SrTenant, seed_tenant};
use seatwarden_tests::workspace::{Workspace, smartrecruiters_connection};
use std::sync::Arc;

const TOKEN: &str = "DCRA1-profile-tests";

async fn fake(token: &str, users: usize) -> SmartRecruitersFake {
    SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_tenant(token, users, now_ms())
    })
    .await
}

fn profiles<'a>(app: &'a App, tenant: &str, id: seatwarden_store::TenantId) -> Profiles<'a> {
    Profiles {
        app,
        tenant: id,
        tenant_name: tenant.into(),
        actor: "test".into(),
    }
}

async fn tenant_profiles<'a>(app: &'a App, tenant: &str) -> Profiles<'a> {
    let (name, id) = app.tenant(Some(tenant)).await.unwrap();
    profiles(app, &name, id)
}

fn refusal(err: anyhow::Error) -> Refusal {
    err.downcast::<Refusal>()
        .unwrap_or_else(|e| panic!("expected a refusal, got: {e:#}"))
}

/// One tenant, one SmartRecruiters connection, one profile with `extra`
/// lines in its table.
fn single(ws: &Workspace, url: &str, extra: &str) {
    ws.write_config(&format!(
        "[tenants.acme]\n\n{}\n[profiles.acme-sr]\ntenant = \"acme\"\nconnection = \"acme-sr\"\n{extra}",
        smartrecruiters_connection("acme-sr", "acme", url, "sr.key")
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_refuses_every_step_out_of_order_and_says_why() {
    let vendor = fake(TOKEN, 30).await;
    let ws = Workspace::new("profiles-lifecycle");
    ws.secret("sr.key", "DCRA1-not-the-right-key");
    single(&ws, &vendor.url(), "");
    let app = ws.app().await.unwrap();
    let p = tenant_profiles(&app, "acme").await;

    assert_eq!(
        p.apply().await.unwrap(),
        vec![Applied::Created("acme-sr".into())]
    );
    let draft = p.get("acme-sr").await.unwrap();
    assert_eq!(draft.status, ProfileStatus::Draft);
    assert_eq!(draft.connector.name, "smartrecruiters");

    // Never validated.
    assert_eq!(
        refusal(p.publish("acme-sr").await.unwrap_err()),
        Refusal::NeverValidated("acme-sr".into())
    );
    // Validated with a key the vendor refuses: recorded, and publish says why.
    let failed = p.validate("acme-sr").await.unwrap();
    assert!(!failed.passed);
    match refusal(p.publish("acme-sr").await.unwrap_err()) {
        Refusal::ValidationFailed { name, detail } => {
            assert_eq!(name, "acme-sr");
            assert!(detail.contains("unauthorized"), "{detail}");
        }
        other => panic!("unexpected refusal {other:?}"),
    }
    // The right key: validation passes without writing anything.
    ws.secret("sr.key", TOKEN);
    assert!(p.validate("acme-sr").await.unwrap().passed);
    assert!(vendor.server.writes().is_empty(), "validate only reads");
    let jobs = p.publish("acme-sr").await.unwrap();
    let kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    assert_eq!(kinds, ["subscriptions", "activity"]);
    assert_eq!(jobs[0].cron, "0 2 * * *");
    assert_eq!(jobs[0].time_zone, "UTC");
    let published = p.get("acme-sr").await.unwrap();
    assert_eq!(published.status, ProfileStatus::Published);
    assert_eq!(
        app.storage
            .scheduled_jobs(published.id)
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        refusal(p.publish("acme-sr").await.unwrap_err()),
        Refusal::AlreadyPublished("acme-sr".into())
    );

    // Unpublishing removes the jobs; a second unpublish is refused.
    p.unpublish("acme-sr").await.unwrap();
    assert!(
        app.storage
            .scheduled_jobs(published.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(p.get("acme-sr").await.unwrap().status, ProfileStatus::Draft);
    assert_eq!(
        refusal(p.unpublish("acme-sr").await.unwrap_err()),
        Refusal::NotPublished("acme-sr".into())
    );

    // Deleting asks for confirmation, then keeps the audit trail.
    assert_eq!(
        refusal(p.delete("acme-sr", false).await.unwrap_err()),
        Refusal::NeedsConfirmation("acme-sr".into())
    );
    assert!(
        p.get("acme-sr").await.is_ok(),
        "an unconfirmed delete changes nothing"
    );
    p.delete("acme-sr", true).await.unwrap();
    let gone = format!("{:#}", p.get("acme-sr").await.unwrap_err());
    assert!(gone.contains("seatwarden apply"), "{gone}");
    let actions: Vec<String> = app
        .storage
        .audit_entries(p.tenant)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "profile.create",
            "rule.create",
            "profile.validate.failed",
            "profile.validate.passed",
            "profile.publish",
            "profile.unpublish",
            "profile.delete"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_connection_makes_the_validation_stale() {
    let vendor = fake(TOKEN, 10).await;
    let other = fake(TOKEN, 10).await;
    let ws = Workspace::new("profiles-stale");
    ws.secret("sr.key", TOKEN);
    single(&ws, &vendor.url(), "");
    let app = ws.app().await.unwrap();
    let p = tenant_profiles(&app, "acme").await;
    p.apply().await.unwrap();
    assert!(p.validate("acme-sr").await.unwrap().passed);

    // The operator points the connection elsewhere before publishing.
    single(&ws, &other.url(), "");
    let moved = ws.app().await.unwrap();
    let p = tenant_profiles(&moved, "acme").await;
    assert_eq!(
        refusal(p.publish("acme-sr").await.unwrap_err()),
        Refusal::ValidationStale("acme-sr".into())
    );
    // Validated again against the new vendor, it publishes.
    assert!(p.validate("acme-sr").await.unwrap().passed);
    p.publish("acme-sr").await.unwrap();

    // Moving it back while published returns it to draft and drops its jobs.
    single(&ws, &vendor.url(), "");
    let back = ws.app().await.unwrap();
    let p = tenant_profiles(&back, "acme").await;
    match &p.apply().await.unwrap()[..] {
        [Applied::Updated { name, changes }] => {
            assert_eq!(name, "acme-sr");
            assert!(
                changes.iter().any(|c| c.contains("back to draft")),
                "{changes:?}"
            );
        }
        other => panic!("unexpected apply report {other:?}"),
    }
    let record = p.get("acme-sr").await.unwrap();
    assert_eq!(record.status, ProfileStatus::Draft);
    assert!(
        back.storage
            .scheduled_jobs(record.id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_download_activity_drops_the_activity_job_and_needs_a_new_validation() {
    let vendor = fake(TOKEN, 10).await;
    let ws = Workspace::new("profiles-toggle");
    ws.secret("sr.key", TOKEN);
    single(&ws, &vendor.url(), "");
    let app = ws.app().await.unwrap();
    let p = tenant_profiles(&app, "acme").await;
    p.apply().await.unwrap();
    p.validate("acme-sr").await.unwrap();
    p.publish("acme-sr").await.unwrap();

    single(&ws, &vendor.url(), "download_activity = false\n");
    let app = ws.app().await.unwrap();
    let p = tenant_profiles(&app, "acme").await;
    let report = p.apply().await.unwrap();
    let text = report
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("download activity on -> off"), "{text}");
    assert!(text.contains("back to draft"), "{text}");
    let record = p.get("acme-sr").await.unwrap();
    assert_eq!(record.status, ProfileStatus::Draft);
    assert!(
        app.storage
            .scheduled_jobs(record.id)
            .await
            .unwrap()
            .is_empty()
    );
    // The old validation covered the activity path; it no longer counts.
    assert_eq!(
        refusal(p.publish("acme-sr").await.unwrap_err()),
        Refusal::ValidationStale("acme-sr".into())
    );
    // Validated again, publishing creates the subscriptions job only.
    p.validate("acme-sr").await.unwrap();
    let jobs = p.publish("acme-sr").await.unwrap();
    assert_eq!(
        jobs.iter().map(|j| j.kind.as_str()).collect::<Vec<_>>(),
        ["subscriptions"]
    );
    // Applying the same file again changes nothing.
    assert_eq!(
        p.apply().await.unwrap(),
        vec![Applied::Unchanged("acme-sr".into())]
    );

    // A schedule change on a published profile reschedules it in place.
    single(
        &ws,
        &vendor.url(),
        "download_activity = false\nschedule = { subscriptions = \"0 */6 * * *\" }\n",
    );
    let app = ws.app().await.unwrap();
    let p = tenant_profiles(&app, "acme").await;
    p.apply().await.unwrap();
    let record = p.get("acme-sr").await.unwrap();
    assert_eq!(record.status, ProfileStatus::Published);
    let jobs = app.storage.scheduled_jobs(record.id).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].cron, "0 */6 * * *");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_activity_from_is_at_most_sixty_days_back() {
    let now = now_ms();
    let today = jiff::Timestamp::from_millisecond(now)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let days_ago =
        |n: i64| ActivityFrom::Date(today.checked_sub(jiff::Span::new().days(n)).unwrap());
    assert_eq!(check_activity_from(days_ago(60), now), Ok(()));
    assert_eq!(check_activity_from(days_ago(0), now), Ok(()));
    assert!(matches!(
        check_activity_from(days_ago(61), now),
        Err(Refusal::ActivityTooOld { .. })
    ));
    assert!(matches!(
        check_activity_from(days_ago(-1), now),
        Err(Refusal::ActivityInFuture(_))
    ));
    // The first pull starts at the chosen day, never earlier than 60 days.
    assert_eq!(
        first_activity_since(ActivityFrom::DaysBack(10), now),
        now - 10 * DAY_MS
    );
    assert_eq!(
        first_activity_since(ActivityFrom::DaysBack(90), now),
        now - 60 * DAY_MS
    );

    // Through the configuration: a date 61 days back is refused on apply
    // with the earliest allowed day, and nothing is created.
    let vendor = fake(TOKEN, 1).await;
    let ws = Workspace::new("profiles-window");
    ws.secret("sr.key", TOKEN);
    let ActivityFrom::Date(too_old) = days_ago(61) else {
        unreachable!()
    };
    single(&ws, &vendor.url(), &format!("activity_from = {too_old}\n"));
    let app = ws.app().await.unwrap();
    let p = tenant_profiles(&app, "acme").await;
    let err = format!("{:#}", p.apply().await.unwrap_err());
    assert!(err.contains("more than 60 days ago"), "{err}");
    assert!(app.storage.profiles(p.tenant).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_profiles_on_one_connector_keep_their_own_credentials_and_data() {
    let eu = fake("DCRA1-eu-key", 40).await;
    let us = fake("DCRA1-us-key", 25).await;
    let ws = Workspace::new("profiles-two");
    ws.secret("eu.key", "DCRA1-eu-key");
    ws.secret("us.key", "DCRA1-us-key");
    ws.write_config(&format!(
        "[tenants.acme]\n\n{}\n{}\n[profiles.sr-eu]\ntenant = \"acme\"\nconnection = \"sr-eu\"\n\n[profiles.sr-us]\ntenant = \"acme\"\nconnection = \"sr-us\"\n",
        smartrecruiters_connection("sr-eu", "acme", &eu.url(), "eu.key"),
        smartrecruiters_connection("sr-us", "acme", &us.url(), "us.key"),
    ));
    let app = ws.app().await.unwrap();
    let p = tenant_profiles(&app, "acme").await;
    p.apply().await.unwrap();
    for name in ["sr-eu", "sr-us"] {
        assert!(p.validate(name).await.unwrap().passed);
        p.publish(name).await.unwrap();
    }
    let clock = Arc::new(ManualClock::new(now_ms() + 1_000));
    let scheduler = Scheduler::new(Arc::new(app.on_clock(clock)), SchedulerOptions::default());
    let outcomes = scheduler.run_due().await.unwrap();
    assert_eq!(
        outcomes.len(),
        6,
        "two syncs and a candidates refresh each: {outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o.result, JobResult::Succeeded(_))),
        "{outcomes:?}"
    );
    for (name, vendor, key, users) in [
        ("sr-eu", &eu, "DCRA1-eu-key", 40),
        ("sr-us", &us, "DCRA1-us-key", 25),
    ] {
        let record = p.get(name).await.unwrap();
        assert_eq!(
            app.storage.subscriptions(record.id).await.unwrap().len(),
            users
        );
        let requests = vendor.server.requests();
        assert!(!requests.is_empty());
        assert!(
            requests
                .iter()
                .all(|r| r.header("x-smarttoken") == Some(key)),
            "{name}'s vendor saw only {name}'s key"
        );
        let since = app.storage.activity_since(record.id).await.unwrap();
        assert!(since.is_some(), "{name} has its own activity watermark");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenant_cannot_see_or_touch_another_tenants_profiles() {
    let acme_vendor = fake("DCRA1-acme", 20).await;
    let globex_vendor = fake("DCRA1-globex", 5).await;
    let ws = Workspace::new("profiles-tenants");
    ws.secret("acme.key", "DCRA1-acme");
    ws.secret("globex.key", "DCRA1-globex");
    ws.write_config(&format!(
        "[tenants.acme]\n[tenants.globex]\n\n{}\n{}\n[profiles.acme-sr]\ntenant = \"acme\"\nconnection = \"acme-sr\"\n\n[profiles.globex-sr]\ntenant = \"globex\"\nconnection = \"globex-sr\"\n",
        smartrecruiters_connection("acme-sr", "acme", &acme_vendor.url(), "acme.key"),
        smartrecruiters_connection("globex-sr", "globex", &globex_vendor.url(), "globex.key"),
    ));
    let app = ws.app().await.unwrap();
    let acme = tenant_profiles(&app, "acme").await;
    let globex = tenant_profiles(&app, "globex").await;
    assert_eq!(
        acme.apply().await.unwrap(),
        vec![Applied::Created("acme-sr".into())]
    );
    assert_eq!(
        globex.apply().await.unwrap(),
        vec![Applied::Created("globex-sr".into())]
    );
    acme.validate("acme-sr").await.unwrap();
    acme.publish("acme-sr").await.unwrap();
    let clock = Arc::new(ManualClock::new(now_ms() + 1_000));
    Scheduler::new(Arc::new(app.on_clock(clock)), SchedulerOptions::default())
        .run_due()
        .await
        .unwrap();
    let acme_record = acme.get("acme-sr").await.unwrap();
    assert_eq!(
        app.storage
            .subscriptions(acme_record.id)
            .await
            .unwrap()
            .len(),
        20
    );

    // Globex cannot name, list, change or delete acme's profile: each is
    // refused as a profile globex does not have (listing only its own),
    // not as a permission problem that would confirm acme's exists.
    let unknown = |result: anyhow::Result<()>| {
        let err = format!("{:#}", result.unwrap_err());
        assert!(
            err.contains("tenant globex has no profile \"acme-sr\" (its profiles: globex-sr)"),
            "{err}"
        );
    };
    unknown(globex.get("acme-sr").await.map(|_| ()));
    unknown(globex.validate("acme-sr").await.map(|_| ()));
    unknown(globex.publish("acme-sr").await.map(|_| ()));
    unknown(globex.unpublish("acme-sr").await);
    unknown(globex.delete("acme-sr", true).await);
    let globex_names: Vec<String> = app
        .storage
        .profiles(globex.tenant)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(globex_names, ["globex-sr"]);
    // ...nor use its connection (and so its credential).
    let err = format!(
        "{:#}",
        app.connect("globex", "acme-sr").await.err().unwrap()
    );
    assert!(err.contains("acme-sr"), "{err}");
    let sneaky = seatwarden_store::ProfileSettings {
        connection: "acme-sr".into(),
        ..acme_record.settings.clone()
    };
    let err = format!(
        "{:#}",
        globex
            .create("sneaky", &sneaky, seatwarden_store::Source::Cli)
            .await
            .unwrap_err()
    );
    assert!(err.contains("acme-sr"), "{err}");
    assert!(globex.get("sneaky").await.is_err(), "nothing was created");
    // ...nor see its job results or audit entries.
    assert!(
        app.storage
            .tenant_job_runs(globex.tenant, None, false, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !app.storage
            .tenant_job_runs(acme.tenant, None, false, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        app.storage
            .audit_entries(globex.tenant)
            .await
            .unwrap()
            .iter()
            .all(|e| e.profile.as_deref() != Some("acme-sr"))
    );
    // Acme's profile is untouched, and globex's vendor never heard of acme.
    assert_eq!(
        acme.get("acme-sr").await.unwrap().status,
        ProfileStatus::Published
    );
    assert!(
        globex_vendor
            .server
            .requests()
            .iter()
            .all(|r| r.header("x-smarttoken") != Some("DCRA1-acme"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_before_profiles_keeps_its_data_after_the_upgrade() {
    let vendor = fake(TOKEN, 5).await;
    let ws = Workspace::new("profiles-upgrade");
    ws.secret("sr.key", TOKEN);
    // SQLite's history: PostgreSQL starts at the newest schema.
    ws.write_config(&format!(
        "database = \"seatwarden.db\"\n[tenants.acme]\n\n{}\n[profiles.acme-sr]\ntenant = \"acme\"\nconnection = \"acme-sr\"\n",
        smartrecruiters_connection("acme-sr", "acme", &vendor.url(), "sr.key")
    ));

    // A schema-1 database, as the previous release left it: a profile that
    // was synced once, with its job run.
    let migrations = ws.dir.join("migrations-v1");
    std::fs::create_dir_all(&migrations).unwrap();
    let root = seatwarden_tests::fixtures::repo_root().join("host/store/migrations/sqlite");
    std::fs::copy(
        root.join("0001_initial.sql"),
        migrations.join("0001_initial.sql"),
    )
    .unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(ws.dir.join("seatwarden.db"))
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(migrations.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    for statement in [
        "INSERT INTO tenants (id, name, created_at) VALUES (1, 'acme', 0)",
        "INSERT INTO profiles (id, tenant_id, name, connector_name, connector_version, connector_digest, base_url, created_at)
         VALUES (1, 1, 'acme-sr', 'smartrecruiters', '0.1.0', 'old', 'http://old', 0)",
        "INSERT INTO job_runs (id, profile_id, kind, status, started_at, finished_at, pages, items)
         VALUES (1, 1, 'users', 'succeeded', 0, 1, 1, 1)",
        "INSERT INTO subscriptions (profile_id, account_id, principal, active, identifiers, attributes,
            first_seen_at, last_seen_at, last_seen_run) VALUES (1, 'u1', 'kept@example.com', 1, '[]', '[]', 0, 0, 1)",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    // The new host migrates it in place; applying the file links the old
    // profile to its connection, as a draft.
    let app = ws.app().await.unwrap();
    assert_eq!(app.storage.schema_version().await.unwrap(), 20);
    let p = tenant_profiles(&app, "acme").await;
    match &p.apply().await.unwrap()[..] {
        [Applied::Updated { name, changes }] => {
            assert_eq!(name, "acme-sr");
            assert!(
                changes.iter().any(|c| c.contains("-> acme-sr")),
                "{changes:?}"
            );
        }
        other => panic!("unexpected apply report {other:?}"),
    }
    let record = p.get("acme-sr").await.unwrap();
    assert_eq!(record.status, ProfileStatus::Draft);
    let rows = app.storage.subscriptions(record.id).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].principal, "kept@example.com");
    let runs = app.storage.job_runs(record.id).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].kind, "subscriptions",
        "old 'users' runs are renamed"
    );
}
