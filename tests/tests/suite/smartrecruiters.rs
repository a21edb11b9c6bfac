//! The SmartRecruiters connector against the SmartRecruiters fake, through
//! the real sandbox: paging, activity, writes, every error mapping, rate
//! limits, and the credential the host injects.

use seatwarden_app::sync::{ActivityOutcome, ProfileSync, SyncOptions};

use seatwarden_sandbox::CallErrorKind;
use seatwarden_sandbox::Connection;
use seatwarden_sandbox::Connector;
use seatwarden_sandbox::ConnectorError;
use seatwarden_sandbox::Credential;
use seatwarden_sandbox::Limits;
use seatwarden_sandbox::egress::PrivateTargets;
use seatwarden_store::Storage;
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::fixtures::{all_accounts, all_activity, load, runtime};
use seatwarden_tests::smartrecruiters_fake::{
    DAY_MS, Fault, SmartRecruitersFake, SrTenant, seed_tenant, seeded_activity,
};
use std::collections::HashMap;
use std::time::Duration;

const TOKEN: &str = "DCRA1-d0b1128084fb427ea0000";

async fn setup(tenant: SrTenant) -> (SmartRecruitersFake, Connector, Connection) {
    let fake = SmartRecruitersFake::start(tenant).await;
    let runtime = runtime(Limits::default());
    let connector = load(&runtime, "smartrecruiters").await;
    let conn = Connection::builder()
        .base_url(fake.url())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(TOKEN))
        .build(connector.descriptor())
        .unwrap();
    (fake, connector, conn)
}

fn unlimited(count: usize) -> SrTenant {
    SrTenant {
        rate_limit: None,
        ..seed_tenant(TOKEN, count, now_ms())
    }
}

fn quick() -> SyncOptions {
    SyncOptions {
        retry: seatwarden_app::sync::RetryPolicy {
            base: Duration::from_millis(50),
            ..Default::default()
        },
        ..SyncOptions::default()
    }
}

async fn temp_storage(name: &str) -> Storage {
    let dir = seatwarden_tests::fixtures::repo_root().join("target/test-tmp");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Storage::open(&path).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_through_1050_users_with_the_host_injected_token() {
    let (fake, connector, conn) = setup(unlimited(1050)).await;
    let (accounts, pages) = all_accounts(&connector, &conn).await;
    assert_eq!((accounts.len(), pages), (1050, 11));
    let ids: std::collections::HashSet<_> = accounts.iter().map(|a| &a.id).collect();
    assert_eq!(ids.len(), 1050);
    let requests = fake.server.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.header("x-smarttoken") == Some(TOKEN))
    );
    assert!(
        requests
            .iter()
            .all(|r| r.target.starts_with("/user-api/v201804/users?limit=100"))
    );
    assert!(
        requests[1].target.contains("&pageId="),
        "{}",
        requests[1].target
    );

    let admin = &accounts[4];
    assert_eq!(admin.principal, "user4@example.com");
    assert_eq!(admin.display_name.as_deref(), Some("First4 Last4"));
    assert_eq!(admin.subscriptions, vec!["ADMINISTRATOR".to_string()]);
    let attrs: HashMap<_, _> = admin.attributes.iter().cloned().collect();
    assert_eq!(attrs["role"], "ADMINISTRATOR");
    assert_eq!(attrs["admin"], "true");
    assert_eq!(attrs["access-groups"], "60497fe33e2b74a609b7e410");
    assert!(attrs["updated-on"].ends_with('Z'));
    assert_eq!(
        admin.last_active_at, None,
        "the Users API has no last-login field"
    );
    assert!(!accounts[22].active, "user 22 is inactive at the vendor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_respects_since_and_counts_only_user_actions() {
    let now = now_ms();
    let (fake, connector, conn) = setup(SrTenant {
        rate_limit: None,
        ..seed_tenant(TOKEN, 40, now)
    })
    .await;
    let since = now - 60 * DAY_MS;
    let (events, _) = all_activity(&connector, &conn, since).await;
    assert!(events.iter().all(|e| e.at > since));
    assert!(
        events
            .iter()
            .all(|e| e.kind != "USER_AUTHENTICATION_INVALID_CREDENTIALS")
    );
    assert!(
        events.iter().all(|e| e.kind != "USER_ACCOUNT_UPDATED"),
        "system-authored events are not activity"
    );
    let users = fake.users();
    let active_ids: std::collections::HashSet<_> =
        events.iter().map(|e| e.account_id.as_str()).collect();
    for (i, user) in users.iter().enumerate() {
        let expected = matches!(seeded_activity(i), "recent" | "lapsing" | "daily");
        assert_eq!(
            active_ids.contains(user.id.as_str()),
            expected,
            "user {i} ({})",
            seeded_activity(i)
        );
    }
    let first = &fake.server.requests()[0].target;
    assert!(
        first.contains("eventDateAfter=") && first.contains("limit=100"),
        "{first}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivation_is_idempotent_and_reversible() {
    let (fake, connector, conn) = setup(unlimited(3)).await;
    let id = fake.users()[1].id.clone();
    connector.deactivate_user(&conn, &id).await.unwrap();
    assert!(!fake.users()[1].active);
    connector
        .deactivate_user(&conn, &id)
        .await
        .expect("already inactive is a success");
    connector.reactivate_user(&conn, &id).await.unwrap();
    assert!(fake.users()[1].active);
    let writes: Vec<_> = fake
        .server
        .requests()
        .into_iter()
        .filter(|r| r.target.ends_with("/activation"))
        .collect();
    assert_eq!(writes.len(), 3);
    assert_eq!(writes[0].method, http::Method::DELETE);
    assert_eq!(writes[2].method, http::Method::PUT);
    assert!(
        writes
            .iter()
            .all(|r| r.header("x-smarttoken") == Some(TOKEN))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_vendor_error_maps_to_a_typed_error() {
    let (fake, connector, conn) = setup(unlimited(5)).await;
    let vendor = |err: seatwarden_sandbox::CallError| match err.kind {
        CallErrorKind::Vendor(e) => e,
        other => panic!("expected a vendor error, got {other:?}"),
    };

    let bad = Connection::builder()
        .base_url(fake.url())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret("wrong"))
        .build(connector.descriptor())
        .unwrap();
    assert!(matches!(
        vendor(connector.list_users(&bad, None).await.unwrap_err()),
        ConnectorError::Unauthorized(_)
    ));

    let missing = connector
        .deactivate_user(&conn, "000000000000000000000000")
        .await
        .unwrap_err();
    assert!(matches!(vendor(missing), ConnectorError::NotFound(_)));

    fake.inject([Fault::Status(429)]);
    assert_eq!(
        vendor(connector.list_users(&conn, None).await.unwrap_err()),
        ConnectorError::RateLimited(Some(1000)),
        "X-RateLimit-Remaining: 0 on a per-second limit means wait a second"
    );
    fake.inject([Fault::Status(503)]);
    assert!(matches!(
        vendor(connector.list_users(&conn, None).await.unwrap_err()),
        ConnectorError::Unavailable(_)
    ));
    fake.inject([Fault::Status(403)]);
    assert!(matches!(
        vendor(connector.list_users(&conn, None).await.unwrap_err()),
        ConnectorError::Forbidden(_)
    ));
    fake.inject([Fault::Garbage]);
    match vendor(connector.list_users(&conn, None).await.unwrap_err()) {
        ConnectorError::InvalidResponse(message) => {
            assert!(
                message.contains("expected a SmartRecruiters users page"),
                "{message}"
            );
            assert!(message.contains("<html><body>Gateway hiccup"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    // Well-formed JSON of the wrong shape names the field it stopped at.
    fake.inject([Fault::Body(
        br#"{"limit": 100, "content": [{"id": "a", "email": "a@x"}, {"id": 7}]}"#.to_vec(),
    )]);
    match vendor(connector.list_users(&conn, None).await.unwrap_err()) {
        ConnectorError::InvalidResponse(message) => assert!(
            message.contains(
                "expected a SmartRecruiters users page (HTTP 200), but at content[1].id: invalid type: integer `7`, expected a string"
            ),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    fake.edit(|t| t.audit_licensed = false);
    match vendor(connector.get_activity(&conn, 0, None).await.unwrap_err()) {
        ConnectorError::Unsupported(message) => {
            assert!(message.contains("Audit API answered 403"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    connector
        .validate(&conn)
        .await
        .expect("validate passes without the Audit API");
    assert!(
        fake.server
            .requests()
            .iter()
            .all(|r| r.method == http::Method::GET || r.target.ends_with("/activation"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_under_the_vendors_rate_limit_retries_and_completes() {
    let (fake, connector, conn) = setup(seed_tenant(TOKEN, 1500, now_ms())).await;
    // The vendor's 429s, at fixed points of the listing rather than when a
    // fast machine outruns 10 requests a second.
    fake.inject([
        Fault::Pass,
        Fault::RateLimited,
        Fault::Pass,
        Fault::Pass,
        Fault::RateLimited,
        Fault::RateLimited,
    ]);
    let storage = temp_storage("rate-limit").await;
    let tenant = storage.ensure_tenant("acme", 0).await.unwrap();
    let profile = storage
        .ensure_profile(tenant, "sr", &profile_connector(&connector), 0)
        .await
        .unwrap();
    let sync = ProfileSync {
        clock: &seatwarden_app::clock::SystemClock,
        storage: &storage,
        connector: &connector,
        connection: &conn,
        profile,
        options: quick(),
    };
    let retries = std::sync::atomic::AtomicUsize::new(0);
    let report = sync
        .run(&|p| {
            if matches!(p, seatwarden_app::sync::Progress::Retry { .. }) {
                retries.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
        .await
        .unwrap();
    assert_eq!(report.accounts, 1500);
    assert!(
        fake.rate_limited() >= 3,
        "the injected 429s (and any from the fake's own window)"
    );
    assert_eq!(
        retries.load(std::sync::atomic::Ordering::SeqCst) as u32,
        fake.rate_limited()
    );
    assert_eq!(storage.subscriptions(profile).await.unwrap().len(), 1500);
    assert!(matches!(report.activity, ActivityOutcome::Pulled { .. }));
}

fn profile_connector(connector: &Connector) -> seatwarden_store::ProfileConnector<'_> {
    seatwarden_store::ProfileConnector {
        name: &connector.descriptor().name,
        version: "0.1.0",
        digest: connector.digest(),
        base_url: "http://127.0.0.1",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_native_benchmark_client_returns_exactly_what_the_connector_returns() {
    let (fake, connector, conn) = setup(unlimited(230)).await;
    let (mut wasm_cursor, mut native_cursor) = (None::<String>, None::<String>);
    for _ in 0..3 {
        let wasm = connector
            .list_users(&conn, wasm_cursor.as_deref())
            .await
            .unwrap();
        let native = seatwarden_tests::native_clients::list_users(
            fake.server.port(),
            TOKEN,
            native_cursor.as_deref(),
        )
        .await
        .unwrap();
        assert_eq!(wasm, native, "the benchmark compares like with like");
        wasm_cursor = wasm.next_cursor;
        native_cursor = native.next_cursor;
    }
    assert_eq!(wasm_cursor, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_vendor_bodies_never_trap_the_connector() {
    let (fake, connector, conn) = setup(unlimited(3)).await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"null".to_vec(),
        br#"{"content": null}"#.to_vec(),
        br#"{"content": [{"id": 5}]}"#.to_vec(),
        br#"{"nextPageId": 7, "content": []}"#.to_vec(),
        br#"{"content": [{"id": "a", "systemRole": "ADMIN"}]}"#.to_vec(),
        br#"{"content": [{"eventName": "X", "eventDate": "yesterday", "author": {"type": "USER", "id": "u"}}]}"#.to_vec(),
        br#"{"content": ["#.to_vec(),
        vec![0xff, 0xfe, 0x00, 0x7b],
        deep.into_bytes(),
        format!(r#"{{"content": [], "nextPageId": "{}"}}"#, "x".repeat(1_000_000)).into_bytes(),
    ];
    for body in bodies {
        let excerpt = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
        for call in ["list-users", "get-activity"] {
            fake.inject([Fault::Body(body.clone())]);
            let result = match call {
                "list-users" => connector.list_users(&conn, None).await.map(|_| ()),
                _ => connector.get_activity(&conn, 0, None).await.map(|_| ()),
            };
            if let Err(err) = result {
                assert!(
                    matches!(
                        err.kind,
                        CallErrorKind::Vendor(ConnectorError::InvalidResponse(_))
                    ),
                    "{call} on {excerpt:?}: {err}"
                );
            }
        }
    }
}
