//! The generic SCIM 2.0 connector: against a real SCIM server from PyPI
//! (scim2-server), against a fake for the edge cases, and the auth schemes
//! an operator can choose, each checked by the header the server received.

use base64::Engine as _;
use seatwarden_sandbox::CallErrorKind;
use seatwarden_sandbox::Connection;
use seatwarden_sandbox::Connector;
use seatwarden_sandbox::ConnectorError;
use seatwarden_sandbox::Credential;
use seatwarden_sandbox::Limits;
use seatwarden_sandbox::credentials::AuthScheme;
use seatwarden_sandbox::egress::PrivateTargets;
use seatwarden_tests::fixtures::{all_accounts, load, runtime};
use seatwarden_tests::scim_fake::{Listing, ScimBehaviour, ScimFake, bench_user};
use seatwarden_tests::scim_server::{ScimServer, seed_user};
use serde_json::json;
use std::collections::HashMap;

const TOKEN: &str = "scim-bearer-6d1f";

async fn connector() -> Connector {
    load(&runtime(Limits::default()), "scim").await
}

fn bearer(connector: &Connector, base_url: &str, token: &str) -> Connection {
    Connection::builder()
        .base_url(base_url)
        .auth_scheme(AuthScheme::BearerToken)
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(token))
        .build(connector.descriptor())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_deactivates_and_reactivates_users_on_a_real_scim_server() {
    let server = ScimServer::start(TOKEN).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..230 {
        ids.push(server.create_user(&seed_user(i)).await.unwrap());
    }
    let connector = connector().await;
    let conn = bearer(&connector, &server.base_url(), TOKEN);
    connector.validate(&conn).await.unwrap();

    let (accounts, pages) = all_accounts(&connector, &conn).await;
    assert_eq!((accounts.len(), pages), (230, 3));
    let by_id: HashMap<_, _> = accounts.iter().map(|a| (a.id.clone(), a)).collect();
    assert_eq!(by_id.len(), 230, "no account repeats");
    let first = by_id[&ids[0]];
    assert_eq!(first.principal, "user0@work.example", "the primary e-mail");
    assert_eq!(first.display_name.as_deref(), Some("Given0 Doe"));
    assert_eq!(
        first.subscriptions,
        vec!["enterprise-seat".to_string(), "admin".to_string()]
    );
    assert!(first.created_at.is_some(), "meta.created");
    let attrs: HashMap<_, _> = first.attributes.iter().cloned().collect();
    assert_eq!(attrs["department"], "Sales");
    assert_eq!(attrs["cost-center"], "CC-100");
    assert_eq!(
        attrs["manager"], "boss-1",
        "manager.displayName is read-only in RFC 7643; the server drops it"
    );
    assert_eq!(attrs["user-name"], "user0");
    assert!(!by_id[&ids[8]].active);

    connector.deactivate_user(&conn, &ids[1]).await.unwrap();
    let (_, user) = server
        .request("GET", &format!("/v2/Users/{}", ids[1]), None)
        .await
        .unwrap();
    assert_eq!(user["active"], false);
    connector
        .deactivate_user(&conn, &ids[1])
        .await
        .expect("idempotent");
    connector.reactivate_user(&conn, &ids[1]).await.unwrap();
    let (_, user) = server
        .request("GET", &format!("/v2/Users/{}", ids[1]), None)
        .await
        .unwrap();
    assert_eq!(user["active"], true);
    assert_eq!(user["userName"], "user1", "only active changed");

    let missing = connector
        .deactivate_user(&conn, "does-not-exist")
        .await
        .unwrap_err();
    assert!(
        matches!(
            missing.kind,
            CallErrorKind::Vendor(ConnectorError::NotFound(_))
        ),
        "{missing}"
    );
    let wrong = bearer(&connector, &server.base_url(), "not-the-token");
    let err = connector.list_users(&wrong, None).await.unwrap_err();
    assert!(
        matches!(
            err.kind,
            CallErrorKind::Vendor(ConnectorError::Unauthorized(_))
        ),
        "{err}"
    );
    match connector
        .get_activity(&conn, 0, None)
        .await
        .unwrap_err()
        .kind
    {
        CallErrorKind::Vendor(ConnectorError::Unsupported(message)) => {
            assert!(message.contains("no activity log"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

fn fake_user(i: usize) -> serde_json::Value {
    let mut user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": format!("id-{i}"),
        "userName": format!("login{i}"),
        "meta": {"resourceType": "User", "created": "2025-01-02T03:04:05Z"},
        "urn:example:params:scim:schemas:extension:acme:2.0:User": {"lastLogin": format!("2026-10-{:02}T08:00:00Z", 1 + i % 28)}
    });
    if i.is_multiple_of(2) {
        user["emails"] = json!([{"value": format!("first{i}@example.com")}, {"value": format!("second{i}@example.com")}]);
    }
    if i.is_multiple_of(5) {
        user["active"] = json!(false);
    }
    user
}

fn behaviour() -> ScimBehaviour {
    ScimBehaviour {
        patch_supported: true,
        patch_501: false,
        max_per_page: 7,
        // The fake refuses any other credential, so a test passes only if
        // the host injected exactly this one.
        authorization: Some(format!("Bearer {TOKEN}")),
        listing: Listing::Honest,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_pages_missing_fields_and_a_last_login_extension() {
    let fake = ScimFake::start(behaviour(), (0..30).map(fake_user).collect()).await;
    let connector = connector().await;
    let conn = Connection::builder()
        .base_url(fake.base_url())
        .auth_scheme(AuthScheme::BearerToken)
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(TOKEN))
        .option(
            "last-login-attribute",
            "urn:example:params:scim:schemas:extension:acme:2.0:User:lastLogin",
        )
        .build(connector.descriptor())
        .unwrap();
    let (accounts, pages) = all_accounts(&connector, &conn).await;
    assert_eq!(
        (accounts.len(), pages),
        (30, 5),
        "the server returns 7 at a time; paging follows what it returned"
    );
    assert_eq!(
        accounts[0].principal, "first0@example.com",
        "no primary: the first e-mail"
    );
    assert_eq!(accounts[1].principal, "login1", "no e-mail: the userName");
    assert!(
        !accounts[0].active && accounts[1].active,
        "active defaults to true when absent"
    );
    assert_eq!(
        accounts[2].last_active_at,
        Some(1_791_014_400_000),
        "2026-10-03T08:00:00Z"
    );
    match connector
        .get_activity(&conn, 0, None)
        .await
        .unwrap_err()
        .kind
    {
        CallErrorKind::Vendor(ConnectorError::Unsupported(message)) => {
            assert!(
                message.contains(
                    "read from urn:example:params:scim:schemas:extension:acme:2.0:User:lastLogin"
                ),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_patch_support_deactivation_falls_back_to_put() {
    for b in [
        ScimBehaviour {
            patch_supported: false,
            ..behaviour()
        },
        ScimBehaviour {
            patch_501: true,
            ..behaviour()
        },
    ] {
        let fake = ScimFake::start(b.clone(), (0..3).map(fake_user).collect()).await;
        let connector = connector().await;
        let conn = bearer(&connector, &fake.base_url(), TOKEN);
        connector.deactivate_user(&conn, "id-1").await.unwrap();
        assert_eq!(fake.users()[1]["active"], false, "{b:?}");
        assert_eq!(
            fake.users()[1]["userName"],
            "login1",
            "PUT kept the rest of the resource"
        );
        let put = fake
            .server
            .requests()
            .into_iter()
            .find(|r| r.method == http::Method::PUT)
            .expect("a PUT was sent");
        let body: serde_json::Value = serde_json::from_slice(&put.body).unwrap();
        assert!(
            body.get("meta").is_none(),
            "read-only meta is not sent back"
        );
        assert_eq!(put.header("content-type"), Some("application/scim+json"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_auth_scheme_sends_the_exact_header_the_server_expects() {
    let connector = connector().await;
    let cases = [
        (
            AuthScheme::BearerToken,
            Credential::secret("t0k3n"),
            "authorization",
            "Bearer t0k3n".to_string(),
        ),
        (
            AuthScheme::Basic,
            Credential::Basic {
                user: "admin@acme.example".into(),
                secret: "api-key-42".to_string().into(),
            },
            "authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode("admin@acme.example:api-key-42")
            ),
        ),
        (
            AuthScheme::ApiKeyHeader(http::HeaderName::from_static("x-api-key")),
            Credential::secret("k-123"),
            "x-api-key",
            "k-123".to_string(),
        ),
    ];
    for (scheme, credential, header, expected) in cases {
        let fake = ScimFake::start(
            ScimBehaviour {
                authorization: (header == "authorization").then(|| expected.clone()),
                ..behaviour()
            },
            vec![fake_user(1)],
        )
        .await;
        let conn = Connection::builder()
            .base_url(fake.base_url())
            .auth_scheme(scheme.clone())
            .private_targets(PrivateTargets::AllowLoopback)
            .credential(credential)
            .build(connector.descriptor())
            .unwrap();
        assert_eq!(
            connector
                .list_users(&conn, None)
                .await
                .unwrap()
                .accounts
                .len(),
            1,
            "{scheme}"
        );
        let requests = fake.server.requests();
        assert_eq!(
            requests[0].header(header),
            Some(expected.as_str()),
            "{scheme}"
        );
        let others = ["authorization", "x-api-key", "x-smarttoken"]
            .into_iter()
            .filter(|h| *h != header);
        for other in others {
            assert!(
                requests[0].header(other).is_none(),
                "{scheme} must not also send {other}"
            );
        }
    }
    let err = Connection::builder()
        .base_url("http://127.0.0.1:1/scim/v2")
        .credential(Credential::secret("x"))
        .build(connector.descriptor())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("leaves the auth scheme to the connection"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_native_benchmark_client_returns_exactly_what_the_connector_returns() {
    let fake = ScimFake::start(
        ScimBehaviour {
            max_per_page: 100,
            ..behaviour()
        },
        (0..230).map(bench_user).collect(),
    )
    .await;
    let connector = connector().await;
    let conn = bearer(&connector, &fake.base_url(), TOKEN);
    let (mut wasm_cursor, mut native_cursor) = (None::<String>, None::<String>);
    for _ in 0..3 {
        let wasm = connector
            .list_users(&conn, wasm_cursor.as_deref())
            .await
            .unwrap();
        let native = seatwarden_tests::native_clients::scim::list_users(
            fake.server.port(),
            "/scim/v2",
            TOKEN,
            native_cursor.as_deref(),
        )
        .await
        .unwrap();
        assert_eq!(wasm, native);
        wasm_cursor = wasm.next_cursor;
        native_cursor = native.next_cursor;
    }
    assert_eq!(wasm_cursor, None);
}

/// A server that ignores `startIndex`, or stops listing before the
/// `totalResults` it reports, fails the listing with what it claimed and
/// what arrived, instead of a "successful" sync of the first users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_that_ignores_paging_or_falls_short_fails() {
    let connector = connector().await;
    let cases = [
        (
            Listing::IgnoresStartIndex,
            "the SCIM server answered startIndex 1 when asked for startIndex 8: it does not page as RFC 7644 says (totalResults 30)",
        ),
        (
            Listing::StopsAfter(20),
            "the SCIM server reports totalResults 30 but returned no users from startIndex 21: the listing falls 10 users short",
        ),
    ];
    for (listing, expected) in cases {
        let fake = ScimFake::start(
            ScimBehaviour {
                listing,
                ..behaviour()
            },
            (0..30).map(fake_user).collect(),
        )
        .await;
        let conn = bearer(&connector, &fake.base_url(), TOKEN);
        let mut cursor = None;
        let err = loop {
            match connector.list_users(&conn, cursor.as_deref()).await {
                Ok(page) => {
                    cursor = page.next_cursor;
                    assert!(
                        cursor.is_some(),
                        "{listing:?}: the listing ended as if complete"
                    );
                }
                Err(err) => break err,
            }
        };
        match err.kind {
            CallErrorKind::Vendor(ConnectorError::InvalidResponse(message)) => {
                assert!(message.contains(expected), "{listing:?}: {message}")
            }
            other => panic!("{listing:?}: {other:?}"),
        }
    }
}
