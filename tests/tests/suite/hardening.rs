//! What a hostile connector got through before the sandbox was hardened:
//! each test drives the hostile fixture (or a vendor that echoes) against
//! the real runtime, storage and loopback servers, and asserts the host's
//! refusal, its bound, or its redaction, and that nothing was kept that
//! should not be.

use base64::Engine as _;
use seatwarden_app::sync::{ActivityOutcome, ProfileSync, SyncOptions};
use seatwarden_sandbox::CallErrorKind;
use seatwarden_sandbox::Connection;
use seatwarden_sandbox::Connector;
use seatwarden_sandbox::Credential;
use seatwarden_sandbox::Limits;
use seatwarden_sandbox::Runtime;
use seatwarden_sandbox::egress::PrivateTargets;
use seatwarden_sandbox::oauth::OAuthClient;
use seatwarden_store::{ProfileConnector, ProfileId, Storage};
use seatwarden_tests::fixtures::{fresh_database, load, runtime};
use seatwarden_tests::logs;
use seatwarden_tests::server::{Reply, TestServer};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "host-held-key-7f3a";

async fn hostile(limits: Limits) -> (Runtime, Connector) {
    logs::capture();
    let runtime = runtime(limits);
    let connector = load(&runtime, "fixture_hostile").await;
    (runtime, connector)
}

fn connection(connector: &Connector, base_url: &str, options: &[(&str, &str)]) -> Connection {
    let mut builder = Connection::builder()
        .base_url(base_url)
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(KEY));
    for (name, value) in options {
        builder = builder.option(*name, *value);
    }
    builder
        .build(connector.descriptor())
        .expect("valid connection")
}

async fn observe(connector: &Connector, conn: &Connection) -> HashMap<String, String> {
    let page = connector
        .list_users(conn, None)
        .await
        .expect("the guest returns its observations");
    page.accounts[0].attributes.iter().cloned().collect()
}

/// A database with one tenant and one profile for the hostile connector.
async fn store(name: &str, connector: &Connector) -> (Storage, ProfileId) {
    let storage = Storage::open(&fresh_database(name)).await.unwrap();
    let tenant = storage.ensure_tenant("acme", 0).await.unwrap();
    let digest = connector.digest().to_string();
    let profile = storage
        .ensure_profile(
            tenant,
            "hostile",
            &ProfileConnector {
                name: "hostile",
                version: "0.1.0",
                digest: &digest,
                base_url: "x",
            },
            0,
        )
        .await
        .unwrap();
    (storage, profile)
}

fn sync<'a>(
    storage: &'a Storage,
    connector: &'a Connector,
    conn: &'a Connection,
    profile: ProfileId,
) -> ProfileSync<'a> {
    ProfileSync {
        clock: &seatwarden_app::clock::SystemClock,
        storage,
        connector,
        connection: conn,
        profile,
        options: SyncOptions::default(),
    }
}

// 1. Memory: every field has a maximum, checked where the page enters.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_oversized_field_is_refused_naming_the_field_and_the_limit() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let cases = [
        (
            "id",
            "257",
            "accounts[0].id of 257 bytes",
            "at most 256 bytes",
        ),
        (
            "principal",
            "321",
            "accounts[0].principal of 321 bytes",
            "at most 320 bytes",
        ),
        (
            "display-name",
            "257",
            "accounts[0].display-name of 257 bytes",
            "at most 256",
        ),
        (
            "subscription",
            "257",
            "accounts[0].subscriptions[0] of 257 bytes",
            "at most 256",
        ),
        (
            "subscriptions-count",
            "33",
            "accounts[0].subscriptions of 33 entries",
            "at most 32 entries",
        ),
        (
            "attribute-name",
            "129",
            "accounts[0].attributes name",
            "at most 128 bytes",
        ),
        (
            "attribute-value",
            "8388608",
            "accounts[0].attributes[\"bio\"] value of 8388608 bytes",
            "at most 1024 bytes",
        ),
        (
            "cursor",
            "8193",
            "next-cursor of 8193 bytes",
            "at most 8192 bytes",
        ),
        (
            "accounts-count",
            "1001",
            "accounts of 1001 entries",
            "at most 1000 entries",
        ),
    ];
    for (field, size, names, limit) in cases {
        let conn = connection(
            &connector,
            "http://127.0.0.1:9",
            &[("scenario", "long-field"), ("field", field), ("size", size)],
        );
        let err = connector.list_users(&conn, None).await.unwrap_err();
        assert!(
            matches!(err.kind, CallErrorKind::Output(_)),
            "{field}: {err}"
        );
        assert_eq!(err.kind_name(), "oversized-output");
        let text = err.to_string();
        assert!(text.contains(names), "{field}: {text}");
        assert!(text.contains(limit), "{field}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_fed_a_huge_attribute_stores_nothing_of_it_and_fails_with_its_reason() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let conn = connection(
        &connector,
        "http://127.0.0.1:9",
        &[("scenario", "long-field"), ("size", "33554432")],
    );
    let (storage, profile) = store("hardening-huge", &connector).await;
    let err = sync(&storage, &connector, &conn, profile)
        .run(&|_| {})
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("at most 1024 bytes"), "{err:#}");
    assert!(storage.subscriptions(profile).await.unwrap().is_empty());
    let run = &storage.job_runs(profile).await.unwrap()[0];
    assert_eq!(run.status, "failed");
    assert_eq!(run.error_kind.as_deref(), Some("oversized-output"));
}

// 2. Paging that does not end.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycling_cursor_fails_the_run_and_marks_nothing_gone() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let (storage, profile) = store("hardening-cycle", &connector).await;
    let honest = connection(
        &connector,
        "http://127.0.0.1:9",
        &[("scenario", "timestamps")],
    );
    let first = sync(&storage, &connector, &honest, profile)
        .run_users(&|_| {})
        .await
        .unwrap();
    assert_eq!(first.accounts, 3);

    let cycling = connection(&connector, "http://127.0.0.1:9", &[("scenario", "cycle")]);
    let err = sync(&storage, &connector, &cycling, profile)
        .run_users(&|_| {})
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("returned cursor \"A\" a second time after 3 pages"),
        "{text}"
    );
    let runs = storage.job_runs(profile).await.unwrap();
    let failed = runs
        .iter()
        .find(|r| r.status == "failed")
        .expect("{runs:?}");
    assert_eq!(failed.error_kind.as_deref(), Some("cursor-loop"));
    let rows = storage.subscriptions(profile).await.unwrap();
    assert!(
        rows.iter().all(|r| r.gone_at.is_none()),
        "a runaway run marks nothing gone: {rows:?}"
    );
    assert_eq!(
        rows.len(),
        3 + 2,
        "the three honest accounts and the two pages before the repeat"
    );

    // The same for activity: a cycling stream ends with a typed failure.
    let err = sync(&storage, &connector, &cycling, profile)
        .run_activity(&|_| {})
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("a second time"), "{err:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_paging_stops_at_the_page_cap_and_a_spent_run_time_stops_it_at_once() {
    let (_rt, connector) = hostile(Limits {
        pages_per_run: 5,
        ..Limits::default()
    })
    .await;
    let (storage, profile) = store("hardening-endless", &connector).await;
    let endless = connection(&connector, "http://127.0.0.1:9", &[("scenario", "endless")]);
    let err = sync(&storage, &connector, &endless, profile)
        .run_users(&|_| {})
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("stopped after 5 pages"),
        "{err:#}"
    );
    let run = &storage.job_runs(profile).await.unwrap()[0];
    assert_eq!(run.error_kind.as_deref(), Some("page-limit"));
    // The runaway run is not resumed (it would stay at the cap for ever):
    // the next sync is a new run that lists from the start.
    sync(&storage, &connector, &endless, profile)
        .run_users(&|_| {})
        .await
        .unwrap_err();
    let runs = storage.job_runs(profile).await.unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(runs.iter().all(|r| r.pages == 5), "{runs:?}");

    let (_rt, timed) = hostile(Limits {
        run_time: Duration::ZERO,
        ..Limits::default()
    })
    .await;
    let endless = connection(&timed, "http://127.0.0.1:9", &[("scenario", "endless")]);
    let err = sync(&storage, &timed, &endless, profile)
        .run_activity(&|_| {})
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("limits.run_time"), "{err:#}");
}

// 3. CPU spent in host calls is charged.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_spent_in_host_calls_counts_against_the_budget() {
    // Ten host calls that each make the host copy and check a 96 MiB
    // string (tens of ms each): counted per epoch tick the guest observes,
    // that was one 10 ms tick per call, ~100-150 ms in all, whatever the
    // calls cost; counted as thread CPU time it is over the budget.
    let (_rt, connector) = hostile(Limits {
        cpu_budget: Duration::from_millis(250),
        ..Limits::default()
    })
    .await;
    let conn = connection(
        &connector,
        "http://127.0.0.1:9",
        &[("scenario", "host-cpu"), ("count", "10"), ("size", "96")],
    );
    let err = connector.list_users(&conn, None).await.unwrap_err();
    assert!(matches!(err.kind, CallErrorKind::CpuBudget(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "connector hostile@0.1.0: list-users exceeded its 250 ms CPU budget"
    );
}

// 5. Credentials travel over HTTPS.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_is_never_configured_to_travel_over_plain_http_to_a_public_host() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let build = |base: &str, private: PrivateTargets| {
        Connection::builder()
            .base_url(base)
            .private_targets(private)
            .credential(Credential::secret(KEY))
            .build(connector.descriptor())
            .map(|_| ())
            .map_err(|e| format!("{e:#}"))
    };
    let public = build("http://8.8.8.8", PrivateTargets::AllowPrivate).unwrap_err();
    assert!(
        public.contains("plain http to the public address 8.8.8.8"),
        "{public}"
    );
    let named = build("http://vendor.example.com/api", PrivateTargets::Deny).unwrap_err();
    assert!(named.contains("over plain http; use https://"), "{named}");
    let private = build("http://10.1.2.3", PrivateTargets::AllowLoopback).unwrap_err();
    assert!(
        private.contains("which private_targets does not allow"),
        "{private}"
    );
    assert_eq!(
        build("http://127.0.0.1:8080", PrivateTargets::AllowLoopback),
        Ok(())
    );
    assert_eq!(
        build("https://vendor.example.com", PrivateTargets::Deny),
        Ok(())
    );

    let scim = load(&_rt, "scim").await;
    let oauth = Connection::builder()
        .base_url("https://vendor.example.com")
        .allow_host("http://tokens.example.com")
        .auth_scheme(seatwarden_sandbox::AuthScheme::OAuth2ClientCredentials)
        .credential(Credential::OAuth2(Arc::new(OAuthClient::new(
            "id".into(),
            "client-secret".to_string().into(),
            "http://tokens.example.com/token".into(),
            None,
        ))))
        .build(scim.descriptor())
        .unwrap_err();
    assert!(
        format!("{oauth:#}").contains("over plain http"),
        "{oauth:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_is_told_exactly_where_the_credential_goes() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let conn = Connection::builder()
        .base_url("http://127.0.0.1:8080/api")
        .allow_host("https://files.example.com")
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(KEY))
        .build(connector.descriptor())
        .unwrap();
    assert_eq!(
        conn.credential_destinations(),
        vec![
            "http://127.0.0.1:8080".to_string(),
            "https://files.example.com:443".to_string()
        ]
    );
}

// 6. Methods, bodies and overrides; 8. the Host header.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_known_methods_leave_and_read_calls_cannot_disguise_a_write() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let server = TestServer::start(|r| Reply::text(200, format!("echo {}", r.method))).await;
    let url = format!("{}/users", server.url());
    for (method, body, verb) in [
        ("TRACE", None, None),
        ("CONNECT", None, None),
        ("get", None, None),
        ("PROPFIND", None, None),
        ("GET", Some("{\"active\":false}"), None),
        ("GET", None, Some("DELETE")),
        ("HEAD", None, Some("PATCH")),
    ] {
        let mut options = vec![
            ("scenario", "raw"),
            ("url", url.as_str()),
            ("method", method),
        ];
        if let Some(body) = body {
            options.push(("body", body));
        }
        if let Some(verb) = verb {
            options.push(("override", verb));
        }
        let conn = connection(&connector, &server.url(), &options);
        let seen = observe(&connector, &conn).await;
        assert!(
            seen.contains_key("error"),
            "{method} body={body:?} override={verb:?} must not leave: {seen:?}"
        );
    }
    assert!(server.requests().is_empty(), "{:?}", server.requests());

    // In a write call too: TRACE would echo the credential back.
    let trace = connection(
        &connector,
        &server.url(),
        &[("url", url.as_str()), ("method", "TRACE")],
    );
    let err = connector.deactivate_user(&trace, "u1").await.unwrap_err();
    assert!(err.to_string().contains("denied"), "{err}");
    assert!(server.requests().is_empty());
    let patch = connection(
        &connector,
        &server.url(),
        &[("url", url.as_str()), ("method", "PATCH")],
    );
    connector.deactivate_user(&patch, "u1").await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, http::Method::PATCH);
    let logged = logs::lines_with(&["sandbox refused", "TRACE", "known methods only"]);
    assert!(!logged.is_empty(), "{}", logs::all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_info_in_the_authority_is_refused_and_host_is_what_the_allowlist_matched() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let server = TestServer::start(|_| Reply::text(200, "ok")).await;
    let sneaky = format!("http://attacker@127.0.0.1:{}/x", server.port());
    let conn = connection(
        &connector,
        &server.url(),
        &[("scenario", "raw"), ("url", sneaky.as_str())],
    );
    let seen = observe(&connector, &conn).await;
    assert!(seen.contains_key("error"), "{seen:?}");
    assert!(server.requests().is_empty());

    let plain = format!("http://127.0.0.1:{}/x", server.port());
    let conn = connection(
        &connector,
        &server.url(),
        &[("scenario", "raw"), ("url", plain.as_str())],
    );
    let seen = observe(&connector, &conn).await;
    assert!(seen["status"].starts_with("200"), "{seen:?}");
    let host = server.requests()[0].header("host").map(str::to_string);
    assert_eq!(host, Some(format!("127.0.0.1:{}", server.port())));
}

// 7. Secrets echoed back are redacted before anything keeps them.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_the_vendor_echoes_is_redacted_from_errors_logs_stderr_pages_and_storage() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(KEY);
    // A vendor that reflects the request's credential header in its body.
    let server = TestServer::start(|r| {
        Reply::text(
            200,
            format!("you sent {}", r.header("x-smarttoken").unwrap_or("nothing")),
        )
    })
    .await;
    let url = server.url();
    let conn = connection(
        &connector,
        &url,
        &[("scenario", "fetch"), ("url", url.as_str())],
    );
    let seen = observe(&connector, &conn).await;
    assert_eq!(seen["status"], "200 you sent [redacted]");

    let echo = format!("key={KEY} basic={b64}");
    let (storage, profile) = store("hardening-echo", &connector).await;
    let fields = connection(
        &connector,
        &server.url(),
        &[("scenario", "echo-fields"), ("echo", echo.as_str())],
    );
    sync(&storage, &connector, &fields, profile)
        .run_users(&|_| {})
        .await
        .unwrap();
    let stored = format!("{:?}", storage.subscriptions(profile).await.unwrap());
    assert!(stored.contains("[redacted]"), "{stored}");

    let failing = connection(
        &connector,
        &server.url(),
        &[("scenario", "echo-error"), ("echo", echo.as_str())],
    );
    let err = sync(&storage, &connector, &failing, profile)
        .run_users(&|_| {})
        .await
        .unwrap_err();
    let runs = format!("{:?}", storage.job_runs(profile).await.unwrap());
    let b64_unpadded = b64.trim_end_matches('=');
    for (what, text) in [
        ("error", format!("{err:#}")),
        ("stored rows", stored),
        ("job runs", runs),
        ("logs", logs::all()),
    ] {
        assert!(!text.contains(KEY), "{what} holds the key: {text}");
        assert!(
            !text.contains(b64_unpadded),
            "{what} holds its base64: {text}"
        );
    }
    assert!(
        format!("{err:#}").contains("vendor said: key=[redacted]"),
        "{err:#}"
    );
}

// 9 and 11. Repetition is capped and summarised.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_refusals_and_a_huge_error_are_summarised_not_kept_whole() {
    let (_rt, connector) = hostile(Limits {
        requests_per_call: 2,
        ..Limits::default()
    })
    .await;
    let server = TestServer::start(|_| Reply::text(200, "ok")).await;
    let url = server.url();
    let conn = connection(
        &connector,
        &url,
        &[
            ("scenario", "burst"),
            ("count", "5000"),
            ("url", url.as_str()),
        ],
    );
    let seen = observe(&connector, &conn).await;
    assert_eq!(seen["denied"], "4998");
    let logged = logs::lines_with(&["sandbox refused an outbound request", "hostile@0.1.0"]);
    assert_eq!(logged.len(), 10, "the first ten are listed");
    assert_eq!(
        logs::lines_with(&["unlisted=4988"]).len(),
        1,
        "{}",
        logs::all()
    );

    let huge = connection(
        &connector,
        &server.url(),
        &[("scenario", "huge-error"), ("size", "52428800")],
    );
    let err = connector.list_users(&huge, None).await.unwrap_err();
    let text = err.to_string();
    assert!(text.len() < 2048, "{} bytes", text.len());
    assert!(
        text.ends_with("…[52427776 more bytes cut]"),
        "{}",
        &text[text.len() - 60..]
    );
}

// 12. Timestamps no vendor can mean.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impossible_timestamps_are_set_aside_counted_and_shown_in_the_job_result() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let (storage, profile) = store("hardening-time", &connector).await;
    let conn = connection(
        &connector,
        "http://127.0.0.1:9",
        &[("scenario", "timestamps")],
    );
    let report = sync(&storage, &connector, &conn, profile)
        .run(&|_| {})
        .await
        .unwrap();
    assert_eq!(report.discarded.account_timestamps, 3);
    let ActivityOutcome::Pulled {
        discarded, events, ..
    } = &report.activity
    else {
        panic!("{:?}", report.activity)
    };
    assert_eq!(
        (discarded.events_before_window, discarded.events_in_future),
        (2, 2)
    );
    assert_eq!(*events, 1);
    let rows = storage.subscriptions(profile).await.unwrap();
    let by_id: HashMap<_, _> = rows.iter().map(|r| (r.account_id.as_str(), r)).collect();
    assert_eq!(by_id["far-future"].last_active_at, None);
    assert_eq!(by_id["far-future"].created_at, None);
    assert_eq!(by_id["year-9999"].last_active_at, None);
    assert_eq!(by_id["stale"].created_at, Some(1_600_000_000_000));
    let stale = by_id["stale"]
        .last_active_at
        .expect("the one plausible event");
    assert!(stale < seatwarden_tests::fixtures::now_ms(), "{stale}");
    let runs = storage.job_runs(profile).await.unwrap();
    let details: Vec<&str> = runs.iter().filter_map(|r| r.detail.as_deref()).collect();
    assert!(
        details
            .iter()
            .any(|d| d.contains("3 account timestamps out of range ignored")),
        "{details:?}"
    );
    assert!(
        details.iter().any(|d| d.contains(
            "2 events before the requested window dropped, 2 events dated in the future dropped"
        )),
        "{details:?}"
    );
}

// Issue 20: the vendor's listing is not taken as the truth blindly.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_repeating_a_page_under_an_advancing_cursor_fails_the_run() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let (storage, profile) = store("hardening-same-page", &connector).await;
    let conn = connection(
        &connector,
        "http://127.0.0.1:9",
        &[("scenario", "same-page")],
    );
    let err = sync(&storage, &connector, &conn, profile)
        .run_users(&|_| {})
        .await
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("answered page 2 with only accounts it had already listed"),
        "{err:#}"
    );
    let run = &storage.job_runs(profile).await.unwrap()[0];
    assert_eq!(run.error_kind.as_deref(), Some("repeated-page"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_with_control_characters_are_refused_and_free_text_is_one_line() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let conn = connection(&connector, "http://127.0.0.1:9", &[("scenario", "escapes")]);
    let err = connector.list_users(&conn, None).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("returned accounts[0].id with a control character in it"),
        "{err}"
    );
    // A display name or attribute value that would print a second line.
    let forged = "bob\nprofile acme: validation passed";
    let conn = connection(
        &connector,
        "http://127.0.0.1:9",
        &[("scenario", "echo-fields"), ("echo", forged)],
    );
    let page = connector.list_users(&conn, None).await.unwrap();
    let account = &page.accounts[0];
    assert_eq!(
        account.display_name.as_deref(),
        Some("name bob profile acme: validation passed")
    );
    assert!(account.attributes.iter().all(|(_, v)| !v.contains('\n')));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_smuggled_into_a_refused_destination_is_redacted_there_too() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let server = TestServer::start(|_| Reply::text(200, "ok")).await;
    let smuggled = format!("http://{KEY}.collector.example/");
    let conn = connection(
        &connector,
        &server.url(),
        &[("scenario", "fetch"), ("url", smuggled.as_str())],
    );
    let seen = observe(&connector, &conn).await;
    assert!(seen.contains_key("error"), "{seen:?}");
    let logged = logs::lines_with(&["sandbox refused an outbound request"]);
    assert_eq!(logged.len(), 1, "{}", logs::all());
    assert!(
        logged[0].contains("[redacted].collector.example"),
        "{}",
        logged[0]
    );
    assert!(!logs::all().contains(KEY), "{}", logs::all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_may_slow_its_requests_down_but_never_past_the_default_rate() {
    use std::os::unix::fs::PermissionsExt;
    let runtime = runtime(Limits::default());
    let dir = fresh_database("default-rate").with_extension("d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("dir.key"), "directory-key").unwrap();
    std::fs::set_permissions(dir.join("dir.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = dir.join("seatwarden.toml");
    // (component, the connection's own rate_limit line, the rate the host holds it to)
    let cases = [
        // The SDK's empty `vendor`: no declared rate, the default.
        ("fixture_directory", "", "20/s"),
        // Built for 0.2.1, before `vendor` existed: the default.
        ("fixture_contract_0_2_1", "", "20/s"),
        // Declares 20000/s: held to the default.
        ("fixture_hostile", "", "20/s"),
        // The vendors' published limits, as their connectors declare them.
        ("smartrecruiters", "", "10/s"),
        ("smartsheet", "", "300/min"),
        // The operator's limit beats any declaration, in both directions.
        ("fixture_hostile", "rate_limit = \"2/s\"\n", "2/s"),
        ("smartrecruiters", "rate_limit = \"50/s\"\n", "50/s"),
    ];
    for (component, rate_limit, expected) in cases {
        let connector = load(&runtime, component).await;
        let text = format!(
            "[tenants.acme]\n\n[connections.dir]\ntenant = \"acme\"\nconnector = \"{}\"\nbase_url = \"http://127.0.0.1:9\"\nprivate_targets = \"allow-loopback\"\ncredential = {{ file = \"dir.key\" }}\n{rate_limit}",
            seatwarden_tests::fixtures::guest(component).display()
        );
        let config = seatwarden_config::Config::parse(&text, &path).unwrap();
        let conn = seatwarden_app::wiring::connection_builder(
            &config.connections["dir"],
            &connector,
            (&path, "connections.dir"),
            &seatwarden_sandbox::ratelimit::RateLimiters::default(),
        )
        .unwrap()
        .build(connector.descriptor())
        .unwrap();
        assert_eq!(
            conn.rate_limit().map(|r| r.to_string()).as_deref(),
            Some(expected),
            "{component} {rate_limit}"
        );
    }
}
