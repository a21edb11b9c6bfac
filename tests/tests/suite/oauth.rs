//! OAuth 2.0 client credentials done by the host: the token is fetched from
//! the connection's token URL, cached, refreshed once on a 401, and sent as
//! `Authorization: Bearer` without the guest ever holding it.

use base64::Engine as _;
use seatwarden_sandbox::CallErrorKind;
use seatwarden_sandbox::Connection;
use seatwarden_sandbox::Connector;
use seatwarden_sandbox::Credential;
use seatwarden_sandbox::Limits;
use seatwarden_sandbox::credentials::AuthScheme;
use seatwarden_sandbox::egress::PrivateTargets;
use seatwarden_sandbox::oauth::OAuthClient;
use seatwarden_tests::fixtures::{load, runtime};
use seatwarden_tests::server::{Reply, TestServer};
use serde_json::json;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Vendor {
    issued: u32,
    /// The token the API accepts now.
    valid: Option<String>,
    token_requests: Vec<(Option<String>, String)>,
}

async fn vendor() -> (TestServer, Arc<Mutex<Vendor>>) {
    let state = Arc::new(Mutex::new(Vendor::default()));
    let shared = state.clone();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("client-1:s3cret%2Fpart")
    );
    let server = TestServer::start(move |request| {
        let mut vendor = shared.lock().unwrap();
        if request.target == "/oauth/token" {
            let body = String::from_utf8_lossy(&request.body).into_owned();
            vendor.token_requests.push((
                request.header("authorization").map(str::to_string),
                body.clone(),
            ));
            if request.method != http::Method::POST
                || request.header("authorization") != Some(expected.as_str())
                || body != "grant_type=client_credentials&scope=users.read"
            {
                return Reply::json(401, &json!({"error": "invalid_client"}));
            }
            vendor.issued += 1;
            let token = format!("tok-{}", vendor.issued);
            vendor.valid = Some(token.clone());
            return Reply::json(
                200,
                &json!({"access_token": token, "token_type": "Bearer", "expires_in": 3600}),
            );
        }
        let authorized = vendor.valid.as_ref().is_some_and(|t| {
            request.header("authorization") == Some(format!("Bearer {t}").as_str())
        });
        if !authorized {
            return Reply::json(
                401,
                &json!({"status": "401", "detail": "invalid or expired token"}),
            );
        }
        Reply::json(
            200,
            &json!({"totalResults": 1, "startIndex": 1, "itemsPerPage": 1,
                                 "Resources": [{"id": "u1", "userName": "ann", "active": true}]}),
        )
    })
    .await;
    (server, state)
}

fn connection(
    connector: &Connector,
    server: &TestServer,
    token_url: &str,
    secret: &str,
) -> (Connection, Arc<OAuthClient>) {
    let client = Arc::new(OAuthClient::new(
        "client-1".into(),
        secret.to_string().into(),
        token_url.to_string(),
        Some("users.read".into()),
    ));
    let conn = Connection::builder()
        .base_url(format!("{}/scim/v2", server.url()))
        .auth_scheme(AuthScheme::OAuth2ClientCredentials)
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::OAuth2(client.clone()))
        .build(connector.descriptor())
        .unwrap();
    (conn, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_fetches_caches_and_refreshes_the_token() {
    let (server, state) = vendor().await;
    let connector = load(&runtime(Limits::default()), "scim").await;
    let (conn, client) = connection(
        &connector,
        &server,
        &format!("{}/oauth/token", server.url()),
        "s3cret/part",
    );

    for _ in 0..3 {
        assert_eq!(
            connector
                .list_users(&conn, None)
                .await
                .unwrap()
                .accounts
                .len(),
            1
        );
    }
    assert_eq!(
        client.fetches(),
        1,
        "one token serves every call until it expires"
    );
    let api: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.target.starts_with("/scim"))
        .collect();
    assert!(
        api.iter()
            .all(|r| r.header("authorization") == Some("Bearer tok-1"))
    );

    // The vendor revokes the token: the next call gets a 401, the host
    // fetches a new token once and replays the request.
    state.lock().unwrap().valid = Some("revoked".into());
    assert_eq!(
        connector
            .list_users(&conn, None)
            .await
            .unwrap()
            .accounts
            .len(),
        1
    );
    assert_eq!(client.fetches(), 2);
    let last = server.requests().last().unwrap().clone();
    assert_eq!(last.header("authorization"), Some("Bearer tok-2"));
    assert_eq!(state.lock().unwrap().token_requests.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_client_secret_fails_clearly_without_showing_it() {
    let (server, _state) = vendor().await;
    let connector = load(&runtime(Limits::default()), "scim").await;
    let (conn, _) = connection(
        &connector,
        &server,
        &format!("{}/oauth/token", server.url()),
        "wrong-secret-xyz",
    );
    let err = connector.list_users(&conn, None).await.unwrap_err();
    assert!(
        matches!(err.kind, CallErrorKind::Host(_)),
        "a host-side failure, not a retryable vendor outage: {err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("answered 401 Unauthorized (check the client id and secret)"),
        "{text}"
    );
    assert!(!text.contains("wrong-secret-xyz"), "{text}");
    assert!(
        server
            .requests()
            .iter()
            .all(|r| !r.target.starts_with("/scim")),
        "no API call without a token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_url_must_be_on_the_allowlist() {
    let (server, _state) = vendor().await;
    let connector = load(&runtime(Limits::default()), "scim").await;
    let client = Arc::new(OAuthClient::new(
        "client-1".into(),
        "s".to_string().into(),
        "https://login.example.net/oauth/token".into(),
        None,
    ));
    let err = Connection::builder()
        .base_url(format!("{}/scim/v2", server.url()))
        .auth_scheme(AuthScheme::OAuth2ClientCredentials)
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::OAuth2(client))
        .build(connector.descriptor())
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("the token URL of the scim@0.1.0 connection is not allowed"),
        "{text}"
    );
    assert!(text.contains("add its origin to allowed_hosts"), "{text}");
}
