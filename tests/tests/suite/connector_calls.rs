//! The well-behaved fixture connector end to end: paging, writes and, above
//! all, credentials that the host injects and the guest never holds.

use seatwarden_sandbox::CallErrorKind;
use seatwarden_sandbox::Connection;
use seatwarden_sandbox::ConnectorError;
use seatwarden_sandbox::Credential;
use seatwarden_sandbox::Limits;
use seatwarden_sandbox::egress::PrivateTargets;
use seatwarden_tests::directory_fake::{DirectoryFake, seed_users};
use seatwarden_tests::fixtures::{all_accounts, load, loopback_connection, runtime};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "dir-key-0c1d2e3f";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_through_every_user_with_the_host_injected_key() {
    let fake = DirectoryFake::start(KEY, seed_users(250, 1_700_000_000_000)).await;
    let runtime = runtime(Limits::default());
    let connector = load(&runtime, "fixture_directory").await;
    let conn = loopback_connection(&connector, &fake.url(), KEY);

    let (accounts, _) = all_accounts(&connector, &conn).await;
    assert_eq!(accounts.len(), 250);
    let ids: std::collections::BTreeSet<_> = accounts.iter().map(|a| a.id.clone()).collect();
    assert_eq!(ids.len(), 250, "no account repeats");
    let requests = fake.server.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert_eq!(request.header("x-directory-key"), Some(KEY));
        assert!(
            !request.target.contains(KEY),
            "the key travels only in its header"
        );
    }
    let first = &accounts[1];
    assert_eq!(first.principal, "user1@example.com");
    assert_eq!(first.subscriptions, vec!["member".to_string()]);
    assert!(first.last_active_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_is_a_typed_unauthorized_error_that_never_shows_the_key() {
    let fake = DirectoryFake::start(KEY, seed_users(3, 0)).await;
    let runtime = runtime(Limits::default());
    let connector = load(&runtime, "fixture_directory").await;
    let conn = loopback_connection(&connector, &fake.url(), "wrong-key-9999");
    let err = connector.list_users(&conn, None).await.unwrap_err();
    assert!(
        matches!(
            err.kind,
            CallErrorKind::Vendor(ConnectorError::Unauthorized(_))
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("connector directory@0.1.0: list-users failed: unauthorized"),
        "{text}"
    );
    assert!(text.contains("check the connection's credential"), "{text}");
    assert!(
        !text.contains("wrong-key-9999") && !text.contains(KEY),
        "{text}"
    );
    assert_eq!(
        fake.server.requests()[0].header("x-directory-key"),
        Some("wrong-key-9999")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivates_and_reactivates_through_the_connector() {
    let fake = DirectoryFake::start(KEY, seed_users(3, 0)).await;
    let runtime = runtime(Limits::default());
    let connector = load(&runtime, "fixture_directory").await;
    let conn = loopback_connection(&connector, &fake.url(), KEY);
    connector
        .deactivate_user(&conn, "u-00001")
        .await
        .expect("deactivated");
    assert!(!fake.users()[1].active);
    connector
        .deactivate_user(&conn, "u-00001")
        .await
        .expect("idempotent");
    connector
        .reactivate_user(&conn, "u-00001")
        .await
        .expect("reactivated");
    assert!(fake.users()[1].active);
    let err = connector
        .deactivate_user(&conn, "u-99999")
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind, CallErrorKind::Vendor(ConnectorError::NotFound(_))),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_checked_before_any_call() {
    let runtime = runtime(Limits::default());
    let connector = load(&runtime, "fixture_directory").await;
    let descriptor = connector.descriptor();

    let err = Connection::builder()
        .base_url("http://127.0.0.1:1")
        .build(descriptor)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "connector directory@0.1.0 authenticates with API key in header x-directory-key, but the connection has no credential"
    );
    let err = Connection::builder()
        .base_url("ftp://127.0.0.1")
        .credential(Credential::secret(KEY))
        .build(descriptor)
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("the scheme must be http or https"),
        "{err:#}"
    );

    let conn = Connection::builder()
        .base_url("http://127.0.0.1:8080/api/")
        .allow_host("https://*.cdn.example.com")
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(KEY))
        .build(descriptor)
        .unwrap();
    assert_eq!(conn.base_url(), "http://127.0.0.1:8080/api");
    assert_eq!(
        conn.allowed_hosts(),
        vec!["http://127.0.0.1:8080", "https://*.cdn.example.com:443"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connections_requests_share_one_kept_alive_connection_never_another_connections() {
    let fake = DirectoryFake::start(KEY, seed_users(250, 1_700_000_000_000)).await;
    let runtime = runtime(Limits::default());
    let connector = load(&runtime, "fixture_directory").await;
    let tenant_a = loopback_connection(&connector, &fake.url(), KEY);
    let tenant_b = loopback_connection(&connector, &fake.url(), KEY);
    all_accounts(&connector, &tenant_a).await;
    all_accounts(&connector, &tenant_b).await;
    all_accounts(&connector, &tenant_a).await;
    let peers: Vec<_> = fake.server.requests().iter().map(|r| r.peer).collect();
    assert_eq!(peers.len(), 9, "three pages, three times");
    let (a, b, a_again) = (&peers[0..3], &peers[3..6], &peers[6..9]);
    assert!(
        a.iter().all(|p| *p == a[0]),
        "one connection for A's pages: {a:?}"
    );
    assert!(
        b.iter().all(|p| *p == b[0]),
        "one connection for B's pages: {b:?}"
    );
    assert_ne!(a[0], b[0], "tenants never share a connection");
    assert!(
        a_again.iter().all(|p| *p == a[0]),
        "A's idle connection is reused by its next sync: {a_again:?} vs {a:?}"
    );

    // Keep-alive off: a new connection per request.
    let fresh = Connection::builder()
        .base_url(fake.url())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(KEY))
        .keep_alive(false)
        .build(connector.descriptor())
        .unwrap();
    all_accounts(&connector, &fresh).await;
    let peers: std::collections::HashSet<_> =
        fake.server.requests()[9..].iter().map(|r| r.peer).collect();
    assert_eq!(peers.len(), 3, "{peers:?}");
}

/// A vendor that answers one request per connection and then, without
/// saying so (no `Connection: close`), drops the connection when the next
/// request arrives on it: what a server's idle timeout looks like from the
/// client when it fires just as the connection is reused.
/// Counts connections accepted and requests received.
async fn one_answer_per_connection_server() -> (String, Arc<[AtomicUsize; 2]>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let counts: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let counter = counts.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter[0].fetch_add(1, Ordering::SeqCst);
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                // The first request: answered, connection left open.
                if !read_head(&mut stream, &mut buffer).await {
                    return;
                }
                counter[1].fetch_add(1, Ordering::SeqCst);
                let body = r#"{"users":[{"id":"u-1","email":"a@example.com","name":"A","active":true,"role":"member","lastLogin":null}],"nextPage":null}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(response.as_bytes()).await.unwrap();
                // The second request: dropped unanswered.
                buffer.clear();
                if read_head(&mut stream, &mut buffer).await {
                    counter[1].fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    (url, counts)
}

/// Reads one request head (these requests have no body); false at EOF.
async fn read_head(stream: &mut tokio::net::TcpStream, buffer: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_connection_the_vendor_dropped_is_replaced_and_the_request_sent_again() {
    let (url, counts) = one_answer_per_connection_server().await;
    let runtime = runtime(Limits::default());
    let connector = load(&runtime, "fixture_directory").await;
    let conn = loopback_connection(&connector, &url, KEY);
    for call in 1..=3 {
        let page = connector
            .list_users(&conn, None)
            .await
            .unwrap_or_else(|e| panic!("call {call}: {e:#}"));
        assert_eq!(page.accounts.len(), 1, "call {call}");
    }
    // Calls 2 and 3 each sent their request on the kept connection, saw it
    // dropped unanswered, and sent it again on a new one: 3 connections,
    // 5 requests (without the reuse there would be 3 of each).
    let [accepted, received] = &*counts;
    assert_eq!(
        (
            accepted.load(Ordering::SeqCst),
            received.load(Ordering::SeqCst)
        ),
        (3, 5)
    );
}
