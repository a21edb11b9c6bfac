//! Hostile-connector tests: each one runs a misbehaving guest in the real
//! sandbox against real loopback servers, and asserts that the sandbox
//! contained it, that the operator was told, and that the host keeps working.

use seatwarden_sandbox::CallErrorKind;
use seatwarden_sandbox::Connection;
use seatwarden_sandbox::Connector;
use seatwarden_sandbox::Credential;
use seatwarden_sandbox::Limits;
use seatwarden_sandbox::Runtime;
use seatwarden_sandbox::egress::PrivateTargets;
use seatwarden_tests::fixtures::{load, runtime};
use seatwarden_tests::logs;
use seatwarden_tests::server::{Reply, TestServer};
use std::collections::HashMap;
use std::time::Duration;

const KEY: &str = "host-held-key-7f3a";

async fn hostile(limits: Limits) -> (Runtime, Connector) {
    logs::capture();
    let runtime = runtime(limits);
    let connector = load(&runtime, "fixture_hostile").await;
    (runtime, connector)
}

fn connection(
    connector: &Connector,
    base_url: &str,
    scenario: &str,
    url: &str,
    private: PrivateTargets,
) -> Connection {
    Connection::builder()
        .base_url(base_url)
        .private_targets(private)
        .credential(Credential::secret(KEY))
        .option("scenario", scenario)
        .option("url", url)
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

async fn ok_server() -> TestServer {
    TestServer::start(|_| Reply::text(200, "hello")).await
}

/// Proves the runtime still serves calls after a guest was stopped.
async fn assert_host_still_serves(connector: &Connector) {
    let server = ok_server().await;
    let conn = connection(
        connector,
        &server.url(),
        "fetch",
        &server.url(),
        PrivateTargets::AllowLoopback,
    );
    let seen = observe(connector, &conn).await;
    assert_eq!(seen.get("status").map(String::as_str), Some("200 hello"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop_is_interrupted_within_its_cpu_budget() {
    let limits = Limits {
        cpu_budget: Duration::from_millis(300),
        ..Limits::default()
    };
    let (_rt, connector) = hostile(limits).await;
    let conn = connection(
        &connector,
        "http://127.0.0.1:9",
        "infinite-loop",
        "",
        PrivateTargets::AllowLoopback,
    );
    let err = connector.list_users(&conn, None).await.unwrap_err();
    assert!(matches!(err.kind, CallErrorKind::CpuBudget(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "connector hostile@0.1.0: list-users exceeded its 300 ms CPU budget"
    );
    assert_host_still_serves(&connector).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bomb_is_refused_and_the_host_survives() {
    let limits = Limits {
        memory_bytes: 32 * 1024 * 1024,
        ..Limits::default()
    };
    let (_rt, connector) = hostile(limits).await;
    let conn = connection(
        &connector,
        "http://127.0.0.1:9",
        "memory-bomb",
        "",
        PrivateTargets::AllowLoopback,
    );
    let err = connector.list_users(&conn, None).await.unwrap_err();
    match err.kind {
        CallErrorKind::MemoryLimit { limit, requested } => {
            assert_eq!(limit, 32 * 1024 * 1024);
            assert!(requested > limit);
        }
        ref other => panic!("expected a memory limit error, got {other:?}: {err}"),
    }
    assert!(
        err.to_string()
            .contains("exceeded its memory limit of 32 MiB"),
        "{err}"
    );
    assert_host_still_serves(&connector).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_to_a_host_off_the_allowlist_is_denied_and_logged() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let allowed = ok_server().await;
    let other = ok_server().await;
    let conn = connection(
        &connector,
        &allowed.url(),
        "fetch",
        &other.url(),
        PrivateTargets::AllowLoopback,
    );
    let seen = observe(&connector, &conn).await;
    assert!(seen["error"].contains("sandbox refused"), "{seen:?}");
    assert!(
        other.requests().is_empty(),
        "the other host must never be contacted"
    );
    let origin = format!("http://127.0.0.1:{}", other.port());
    let lines = logs::lines_with(&[
        "sandbox refused an outbound request",
        &origin,
        "deny by default",
    ]);
    assert_eq!(lines.len(), 1, "{}", logs::all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_metadata_addresses_are_refused_even_when_allowlisted() {
    let (_rt, connector) = hostile(Limits::default()).await;
    // https: a credential never goes to these over plain http at all (the
    // connection is refused when configured); this is the check after DNS.
    for target in [
        "https://169.254.169.254",
        "https://[::ffff:169.254.169.254]",
        "https://[fd00:ec2::254]",
    ] {
        let conn = Connection::builder()
            .base_url(target)
            .private_targets(PrivateTargets::AllowPrivate)
            .credential(Credential::secret(KEY))
            .option("scenario", "fetch")
            .option("url", format!("{target}/latest/meta-data/"))
            .build(connector.descriptor())
            .unwrap();
        let seen = observe(&connector, &conn).await;
        assert!(
            seen["error"].contains("sandbox refused"),
            "{target}: {seen:?}"
        );
    }
    assert_eq!(
        logs::lines_with(&["sandbox refused", "cloud-metadata"]).len(),
        3,
        "{}",
        logs::all()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_resolving_to_loopback_is_refused_unless_loopback_is_allowed() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let server = ok_server().await;
    let url = format!("http://localhost:{}", server.port());
    // Over https, so the connection can be built without loopback allowed
    // (plain http with a credential needs it); the refusal comes after DNS.
    let tls_url = format!("https://localhost:{}", server.port());
    let denied = connection(
        &connector,
        &tls_url,
        "fetch",
        &tls_url,
        PrivateTargets::Deny,
    );
    let seen = observe(&connector, &denied).await;
    assert!(seen["error"].contains("sandbox refused"), "{seen:?}");
    assert!(server.requests().is_empty());
    assert!(
        !logs::lines_with(&["localhost resolved only to", "(loopback)"]).is_empty(),
        "{}",
        logs::all()
    );

    let allowed = connection(
        &connector,
        &url,
        "fetch",
        &url,
        PrivateTargets::AllowLoopback,
    );
    let seen = observe(&connector, &allowed).await;
    assert_eq!(
        seen.get("status").map(String::as_str),
        Some("200 hello"),
        "{seen:?}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_host_is_not_followed_by_the_host_and_denied_to_the_guest() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let elsewhere = ok_server().await;
    let target = format!("{}/steal", elsewhere.url());
    let redirecting = TestServer::start(move |_| Reply::redirect(&target)).await;
    let conn = connection(
        &connector,
        &redirecting.url(),
        "follow-redirect",
        &redirecting.url(),
        PrivateTargets::AllowLoopback,
    );
    let seen = observe(&connector, &conn).await;
    assert_eq!(
        seen["status"], "302 ",
        "the host hands the redirect to the guest: {seen:?}"
    );
    assert!(
        seen["redirect-error"].contains("sandbox refused"),
        "{seen:?}"
    );
    assert_eq!(redirecting.requests().len(), 1);
    assert!(elsewhere.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guest_cannot_set_credential_headers() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let server = ok_server().await;
    let conn = connection(
        &connector,
        &server.url(),
        "set-credentials",
        &server.url(),
        PrivateTargets::AllowLoopback,
    );
    let seen = observe(&connector, &conn).await;
    for header in ["authorization", "x-smarttoken", "proxy-authorization"] {
        let seen = &seen[&format!("{header}-error")];
        assert!(seen.contains("forbidden"), "{header}: {seen}");
    }
    assert!(
        server.requests().is_empty(),
        "no request with a guest-chosen credential left the host"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_methods_are_denied_in_read_calls_and_allowed_in_write_calls() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let server = TestServer::start(|_| Reply::text(204, "")).await;
    let conn = connection(
        &connector,
        &server.url(),
        "delete",
        &format!("{}/users/1", server.url()),
        PrivateTargets::AllowLoopback,
    );
    let seen = observe(&connector, &conn).await;
    assert!(seen["error"].contains("sandbox refused"), "{seen:?}");
    assert!(
        server.requests().is_empty(),
        "list-users must not reach the vendor with a DELETE"
    );
    assert!(
        !logs::lines_with(&["DELETE is a write method and list-users is a read-only call"])
            .is_empty()
    );

    connector
        .deactivate_user(&conn, "1")
        .await
        .expect("deactivate-user may write");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, http::Method::DELETE);
    assert_eq!(
        requests[0].header("x-smarttoken"),
        Some(KEY),
        "the host injected the credential"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_beyond_the_request_cap_is_cut_off() {
    let limits = Limits {
        requests_per_call: 5,
        ..Limits::default()
    };
    let (_rt, connector) = hostile(limits).await;
    let server = ok_server().await;
    let conn = Connection::builder()
        .base_url(server.url())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(KEY))
        .option("scenario", "burst")
        .option("count", "40")
        .build(connector.descriptor())
        .unwrap();
    let seen = observe(&connector, &conn).await;
    assert_eq!(
        (
            seen["ok"].as_str(),
            seen["denied"].as_str(),
            seen["other"].as_str()
        ),
        ("5", "35", "0")
    );
    assert_eq!(server.requests().len(), 5);
    assert!(!logs::lines_with(&["requests_per_call = 5"]).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guest_sees_no_environment_files_arguments_or_sockets() {
    let (_rt, connector) = hostile(Limits::default()).await;
    assert!(
        std::env::vars().count() > 0,
        "the host process itself has an environment"
    );
    // A socket that accepts: a refusal here is the sandbox's, not "nothing
    // listens on that port".
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let socket = listener.local_addr().unwrap().to_string();
    let conn = Connection::builder()
        .base_url("http://127.0.0.1:9")
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(KEY))
        .option("scenario", "env-and-files")
        .option("socket", socket.as_str())
        .build(connector.descriptor())
        .unwrap();
    let seen = observe(&connector, &conn).await;
    assert_eq!(seen["env-count"], "0", "{seen:?}");
    assert_eq!(seen["args-count"], "0", "{seen:?}");
    assert!(seen["read-dir-root"].starts_with("error"), "{seen:?}");
    assert!(seen["read-etc-passwd"].starts_with("error"), "{seen:?}");
    // The sandbox's own answer (WASI access-denied), before any connection
    // is tried; "connection refused" would mean it was tried.
    assert_eq!(
        seen["tcp-connect"], "error: Permission denied (os error 2)",
        "{seen:?}"
    );
    assert_eq!(
        listener.accept().map_err(|e| e.kind()).err(),
        Some(std::io::ErrorKind::WouldBlock),
        "the listening socket was never reached"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_panic_becomes_a_typed_error_with_its_message() {
    let (_rt, connector) = hostile(Limits::default()).await;
    let conn = connection(
        &connector,
        "http://127.0.0.1:9",
        "panic",
        "",
        PrivateTargets::AllowLoopback,
    );
    let err = connector.list_users(&conn, None).await.unwrap_err();
    assert!(matches!(err.kind, CallErrorKind::Trap(_)), "{err}");
    assert!(
        err.stderr
            .contains("hostile fixture panicked on purpose: code 42"),
        "{}",
        err.stderr
    );
    let text = err.to_string();
    assert!(
        text.starts_with("connector hostile@0.1.0: list-users trapped"),
        "{text}"
    );
    assert!(text.contains("panicked on purpose: code 42"), "{text}");
    assert_host_still_serves(&connector).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wall_clock_deadline_covers_time_blocked_on_the_vendor() {
    // Long enough that instantiating the guest on a loaded machine never
    // uses it up before the request is sent: the vendor's silence does.
    let limits = Limits {
        wall_clock: Duration::from_millis(3000),
        ..Limits::default()
    };
    let (_rt, connector) = hostile(limits).await;
    let server = TestServer::start(|_| Reply::Hang).await;
    let conn = connection(
        &connector,
        &server.url(),
        "fetch",
        &server.url(),
        PrivateTargets::AllowLoopback,
    );
    let err = connector.list_users(&conn, None).await.unwrap_err();
    assert!(matches!(err.kind, CallErrorKind::Deadline(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "connector hostile@0.1.0: list-users passed its 3 s deadline"
    );
    assert_eq!(
        server.requests().len(),
        1,
        "the request was sent, the vendor just never answered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_bodies_over_the_cap_are_cut_off() {
    let limits = Limits {
        response_body_bytes: 64 * 1024,
        ..Limits::default()
    };
    let (_rt, connector) = hostile(limits).await;
    let big = TestServer::start(|_| Reply::text(200, vec![b'x'; 256 * 1024])).await;
    let conn = connection(
        &connector,
        &big.url(),
        "fetch",
        &big.url(),
        PrivateTargets::AllowLoopback,
    );
    let seen = observe(&connector, &conn).await;
    assert!(
        seen["error"].contains("response body size exceeds limit: 65536 bytes"),
        "{seen:?}"
    );
    assert!(
        !seen["error"].to_lowercase().contains("backtrace"),
        "host internals must not reach the guest: {seen:?}"
    );

    let small = TestServer::start(|_| Reply::text(200, vec![b'x'; 1024])).await;
    let conn = connection(
        &connector,
        &small.url(),
        "fetch",
        &small.url(),
        PrivateTargets::AllowLoopback,
    );
    let seen = observe(&connector, &conn).await;
    assert!(seen["status"].starts_with("200 xxx"), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_flood_is_capped_per_call() {
    let limits = Limits {
        log_lines_per_call: 20,
        log_line_bytes: 64,
        ..Limits::default()
    };
    let (_rt, connector) = hostile(limits).await;
    let conn = connection(
        &connector,
        "http://127.0.0.1:9",
        "log-flood",
        "",
        PrivateTargets::AllowLoopback,
    );
    observe(&connector, &conn).await;
    let kept = logs::lines_with(&[
        "connector=\"hostile@0.1.0\"",
        "call=\"list-users\"",
        "xxxxxxxx",
    ]);
    assert_eq!(kept.len(), 20, "{}", kept.len());
    assert!(kept.iter().all(|line| line.contains("…[cut]")));
    assert_eq!(
        logs::lines_with(&["exceeded its log line limit", "dropped=99980"]).len(),
        1
    );
}
