//! The conformance suite (`seatwarden connector test`): every shipped
//! connector passes it against its vendor fake or real peer, so do the
//! examples written in Python (componentize-py) and JavaScript (jco), and a
//! connector with one chosen flaw fails exactly the check written for that
//! flaw.

use seatwarden_cli::{Cli, run};
use seatwarden_kit::conformance::{self, Outcome, Plan, Report};
use seatwarden_sandbox::Connection;
use seatwarden_sandbox::Connector;
use seatwarden_sandbox::Credential;
use seatwarden_sandbox::Limits;
use seatwarden_sandbox::connection::ConnectionBuilder;
use seatwarden_sandbox::credentials::AuthScheme;
use seatwarden_sandbox::egress::PrivateTargets;
use seatwarden_tests::directory_fake::{DirectoryFake, seed_users};
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::fixtures::{guest, load, repo_root, runtime};
use seatwarden_tests::scim_server::{ScimServer, seed_user};
use seatwarden_tests::smartrecruiters_fake::{SmartRecruitersFake, seed_tenant as sr_tenant};
use seatwarden_tests::smartsheet_fake::{SmartsheetFake, SsTenant, seed_tenant as ss_tenant};

const KEY: &str = "dir-key-conformance-1";

fn loopback(base_url: &str, secret: &str) -> ConnectionBuilder {
    Connection::builder()
        .base_url(base_url)
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(secret))
}

async fn conformance(connector: &Connector, builder: ConnectionBuilder, plan: Plan) -> Report {
    conformance::run(connector, builder, &plan)
        .await
        .expect("the connection builds")
}

fn outcome(report: &Report, check: &str) -> Outcome {
    report
        .check(check)
        .unwrap_or_else(|| panic!("no check {check:?} in\n{}", report.table()))
        .outcome
}

/// The report passed, and each of `checks` passed (not warned or skipped).
fn assert_passes<'a>(report: &Report, checks: impl IntoIterator<Item = &'a &'a str>) {
    assert!(report.passed(), "{}", report.table());
    for check in checks {
        assert_eq!(
            outcome(report, check),
            Outcome::Pass,
            "{check}\n{}",
            report.table()
        );
    }
}

const WRITES: [&str; 2] = ["deactivate-user is idempotent", "reactivate-user undoes it"];

fn writes_on(account: &str) -> Plan {
    Plan {
        write_account: Some(account.to_string()),
        ..Plan::default()
    }
}

/// The checks every well-behaved connector with activity and writes passes.
const CORE: [&str; 12] = [
    "describe is well-formed and stable",
    "validate accepts the connection",
    "list-users pages end",
    "no account repeats",
    "accounts have an id and a principal",
    "get-activity respects since",
    "list-users on HTTP 401",
    "list-users on HTTP 429 with Retry-After: 7",
    "list-users on a truncated body",
    "list-users on a read timeout",
    "reads send no writes",
    "stays inside its hosts",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_connector_passes_every_check_and_its_test_account_ends_active() {
    let fake = DirectoryFake::start(KEY, seed_users(250, now_ms())).await;
    let connector = load(&runtime(Limits::default()), "fixture_directory").await;
    let report = conformance(&connector, loopback(&fake.url(), KEY), writes_on("u-00001")).await;

    assert!(report.passed(), "{}", report.table());
    assert_eq!(report.count(Outcome::Warn), 0, "{}", report.table());
    for check in CORE.iter().chain(&[
        "the same cursor gives the same page",
        "deactivate-user is idempotent",
        "reactivate-user undoes it",
        "activity names listed accounts",
        "list-users on a connection cut mid-body",
        "validate on HTTP 401",
    ]) {
        assert_eq!(
            outcome(&report, check),
            Outcome::Pass,
            "{check}\n{}",
            report.table()
        );
    }
    assert!(
        fake.users()
            .iter()
            .find(|u| u.id == "u-00001")
            .unwrap()
            .active,
        "the test account is active again"
    );
    let posts: Vec<String> = fake
        .server
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.target)
        .collect();
    assert_eq!(
        posts,
        [
            "/users/u-00001/deactivate",
            "/users/u-00001/deactivate",
            "/users/u-00001/reactivate",
            "/users/u-00001/reactivate"
        ],
        "the kit writes to the named account only"
    );
    assert!(report.answered_by_host >= 12, "{}", report.table());
    assert_eq!(
        fake.server.requests().len(),
        report.requests - report.answered_by_host,
        "every request the tap did not answer reached the vendor, and no injected status or transport fault did"
    );
    let table = report.table();
    assert!(table.contains("PASSED"), "{table}");
    assert!(!table.contains(KEY), "the credential never shows");
}

/// A connector of the Example Directory written in another language passes
/// every check against the Rust fake, with the host holding the key.
async fn another_language_passes_every_check(fixture: &str, label: &str) {
    let fake = DirectoryFake::start(KEY, seed_users(250, now_ms())).await;
    let connector = load(&runtime(Limits::default()), fixture).await;
    assert_eq!(connector.descriptor().label(), label);
    let builder = loopback(&fake.url(), KEY).option("page-size", "40");
    let report = conformance(&connector, builder, writes_on("u-00002")).await;

    assert!(report.passed(), "{}", report.table());
    assert_eq!(report.count(Outcome::Warn), 0, "{}", report.table());
    for check in CORE.iter().chain(&[
        "the same cursor gives the same page",
        "deactivate-user is idempotent",
        "reactivate-user undoes it",
        "list-users on JSON of the wrong shape",
    ]) {
        assert_eq!(
            outcome(&report, check),
            Outcome::Pass,
            "{check}\n{}",
            report.table()
        );
    }
    let pages: Vec<String> = fake
        .server
        .requests()
        .into_iter()
        .filter(|r| r.target.starts_with("/users?"))
        .map(|r| r.target)
        .collect();
    assert!(
        pages.iter().all(|t| t.contains("pageSize=40")),
        "the option reaches the guest code: {pages:?}"
    );
    assert!(
        fake.server
            .requests()
            .iter()
            .all(|r| r.header("x-directory-key") == Some(KEY)),
        "the host added the key to every request; the guest code never holds it"
    );
    assert!(
        fake.users()
            .iter()
            .find(|u| u.id == "u-00002")
            .unwrap()
            .active
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_connector_built_with_componentize_py_passes_every_check() {
    another_language_passes_every_check("directory_python", "directory-python@0.1.0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_javascript_connector_built_with_jco_passes_every_check() {
    another_language_passes_every_check("directory_js", "directory-js@0.1.0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_flaw_fails_the_check_written_for_it() {
    let fake = DirectoryFake::start(KEY, seed_users(40, now_ms())).await;
    let connector = load(&runtime(Limits::default()), "fixture_sloppy").await;
    let cases = [
        ("none", None),
        (
            "trap-on-garbage",
            Some(("list-users on an HTML page instead of JSON", "trap")),
        ),
        (
            "accept-errors",
            Some(("list-users on HTTP 500", "succeeded")),
        ),
        ("repeat-accounts", Some(("no account repeats", "u-00000"))),
        ("loop", Some(("list-users pages end", "again"))),
        (
            "ignore-since",
            Some(("get-activity respects since", "filter by since")),
        ),
        ("wander", Some(("stays inside its hosts", "127.0.0.2"))),
        ("write-in-validate", Some(("reads send no writes", "POST"))),
    ];
    for (flaw, failing) in cases {
        let builder = loopback(&fake.url(), KEY).option("flaw", flaw);
        let report = conformance(&connector, builder, Plan::default()).await;
        let Some((check, mentions)) = failing else {
            assert!(report.passed(), "without a flaw: {}", report.table());
            continue;
        };
        assert!(!report.passed(), "{flaw}: {}", report.table());
        let found = report
            .check(check)
            .unwrap_or_else(|| panic!("{flaw}: no {check}"));
        assert_eq!(found.outcome, Outcome::Fail, "{flaw}: {}", report.table());
        assert!(
            found.detail.contains(mentions),
            "{flaw}: {check} should mention {mentions:?}: {}",
            found.detail
        );
    }

    // Allowed by the operator, the extra host passes the sandbox, but the
    // connector never declared it: a warning, not a failure.
    let builder = loopback(&fake.url(), KEY)
        .option("flaw", "wander")
        .allow_host("http://127.0.0.2:9");
    let report = conformance(&connector, builder, Plan::default()).await;
    assert!(report.passed(), "{}", report.table());
    let hosts = report.check("stays inside its hosts").unwrap();
    assert_eq!(hosts.outcome, Outcome::Warn, "{}", report.table());
    assert!(
        hosts.detail.contains("http://127.0.0.2:9"),
        "{}",
        hosts.detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smartrecruiters_passes_against_its_fake() {
    const TOKEN: &str = "DCRA1-conformance";
    let mut tenant = sr_tenant(TOKEN, 120, now_ms());
    tenant.rate_limit = None;
    let fake = SmartRecruitersFake::start(tenant).await;
    let account = fake.users().iter().find(|u| u.active).unwrap().id.clone();
    let connector = load(&runtime(Limits::default()), "smartrecruiters").await;
    let report = conformance(
        &connector,
        loopback(&fake.url(), TOKEN),
        writes_on(&account),
    )
    .await;
    assert_passes(&report, CORE.iter().chain(&WRITES));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smartsheet_passes_against_its_fake() {
    const TOKEN: &str = "ll352u9jujauoqz4conformance";
    let tenant = SsTenant {
        requests_per_minute: None,
        ..ss_tenant(TOKEN, 150, now_ms(), true)
    };
    let fake = SmartsheetFake::start(tenant).await;
    let account = fake
        .users()
        .iter()
        .find(|u| u.status == "ACTIVE" && !u.admin)
        .unwrap()
        .id
        .to_string();
    let connector = load(&runtime(Limits::default()), "smartsheet").await;
    let report = conformance(
        &connector,
        loopback(&fake.base_url(), TOKEN),
        writes_on(&account),
    )
    .await;
    assert_passes(&report, CORE.iter().chain(&WRITES));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_passes_against_its_fake() {
    use seatwarden_tests::okta_fake::{APP_ID, OktaFake, OktaTenant, seed_tenant};
    const TOKEN: &str = "00QCjAl4MlV-conformance";
    let fake = OktaFake::start(OktaTenant {
        requests_per_minute: None,
        ..seed_tenant(TOKEN, 140, now_ms())
    })
    .await;
    let connector = load(&runtime(Limits::default()), "okta").await;
    // No write round trip: removing an assignment cannot be undone by the
    // connector (reactivate-user is unsupported), and the kit's write check
    // needs both halves.
    let report = conformance(
        &connector,
        loopback(&fake.base_url(), TOKEN).option("app-id", APP_ID),
        Plan::default(),
    )
    .await;
    assert_passes(&report, &CORE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_passes_against_its_fake() {
    use seatwarden_sandbox::oauth::{ClientAuthentication, OAuthClient};
    use seatwarden_tests::entra_fake::{APP_ID, EntraFake, seed_direct_only};
    const CLIENT: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
    const SECRET: &str = "entra-conformance~secret";
    // Nobody both direct and in an assigned group: such a person is listed
    // twice (see the README), which this check would rightly flag.
    let fake = EntraFake::start(seed_direct_only(CLIENT, SECRET, 140, now_ms())).await;
    let connector = load(&runtime(Limits::default()), "entra").await;
    let client = OAuthClient::new(
        CLIENT.into(),
        SECRET.to_string().into(),
        fake.token_url(),
        Some("https://graph.microsoft.com/.default".into()),
    )
    .with_client_authentication(ClientAuthentication::Post);
    // No write round trip: reactivate-user is unsupported, as for Okta.
    let report = conformance(
        &connector,
        loopback(&fake.base_url(), SECRET)
            .credential(Credential::OAuth2(std::sync::Arc::new(client)))
            .option("app-id", APP_ID),
        Plan::default(),
    )
    .await;
    assert_passes(&report, &CORE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_passes_against_a_real_scim_server() {
    const TOKEN: &str = "scim-conformance-77";
    let server = ScimServer::start(TOKEN).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..120 {
        ids.push(server.create_user(&seed_user(i)).await.unwrap());
    }
    let connector = load(&runtime(Limits::default()), "scim").await;
    let builder = loopback(&server.base_url(), TOKEN).auth_scheme(AuthScheme::BearerToken);
    let report = conformance(&connector, builder, writes_on(&ids[3])).await;
    assert!(report.passed(), "{}", report.table());
    for check in [
        "list-users pages end",
        "no account repeats",
        "the same cursor gives the same page",
        "list-users on HTTP 429 with Retry-After: 7",
        "list-users on a truncated body",
        "deactivate-user is idempotent",
        "reactivate-user undoes it",
        "stays inside its hosts",
    ] {
        assert_eq!(
            outcome(&report, check),
            Outcome::Pass,
            "{check}\n{}",
            report.table()
        );
    }
}

fn write_settings(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("conformance.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn connector_test(file: &std::path::Path, settings: &std::path::Path) -> anyhow::Result<()> {
    let cache = repo_root().join("target/test-compile-cache");
    run(<Cli as clap::Parser>::parse_from([
        "seatwarden",
        "--cache-dir",
        &cache.display().to_string(),
        "connector",
        "test",
        &file.display().to_string(),
        "--settings",
        &settings.display().to_string(),
        "--json",
    ]))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_reads_a_settings_file_and_fails_when_a_check_fails() {
    let fake = DirectoryFake::start(KEY, seed_users(30, now_ms())).await;
    let dir = repo_root().join("target/test-work/conformance-cli");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("key"), KEY).unwrap();
    std::fs::set_permissions(
        dir.join("key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let settings = |flaw: &str| {
        format!(
            "[connection]\nbase_url = \"{}\"\nprivate_targets = \"allow-loopback\"\ncredential = {{ file = \"key\" }}\noptions = {{ flaw = \"{flaw}\" }}\n\n[conformance]\nwrite_account = \"u-00002\"\n",
            fake.url()
        )
    };
    let good = write_settings(&dir, &settings("none"));
    connector_test(&guest("fixture_sloppy"), &good)
        .await
        .unwrap();

    let flawed = write_settings(&dir, &settings("repeat-accounts"));
    let err = connector_test(&guest("fixture_sloppy"), &flawed)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("conformance checks failed"), "{err}");

    let typo = write_settings(
        &dir,
        &format!(
            "[connection]\nbase_url = \"{}\"\npage_size = 3\n",
            fake.url()
        ),
    );
    let err = connector_test(&guest("fixture_sloppy"), &typo)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("conformance.toml"), "names the file: {err}");
    assert!(err.contains("connection"), "names the table: {err}");
    assert!(err.contains("page_size"), "names the key: {err}");

    let no_table = write_settings(&dir, "base_url = \"http://127.0.0.1:1\"\n");
    let err = connector_test(&guest("fixture_sloppy"), &no_table)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no [connection] table"), "{err}");
}
