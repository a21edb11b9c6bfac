//! The command line an operator runs against the SmartRecruiters fake:
//! `sync`, `subscriptions`, `deactivate`, `jobs`, with the configuration
//! file, credential file and database they use. Most run in-process; where
//! a real process is the point (one to kill, printed output to read) the
//! built binary runs.

use clap::Parser;
use seatwarden_cli::{Cli, run};
use seatwarden_store::Storage;
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::fixtures::{guest, repo_root, seatwarden_command};
use seatwarden_tests::published::store_download;
use seatwarden_tests::smartrecruiters_fake::{
    Fault, SmartRecruitersFake, SrTenant, aged_accounts, seed_tenant,
};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

const TOKEN: &str = "DCRA1-cli-tests-token";

struct Setup {
    fake: SmartRecruitersFake,
    dir: PathBuf,
    config: PathBuf,
}

async fn setup(name: &str, extra: &str, reclaim: bool) -> Setup {
    let fake = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_tenant(TOKEN, 250, now_ms())
    })
    .await;
    let dir = repo_root()
        .join("target/test-tmp")
        .join(format!("cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("sr.key");
    std::fs::write(&secret, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = dir.join("seatwarden.toml");
    std::fs::write(
        &config,
        format!(
            r#"database = "seatwarden.db"

[tenants.acme]

[connections.acme-sr]
tenant = "acme"
connector = "{}"
base_url = "{}"
private_targets = "allow-loopback"
credential = {{ file = "sr.key" }}
{extra}
[profiles.acme-sr]
tenant = "acme"
connection = "acme-sr"
reclaim = {reclaim}
"#,
            guest("smartrecruiters").display(),
            fake.url()
        ),
    )
    .unwrap();
    Setup { fake, dir, config }
}

async fn seatwarden(setup: &Setup, args: &[&str]) -> anyhow::Result<()> {
    let cache = repo_root().join("target/test-compile-cache");
    let mut argv = vec![
        "seatwarden".to_string(),
        "--config".into(),
        setup.config.display().to_string(),
        "--cache-dir".into(),
        cache.display().to_string(),
    ];
    argv.extend(args.iter().map(|s| s.to_string()));
    run(Cli::parse_from(argv)).await
}

/// The setup's database, and its profile `acme-sr`.
async fn stored_profile(setup: &Setup) -> (Storage, seatwarden_store::ProfileId) {
    let storage = Storage::open(&setup.dir.join("seatwarden.db"))
        .await
        .unwrap();
    let tenant = storage.find_tenant("acme").await.unwrap().unwrap();
    let profile = storage
        .find_profile(tenant, "acme-sr")
        .await
        .unwrap()
        .unwrap();
    (storage, profile)
}

/// The built binary as a child process with the setup's configuration.
fn binary(setup: &Setup, args: &[&str]) -> std::process::Command {
    let mut command = seatwarden_command(&setup.config);
    command.args(args);
    command
}

/// Runs the binary to completion; its standard output, or a panic with its
/// standard error.
fn printed(setup: &Setup, args: &[&str]) -> String {
    let out = binary(setup, args).output().expect("seatwarden runs");
    assert!(
        out.status.success(),
        "seatwarden {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// `apply`, `profile validate` and `profile publish`, as an operator starts.
async fn publish(setup: &Setup) {
    for step in [
        &["apply"][..],
        &["profile", "validate", "acme-sr"],
        &["profile", "publish", "acme-sr"],
    ] {
        seatwarden(setup, step).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_then_deactivate_through_the_command_line() {
    let s = setup("happy", "", true).await;
    publish(&s).await;
    seatwarden(&s, &["sync", "--profile", "acme-sr"])
        .await
        .unwrap();
    seatwarden(&s, &["subscriptions", "--profile", "acme-sr", "--json"])
        .await
        .unwrap();
    seatwarden(
        &s,
        &["deactivate", "--profile", "acme-sr", "user5@example.com"],
    )
    .await
    .unwrap();

    assert!(!s.fake.users()[5].active, "the vendor saw the deactivation");
    let storage = Storage::open(&s.dir.join("seatwarden.db")).await.unwrap();
    let tenant = storage.ensure_tenant("acme", 0).await.unwrap();
    let profile = storage
        .find_profile(tenant, "acme-sr")
        .await
        .unwrap()
        .unwrap();
    let rows = storage.subscriptions(profile).await.unwrap();
    assert_eq!(rows.len(), 250);
    let user5 = rows
        .iter()
        .find(|r| r.principal == "user5@example.com")
        .unwrap();
    assert!(!user5.active, "the stored row follows the vendor write");
    let jobs = storage.job_runs(profile).await.unwrap();
    assert_eq!(jobs[0].kind, "deactivate");
    assert_eq!(jobs[0].trigger, "manual");
    assert_eq!(jobs[0].status, "succeeded");
    assert!(
        jobs[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("user5@example.com")
    );
    let db = std::fs::read(s.dir.join("seatwarden.db")).unwrap();
    assert!(
        !db.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
        "the secret is not stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readable_credential_file_is_refused_before_anything_runs() {
    let s = setup("perms", "", false).await;
    std::fs::set_permissions(s.dir.join("sr.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = format!("{:#}", seatwarden(&s, &["apply"]).await.unwrap_err());
    assert!(err.contains("connections.acme-sr.credential"), "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    assert!(s.fake.server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_digest_that_does_not_match_is_refused() {
    let s = setup("pin", &format!("sha256 = \"{}\"\n", "0".repeat(64)), false).await;
    let err = format!("{:#}", seatwarden(&s, &["apply"]).await.unwrap_err());
    assert!(
        err.contains("connections.acme-sr.sha256: pinned 0000"),
        "{err}"
    );
    assert!(
        err.contains("Update the pin only if you trust the new component"),
        "{err}"
    );
    assert!(s.fake.server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_only_profile_refuses_to_deactivate() {
    let s = setup("report-only", "", false).await;
    publish(&s).await;
    seatwarden(&s, &["sync", "--profile", "acme-sr"])
        .await
        .unwrap();
    let err = format!(
        "{:#}",
        seatwarden(
            &s,
            &["deactivate", "--profile", "acme-sr", "user5@example.com"],
        )
        .await
        .unwrap_err()
    );
    assert!(err.contains("reclaim = true"), "{err}");
    assert!(
        s.fake.users()[5].active,
        "nothing was written at the vendor"
    );
    assert!(
        s.fake.server.writes().is_empty(),
        "only reads reached the vendor"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_once_runs_what_is_due_and_jobs_shows_it() {
    let s = setup("serve", "", false).await;
    publish(&s).await;
    seatwarden(&s, &["serve", "--once"]).await.unwrap();
    // What the operator reads: a status line per profile, then a row per
    // run with the profile's state and the trigger.
    let jobs = printed(&s, &["jobs"]);
    let status = jobs.lines().next().unwrap();
    assert!(status.starts_with("ok acme-sr: "), "{jobs}");
    for kind in ["subscriptions", "activity", "candidates"] {
        assert!(status.contains(&format!("{kind} succeeded")), "{jobs}");
    }
    let rows: Vec<&str> = jobs.lines().filter(|l| l.contains(" schedule ")).collect();
    assert_eq!(rows.len(), 3, "{jobs}");
    assert!(
        rows.iter()
            .all(|r| r.contains("acme-sr  published") && r.contains("succeeded")),
        "{jobs}"
    );
    assert!(jobs.trim_end().ends_with("jobs"), "{jobs}");
    let failed: serde_json::Value =
        serde_json::from_str(&printed(&s, &["jobs", "--failed", "--json"])).unwrap();
    assert_eq!(failed, serde_json::json!([]), "nothing failed");
    let storage = Storage::open(&s.dir.join("seatwarden.db")).await.unwrap();
    let tenant = storage.find_tenant("acme").await.unwrap().unwrap();
    let runs = storage
        .tenant_job_runs(tenant, None, false, 100)
        .await
        .unwrap();
    let scheduled: Vec<(&str, &str)> = runs
        .iter()
        .filter(|r| r.trigger == "schedule")
        .map(|r| (r.kind.as_str(), r.status.as_str()))
        .collect();
    assert_eq!(
        scheduled.len(),
        3,
        "subscriptions, activity and the candidates refresh ran once each: {scheduled:?}"
    );
    assert!(scheduled.iter().all(|(_, status)| *status == "succeeded"));
    // Nothing is due any more: a second pass runs nothing.
    seatwarden(&s, &["serve", "--once"]).await.unwrap();
    assert_eq!(
        storage
            .tenant_job_runs(tenant, None, false, 100)
            .await
            .unwrap()
            .len(),
        runs.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_account_is_refused_naming_every_match() {
    let s = setup("ambiguous", "", true).await;
    publish(&s).await;
    // One account's id is another's principal.
    s.fake.edit(|t| t.users[7].id = "user5@example.com".into());
    seatwarden(&s, &["sync", "--profile", "acme-sr"])
        .await
        .unwrap();
    let before: Vec<bool> = s.fake.users().iter().map(|u| u.active).collect();
    let err = seatwarden(
        &s,
        &["deactivate", "--profile", "acme-sr", "user5@example.com"],
    )
    .await
    .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("\"user5@example.com\" matches more than one account"),
        "{text}"
    );
    assert!(text.contains("user7@example.com"), "{text}");
    let after: Vec<bool> = s.fake.users().iter().map(|u| u.active).collect();
    assert_eq!(before, after, "nothing was deactivated");
}

/// A `sync` killed with SIGKILL mid-listing leaves its lease and its run
/// behind. The next `sync` on the same machine sees the lease's process is
/// gone and takes over at once (not after the lease runs out), and `jobs`
/// shows the killed attempt as interrupted, not running, beside the one that
/// resumed it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sync_neither_blocks_its_profile_nor_shows_as_running() {
    let s = setup("killed", "", false).await;
    publish(&s).await;
    // Page 1 answers; page 2 never does.
    s.fake.inject([Fault::Pass, Fault::Hang]);
    let before = s.fake.server.requests().len();
    let mut child = binary(&s, &["sync", "--profile", "acme-sr"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stderr = child.stderr.take().unwrap();
    let exited = tokio::task::spawn_blocking(move || child.wait());
    tokio::pin!(exited);
    tokio::select! {
        status = &mut exited => {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut stderr, &mut text).unwrap();
            panic!("the sync ended before page 2: {status:?}: {text}");
        }
        _ = s.fake.server.wait_for_requests(before + 2) => {}
    }
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // Reaped: the pid no longer names a process.
    exited.await.unwrap().unwrap();

    let (storage, profile) = stored_profile(&s).await;
    let (holder, _) = storage.lease_holder(profile).await.unwrap().unwrap();
    assert!(
        holder.contains(&format!(":{pid}:")),
        "the killed process still holds the lease: {holder}"
    );
    let jobs = printed(&s, &["jobs"]);
    assert!(
        jobs.starts_with("!! acme-sr: subscriptions INTERRUPTED"),
        "{jobs}"
    );

    seatwarden(&s, &["sync", "--profile", "acme-sr"])
        .await
        .expect("the dead process's lease does not block the profile");
    assert_eq!(storage.subscriptions(profile).await.unwrap().len(), 250);
    assert!(storage.lease_holder(profile).await.unwrap().is_none());

    let runs = storage.job_runs(profile).await.unwrap();
    let users: Vec<_> = runs.iter().filter(|r| r.kind == "subscriptions").collect();
    assert_eq!(users.len(), 2, "{users:?}");
    assert_eq!(users[0].status, "succeeded");
    assert_eq!(users[0].resumes, Some(users[1].id));
    assert_eq!(users[1].status, "interrupted");
    assert_eq!(users[1].error_kind.as_deref(), Some("ended-unfinished"));

    let failed = printed(&s, &["jobs", "--failed"]);
    assert!(
        failed
            .lines()
            .any(|l| l.starts_with(&format!("{} ", users[1].id)) && l.contains("interrupted")),
        "{failed}"
    );
    let all = printed(&s, &["jobs"]);
    assert!(
        all.contains(&format!("succeeded (resumes #{})", users[1].id)),
        "{all}"
    );
}

/// A lease held by a live process elsewhere refuses `sync`, naming the
/// holder and when its lease runs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_refuses_a_profile_another_host_is_running() {
    let s = setup("busy", "", false).await;
    publish(&s).await;
    let (storage, profile) = stored_profile(&s).await;
    let elsewhere = "other-host:7:0badc0de-00000001";
    let before = s.fake.server.requests().len();
    let now = now_ms();
    assert!(
        storage
            .try_lease(profile, elsewhere, now, now + 600_000)
            .await
            .unwrap()
    );
    let err = seatwarden(&s, &["sync", "--profile", "acme-sr"])
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains(&format!(
            "profile acme-sr is busy: {elsewhere} holds its lease until"
        )),
        "{text}"
    );
    assert_eq!(
        s.fake.server.requests().len(),
        before,
        "nothing was fetched"
    );
    assert_eq!(
        storage.lease_holder(profile).await.unwrap().unwrap().0,
        elsewhere
    );
}

/// `deactivate` is held to the protections a reclaim honours: an
/// administrator, an excluded account, an account never downloaded and one
/// already inactive are refused before any vendor call; an override with a
/// reason lets a person deactivate a protected account anyway. Every
/// outcome is a job row and an audit entry naming the operating-system
/// user, and the audit chain stays intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_deactivation_is_held_to_the_rules_and_always_audited() {
    let s = setup(
        "manual",
        r#"
[[exclusions]]
tenant = "acme"
principal = "user6@example.com"
reason = "board decision"
"#,
        true,
    )
    .await;
    publish(&s).await;
    seatwarden(&s, &["sync", "--profile", "acme-sr"])
        .await
        .unwrap();
    let deactivate = |account: &'static str, reason: Option<&'static str>| {
        let mut args = vec!["deactivate", "--profile", "acme-sr", account];
        if let Some(reason) = reason {
            args.extend(["--override", reason]);
        }
        let s = &s;
        async move { seatwarden(s, &args).await.map_err(|e| format!("{e:#}")) }
    };
    // user4 is an ADMINISTRATOR in the fake.
    let refusals = [
        ("user4@example.com", "protected: vendor administrator"),
        ("user6@example.com", "excluded by"),
        (
            "nobody@example.com",
            "no downloaded account of profile acme-sr",
        ),
    ];
    for (account, why) in refusals {
        let err = deactivate(account, None).await.unwrap_err();
        assert!(
            err.contains("refused") && err.contains(why),
            "{account}: {err}"
        );
    }
    let err = deactivate("user4@example.com", None).await.unwrap_err();
    assert!(err.contains("--override \"REASON\""), "{err}");
    assert!(s.fake.server.writes().is_empty(), "no vendor call was made");
    assert!(s.fake.users()[4].active);

    deactivate("user4@example.com", Some("left the company, ticket 42"))
        .await
        .unwrap();
    assert!(!s.fake.users()[4].active);
    let err = deactivate("user4@example.com", Some("again"))
        .await
        .unwrap_err();
    assert!(err.contains("already inactive"), "{err}");
    assert_eq!(s.fake.server.writes().len(), 1);

    let (storage, profile) = stored_profile(&s).await;
    let tenant = storage.find_tenant("acme").await.unwrap().unwrap();
    let entries = storage.audit_entries(tenant).await.unwrap();
    let manual: Vec<_> = entries
        .iter()
        .filter(|e| e.action.starts_with("account.deactivate"))
        .collect();
    let actions: Vec<&str> = manual.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "account.deactivate.refused",
            "account.deactivate.refused",
            "account.deactivate.refused",
            "account.deactivate.refused",
            "account.deactivate",
            "account.deactivate.refused",
        ]
    );
    let user = std::process::Command::new("id")
        .arg("-un")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap();
    assert!(
        manual.iter().all(|e| e.actor == format!("cli:{user}")),
        "{manual:?}"
    );
    let overridden = &manual[4].detail;
    assert!(
        overridden.contains("deactivated user4@example.com")
            && overridden.contains("overriding \"protected: vendor administrator")
            && overridden.contains("left the company, ticket 42"),
        "{overridden}"
    );
    let jobs = storage.job_runs(profile).await.unwrap();
    let deactivations: Vec<_> = jobs
        .iter()
        .filter(|j| j.kind == "deactivate")
        .map(|j| (j.status.as_str(), j.error_kind.as_deref()))
        .collect();
    assert_eq!(deactivations.len(), 6);
    assert_eq!(
        deactivations
            .iter()
            .filter(|d| **d == ("failed", Some("refused")))
            .count(),
        5
    );
    assert!(matches!(
        storage.verify_audit(tenant).await.unwrap(),
        seatwarden_store::AuditCheck::Intact { .. }
    ));
}

/// A failed manual deactivation shows in the status line until a later
/// sync succeeds; after that it stays in the table, not in the status line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_deactivation_does_not_keep_the_profile_failing_after_a_good_sync() {
    let s = setup("failed-deactivation", "", true).await;
    publish(&s).await;
    seatwarden(&s, &["sync", "--profile", "acme-sr"])
        .await
        .unwrap();
    s.fake.inject([Fault::Status(403)]);
    seatwarden(
        &s,
        &["deactivate", "--profile", "acme-sr", "user5@example.com"],
    )
    .await
    .unwrap_err();
    let jobs = printed(&s, &["jobs"]);
    assert!(jobs.starts_with("!! acme-sr: deactivate FAILED"), "{jobs}");
    seatwarden(&s, &["sync", "--profile", "acme-sr"])
        .await
        .unwrap();
    let jobs = printed(&s, &["jobs"]);
    let status = jobs.lines().next().unwrap();
    assert!(status.starts_with("ok acme-sr: "), "{jobs}");
    assert!(
        status.contains("deactivate failed before the last sync"),
        "{jobs}"
    );
    assert!(
        jobs.lines()
            .any(|l| l.contains("deactivate") && l.contains("forbidden")),
        "the failure stays in the table: {jobs}"
    );
}

/// The schema version the real migrations leave in `path`, read without
/// migrating.
async fn schema_on_disk(path: &std::path::Path) -> i64 {
    use sqlx::ConnectOptions;
    let mut db = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .unwrap();
    sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&mut db)
        .await
        .unwrap()
}

/// Commands that only read open the database read-only: one that does not
/// exist is not created, one an older seatwarden left is not migrated (the
/// refusal says how), and after `apply` migrates it they read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_commands_never_create_or_migrate_the_database() {
    let s = setup("read-only", "", false).await;
    let db = s.dir.join("seatwarden.db");
    let err = seatwarden(&s, &["jobs"]).await.unwrap_err();
    assert!(
        format!("{err:#}").contains(&format!(
            "database {} does not exist yet: run `seatwarden apply` to create it",
            db.display()
        )),
        "{err:#}"
    );
    assert!(!db.exists(), "jobs created no database");

    // A database as the previous release left it: every migration but the
    // newest, run by the real migrator.
    let mut migrator =
        sqlx::migrate::Migrator::new(repo_root().join("host/store/migrations/sqlite"))
            .await
            .unwrap();
    let newest = migrator.iter().map(|m| m.version).max().unwrap();
    migrator.set_ignore_missing(true);
    {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true)
            .connect()
            .await
            .unwrap();
        migrator.run_to(newest - 1, &mut conn).await.unwrap();
    }
    for command in [
        &["jobs"][..],
        &["audit", "verify"],
        &["report", "unrecognized"],
    ] {
        let err = seatwarden(&s, command).await.unwrap_err();
        assert!(
            format!("{err:#}").contains(&format!(
                "is at schema version {} and this seatwarden reads version {newest}: run `seatwarden migrate`",
                newest - 1
            )),
            "{command:?}: {err:#}"
        );
    }
    assert_eq!(schema_on_disk(&db).await, newest - 1, "nothing migrated it");
    seatwarden(&s, &["apply"]).await.unwrap();
    assert_eq!(schema_on_disk(&db).await, newest);
    let jobs = printed(&s, &["jobs"]);
    assert!(jobs.trim_end().ends_with("0 jobs"), "{jobs}");
}

/// A profile whose last validation failed is not synced by hand; a draft
/// never validated is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_that_failed_validation_is_not_synced() {
    let s = setup("failed-validation", "", false).await;
    seatwarden(&s, &["apply"]).await.unwrap();
    std::fs::write(s.dir.join("sr.key"), "DCRA1-a-revoked-key\n").unwrap();
    seatwarden(&s, &["profile", "validate", "acme-sr"])
        .await
        .unwrap_err();
    let before = s.fake.server.requests().len();
    let err = seatwarden(&s, &["sync", "--profile", "acme-sr"])
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("profile acme-sr failed its last validation")
            && text.contains("run `seatwarden profile validate acme-sr`, then sync"),
        "{text}"
    );
    assert_eq!(
        s.fake.server.requests().len(),
        before,
        "nothing was fetched"
    );

    // Fixed and validated, the draft syncs.
    std::fs::write(s.dir.join("sr.key"), format!("{TOKEN}\n")).unwrap();
    seatwarden(&s, &["profile", "validate", "acme-sr"])
        .await
        .unwrap();
    seatwarden(&s, &["sync", "--profile", "acme-sr"])
        .await
        .unwrap();
    let jobs = printed(&s, &["jobs"]);
    assert!(
        jobs.lines()
            .any(|l| l.contains("acme-sr  draft  subscriptions  manual")),
        "the run says the profile was a draft: {jobs}"
    );
}

/// An `activity_from` too far back is reported at `apply` with the file
/// and the key that hold it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_old_activity_from_names_its_file_and_key() {
    let s = setup("old-activity", "", false).await;
    let mut text = std::fs::read_to_string(&s.config).unwrap();
    text.push_str("activity_from = 2020-01-01\n");
    std::fs::write(&s.config, text).unwrap();
    let err = seatwarden(&s, &["apply"]).await.unwrap_err();
    assert!(
        format!("{err:#}").contains(&format!(
            "{}: profiles.acme-sr.activity_from: analyze activity from 2020-01-01: that is more than 60 days ago",
            s.config.display()
        )),
        "{err:#}"
    );
}

/// Adds a second tenant, globex, to the setup's configuration: its own
/// SmartRecruiters fake (five users), credential, connection and profile
/// `globex-sr`. Returns globex's fake.
async fn add_globex(s: &Setup) -> SmartRecruitersFake {
    let globex_vendor = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_tenant("DCRA1-globex", 5, now_ms())
    })
    .await;
    let secret = s.dir.join("globex.key");
    std::fs::write(&secret, "DCRA1-globex\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut config = std::fs::read_to_string(&s.config).unwrap();
    config = config.replace(
        "[tenants.acme]\n",
        &format!(
            "[tenants.acme]\n[tenants.globex]\n\n[connections.globex-sr]\ntenant = \"globex\"\nconnector = \"{}\"\nbase_url = \"{}\"\nprivate_targets = \"allow-loopback\"\ncredential = {{ file = \"globex.key\" }}\n\n[profiles.globex-sr]\ntenant = \"globex\"\nconnection = \"globex-sr\"\nreclaim = true\n",
            guest("smartrecruiters").display(),
            globex_vendor.url()
        ),
    );
    std::fs::write(&s.config, config).unwrap();
    globex_vendor
}

/// Every command that takes a numeric id refuses another tenant's id as
/// one it does not have, changes nothing and calls no vendor; tenant-wide
/// lists show only the tenant's own entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_ids_are_unknown_to_every_command() {
    let s = setup(
        "two-tenants",
        r#"
[[exclusions]]
tenant = "acme"
principal = "ceo@acme.example"
reason = "board decision"
"#,
        true,
    )
    .await;
    let globex_vendor = add_globex(&s).await;
    let acme = |args: &[&str]| {
        let mut all = vec!["--tenant", "acme"];
        all.extend_from_slice(args);
        all.into_iter().map(String::from).collect::<Vec<_>>()
    };
    seatwarden(&s, &["apply"]).await.unwrap();
    for step in [
        acme(&["profile", "validate", "acme-sr"]),
        acme(&["profile", "publish", "acme-sr"]),
    ] {
        let step: Vec<&str> = step.iter().map(String::as_str).collect();
        seatwarden(&s, &step).await.unwrap();
    }
    // The vendor gives no creation dates: a download with ages, stored
    // through the calls a sync makes, gives acme candidates.
    let (storage, profile) = stored_profile(&s).await;
    let now = now_ms();
    store_download(
        &storage,
        profile,
        &aged_accounts(&s.fake.users(), 3, now),
        now,
    )
    .await;
    let refresh = acme(&["candidates", "refresh", "--profile", "acme-sr"]);
    let refresh: Vec<&str> = refresh.iter().map(String::as_str).collect();
    seatwarden(&s, &refresh).await.unwrap();
    let before = storage.candidates(profile, true).await.unwrap();
    let id = before.first().expect("acme has a candidate").id.to_string();
    let acme_tenant = storage.find_tenant("acme").await.unwrap().unwrap();
    let audit_before = storage.audit_entries(acme_tenant).await.unwrap().len();
    let writes_before = s.fake.server.writes().len();

    let commands: [&[&str]; 7] = [
        &["candidates", "show", &id],
        &["candidates", "approve", &id],
        &["candidates", "reject", &id],
        &["candidates", "keep", &id],
        &["candidates", "release", &id],
        &["candidates", "skip", &id],
        &["reactivate", &id],
    ];
    for command in commands {
        let mut args = vec!["--tenant", "globex"];
        args.extend_from_slice(command);
        let err = format!("{:#}", seatwarden(&s, &args).await.unwrap_err());
        assert!(
            err.contains(&format!("tenant globex has no removal candidate {id}")),
            "{command:?}: {err}"
        );
    }
    assert_eq!(storage.candidates(profile, true).await.unwrap(), before);
    assert_eq!(
        storage.audit_entries(acme_tenant).await.unwrap().len(),
        audit_before
    );
    assert_eq!(s.fake.server.writes().len(), writes_before);
    assert!(globex_vendor.server.requests().is_empty());

    // Tenant-wide settings: globex sees none of acme's.
    let globex_exclusions = printed(&s, &["--tenant", "globex", "exclusions"]);
    assert!(
        !globex_exclusions.contains("ceo@acme.example"),
        "{globex_exclusions}"
    );
    let acme_exclusions = printed(&s, &["--tenant", "acme", "exclusions"]);
    assert!(
        acme_exclusions.contains("ceo@acme.example") && acme_exclusions.contains("board decision"),
        "{acme_exclusions}"
    );
    let globex_jobs = printed(&s, &["--tenant", "globex", "jobs"]);
    assert!(globex_jobs.trim_end().ends_with("0 jobs"), "{globex_jobs}");
}

/// A `[[models]]` mapping, an entitlement and a reconciliation belong to
/// one tenant: two tenants with the same connector and the same custom
/// role each see their own mapping, contracts and figures, and reconciling
/// one keeps nothing for the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_entitlements_and_reconciliation_stay_within_their_tenant() {
    let contract = |tenant: &str, name: &str, quantity: u32, cost: &str| {
        format!(
            "\n[[entitlements]]\ntenant = \"{tenant}\"\nname = \"{name}\"\npublisher = \"SmartRecruiters\"\nproduct = \"SmartRecruiters\"\nedition = \"Standard\"\nquantity = {quantity}\nunit_cost = \"{cost}\"\ncurrency = \"EUR\"\nperiod = \"month\"\nstart = \"2020-01-01\"\nend = \"2099-12-31\"\n"
        )
    };
    let settings = format!(
        "{}{}\n[[models]]\ntenant = \"acme\"\nconnector = \"smartrecruiters\"\nidentifier = \"CUSTOM_RECRUITER\"\npublisher = \"SmartRecruiters\"\nproduct = \"SmartRecruiters\"\nedition = \"Recruiter\"\n",
        contract("acme", "ACME-SR", 10, "30.00"),
        contract("globex", "GLOBEX-SR", 3, "20.00"),
    );
    let s = setup("two-tenant-positions", &settings, false).await;
    let globex_vendor = add_globex(&s).await;
    seatwarden(&s, &["apply"]).await.unwrap();
    for (tenant, profile) in [("acme", "acme-sr"), ("globex", "globex-sr")] {
        for step in ["validate", "publish"] {
            seatwarden(&s, &["--tenant", tenant, "profile", step, profile])
                .await
                .unwrap();
        }
    }
    // Both tenants hold subscriptions with the custom role CUSTOM_RECRUITER:
    // acme's first four accounts, globex's last two.
    let with_custom_role = |mut accounts: Vec<seatwarden_domain::account::Account>,
                            which: &[usize]| {
        for &i in which {
            accounts[i].subscriptions = vec!["CUSTOM_RECRUITER".into()];
        }
        accounts
    };
    let (storage, acme_profile) = stored_profile(&s).await;
    let now = now_ms();
    store_download(
        &storage,
        acme_profile,
        &with_custom_role(aged_accounts(&s.fake.users(), 0, now), &[0, 1, 2, 3]),
        now,
    )
    .await;
    let globex = storage.find_tenant("globex").await.unwrap().unwrap();
    let globex_profile = storage
        .find_profile(globex, "globex-sr")
        .await
        .unwrap()
        .unwrap();
    store_download(
        &storage,
        globex_profile,
        &with_custom_role(aged_accounts(&globex_vendor.users(), 0, now), &[3, 4]),
        now,
    )
    .await;

    // Each tenant lists its own contract only.
    assert_eq!(
        printed(&s, &["--tenant", "acme", "entitlements"]),
        "ACME-SR: 10 x SmartRecruiters SmartRecruiters (Standard) at 30.00 EUR per month, 2020-01-01 to 2099-12-31\n"
    );
    assert_eq!(
        printed(&s, &["--tenant", "globex", "entitlements"]),
        "GLOBEX-SR: 3 x SmartRecruiters SmartRecruiters (Standard) at 20.00 EUR per month, 2020-01-01 to 2099-12-31\n"
    );
    // acme's mapping covers acme's custom role only.
    let unrecognized = |tenant: &str| -> serde_json::Value {
        serde_json::from_str(&printed(
            &s,
            &["--tenant", tenant, "report", "unrecognized", "--json"],
        ))
        .unwrap()
    };
    assert_eq!(unrecognized("acme"), serde_json::json!([]));
    assert_eq!(
        unrecognized("globex"),
        serde_json::json!([{
            "connector": "smartrecruiters",
            "identifier": "CUSTOM_RECRUITER",
            "profiles": ["globex-sr"],
            "subscriptions": 2,
        }])
    );

    // Reconciled per tenant: acme's 250 users cycle through STANDARD,
    // STANDARD, EXTENDED, RESTRICTED, ADMINISTRATOR, so 100 are Standard,
    // less the two of the first four now CUSTOM_RECRUITER: 98 used against
    // acme's 10. globex's five have the roles in the same order, the last
    // two custom: 2 Standard used against globex's 3, and no Recruiter.
    let reconciled = |tenant: &str| -> serde_json::Value {
        serde_json::from_str(&printed(&s, &["--tenant", tenant, "reconcile", "--json"])).unwrap()
    };
    let position = |doc: &serde_json::Value, edition: &str| {
        doc["models"]
            .as_array()
            .expect("models")
            .iter()
            .find(|m| m["model"]["edition"] == edition)
            .map(|m| (m["owned"].as_u64().unwrap(), m["used"].as_u64().unwrap()))
    };
    let acme = reconciled("acme");
    let globex = reconciled("globex");
    assert_eq!(position(&acme, "Standard"), Some((10, 98)), "{acme:#}");
    assert_eq!(position(&acme, "Recruiter"), Some((0, 4)), "{acme:#}");
    assert_eq!(acme["unrecognized_subscriptions"], 0, "{acme:#}");
    assert_eq!(position(&globex, "Standard"), Some((3, 2)), "{globex:#}");
    assert_eq!(position(&globex, "Recruiter"), None, "{globex:#}");
    assert_eq!(globex["unrecognized_subscriptions"], 2, "{globex:#}");
    // Each tenant's report reads its own kept run, not the other's.
    for (tenant, doc) in [("acme", &acme), ("globex", &globex)] {
        let report: serde_json::Value = serde_json::from_str(&printed(
            &s,
            &["--tenant", tenant, "report", "compliance", "--json"],
        ))
        .unwrap();
        assert_eq!(report["run"], doc["run"], "{tenant}");
    }
    assert_ne!(acme["run"], globex["run"]);
}

/// `seatwarden migrate --from sqlite:… --to postgres://…` moves a synced
/// installation whole: every row with its id (subscriptions, job runs and
/// the audit chain read back equal), each table counted on both sides,
/// the audit chain verified with the same head; the moved installation
/// goes on working on PostgreSQL; and a second move into the now
/// non-empty database is refused without changing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_installation_moves_to_postgres_whole() {
    let s = setup("move", "", true).await;
    publish(&s).await;
    seatwarden(&s, &["sync", "--profile", "acme-sr"])
        .await
        .unwrap();
    seatwarden(
        &s,
        &["deactivate", "--profile", "acme-sr", "user5@example.com"],
    )
    .await
    .unwrap();
    let file = s.dir.join("seatwarden.db");
    let sqlite = Storage::open(&file).await.unwrap();
    let tenant = sqlite.find_tenant("acme").await.unwrap().unwrap();
    let profile = sqlite
        .find_profile(tenant, "acme-sr")
        .await
        .unwrap()
        .unwrap();
    let subscriptions = sqlite.subscriptions(profile).await.unwrap();
    let jobs = sqlite.job_runs(profile).await.unwrap();
    let audit = sqlite.audit_entries(tenant).await.unwrap();
    assert_eq!(subscriptions.len(), 250);
    assert!(audit.len() >= 4, "{audit:?}");
    drop(sqlite);

    // A password in the URL (the test server trusts loopback and does not
    // ask for it) that must never be printed.
    let url = seatwarden_tests::postgres::new_database().replacen(
        "postgres://seatwarden@",
        "postgres://seatwarden:pw-never-shown@",
        1,
    );
    let from = format!("sqlite:{}", file.display());
    let moved = printed(&s, &["migrate", "--from", &from, "--to", &url]);
    assert!(
        moved
            .lines()
            .any(|l| l.starts_with("subscriptions") && l.ends_with(" 250 rows")),
        "{moved}"
    );
    let head = audit.last().unwrap().hash.clone();
    assert!(
        moved.contains(&format!(
            "tenant acme: audit chain intact, {} entries, head {head}",
            audit.len()
        )),
        "{moved}"
    );

    let postgres = Storage::connect_postgres(&url).await.unwrap();
    assert_eq!(postgres.find_tenant("acme").await.unwrap(), Some(tenant));
    assert_eq!(
        postgres.find_profile(tenant, "acme-sr").await.unwrap(),
        Some(profile)
    );
    assert_eq!(
        postgres.subscriptions(profile).await.unwrap(),
        subscriptions
    );
    assert_eq!(postgres.job_runs(profile).await.unwrap(), jobs);
    assert_eq!(postgres.audit_entries(tenant).await.unwrap(), audit);

    // The moved installation works: a sync against PostgreSQL adds job
    // runs (users and activity) whose ids follow the copied ones.
    let synced = binary(&s, &["sync", "--profile", "acme-sr"])
        .env("SEATWARDEN_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        synced.status.success(),
        "{}",
        String::from_utf8_lossy(&synced.stderr)
    );
    let after = postgres.job_runs(profile).await.unwrap();
    let new: Vec<_> = after.iter().filter(|run| run.id > jobs[0].id).collect();
    assert_eq!(new.len(), 2, "{after:?}");
    assert_eq!(after.len(), jobs.len() + 2);

    let again = binary(&s, &["migrate", "--from", &from, "--to", &url])
        .output()
        .unwrap();
    assert!(!again.status.success());
    let refused = String::from_utf8_lossy(&again.stderr);
    assert!(
        refused.contains("already holds data")
            && refused.contains("copy into a new, empty database"),
        "{refused}"
    );
    assert!(refused.contains("postgres://seatwarden:***@"), "{refused}");
    for printed in [&moved, &refused.to_string()] {
        assert!(!printed.contains("pw-never-shown"), "{printed}");
    }
    assert_eq!(postgres.job_runs(profile).await.unwrap(), after);
}
