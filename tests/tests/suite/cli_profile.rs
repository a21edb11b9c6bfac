//! The command line an operator runs, in-process, against the
//! SmartRecruiters fake: `sync`, `subscriptions`, `deactivate`, with the
//! configuration file, credential file and database they use.

use clap::Parser;
use seatwarden::cli::{Cli, run};
use seatwarden::storage::Storage;
use seatwarden::sync::now_ms;
use seatwarden_tests::fixtures::{guest, repo_root};
use seatwarden_tests::smartrecruiters_fake::{SmartRecruitersFake, SrTenant, seed_tenant};
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
    for step in [
        &["serve", "--once"][..],
        &["jobs"],
        &["jobs", "--failed", "--json"],
    ] {
        seatwarden(&s, step).await.unwrap();
    }
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
