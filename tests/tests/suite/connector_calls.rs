//! The well-behaved fixture connector end to end: paging, writes and, above
//! all, credentials that the host injects and the guest never holds.

use seatwarden::egress::PrivateTargets;
use seatwarden::{CallErrorKind, Connection, ConnectorError, Credential, Limits};
use seatwarden_tests::directory_fake::{DirectoryFake, seed_users};
use seatwarden_tests::fixtures::{all_accounts, load, loopback_connection, runtime};

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
