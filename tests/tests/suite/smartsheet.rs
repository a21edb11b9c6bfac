//! The Smartsheet connector against the Smartsheet fake, and the fake
//! against the official OpenAPI schemas so it cannot drift from the vendor.

use seatwarden_sandbox::Connection;
use seatwarden_sandbox::Connector;
use seatwarden_sandbox::ConnectorError;
use seatwarden_sandbox::Credential;
use seatwarden_sandbox::Limits;
use seatwarden_sandbox::egress::PrivateTargets;
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::fixtures::vendor_error as vendor;
use seatwarden_tests::fixtures::{all_accounts, all_activity, load, runtime};
use seatwarden_tests::smartrecruiters_fake::DAY_MS;
use seatwarden_tests::smartsheet_fake::{
    AUTOMATION_USER, FIRST_ID, SmartsheetFake, SsTenant, seed_tenant,
};
use std::collections::HashMap;

const TOKEN: &str = "ll352u9jujauoqz4gstvsae05";

async fn setup(tenant: SsTenant) -> (SmartsheetFake, Connector, Connection) {
    let fake = SmartsheetFake::start(tenant).await;
    let runtime = runtime(Limits::default());
    let connector = load(&runtime, "smartsheet").await;
    let conn = connection(&connector, &fake, TOKEN);
    (fake, connector, conn)
}

fn connection(connector: &Connector, fake: &SmartsheetFake, token: &str) -> Connection {
    Connection::builder()
        .base_url(fake.base_url())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(token))
        .build(connector.descriptor())
        .unwrap()
}

fn tenant(count: usize) -> SsTenant {
    SsTenant {
        requests_per_minute: None,
        ..seed_tenant(TOKEN, count, now_ms(), true)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_users_with_exact_64_bit_ids_last_login_and_seat_types() {
    let (fake, connector, conn) = setup(tenant(250)).await;
    let (accounts, pages) = all_accounts(&connector, &conn).await;
    assert_eq!((accounts.len(), pages), (250, 3));
    assert_eq!(
        accounts[0].id,
        FIRST_ID.to_string(),
        "ids above 2^53 survive exactly"
    );
    assert_eq!(accounts[249].id, (FIRST_ID + 249).to_string());
    for request in fake.server.requests() {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert!(
            request
                .target
                .starts_with("/2.0/users?include=lastLogin&pageSize=100&page="),
            "{}",
            request.target
        );
    }
    let users = fake.users();
    for (account, user) in accounts.iter().zip(&users) {
        assert_eq!(
            account.last_active_at, user.last_login,
            "{}",
            account.principal
        );
        let expected = user.seat_type.clone().unwrap_or_else(|| {
            if user.licensed_sheet_creator {
                "LICENSED_SHEET_CREATOR".into()
            } else {
                "FREE_COLLABORATOR".into()
            }
        });
        assert_eq!(account.subscriptions, vec![expected]);
        assert_eq!(account.active, user.status == "ACTIVE");
    }
    let attrs: HashMap<_, _> = accounts[0].attributes.iter().cloned().collect();
    assert_eq!(attrs["admin"], "true");
    assert_eq!(attrs["status"], "ACTIVE");
    assert_eq!(accounts[0].display_name.as_deref(), Some("Person0 Smith"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_is_followed_and_system_users_are_ignored() {
    let (fake, connector, conn) = setup(tenant(3000)).await;
    let since = now_ms() - 60 * DAY_MS;
    let (events, pages) = all_activity(&connector, &conn, since).await;
    assert!(pages >= 2, "more than 1,000 events take more than one page");
    assert!(
        events
            .iter()
            .all(|e| e.account_id != AUTOMATION_USER.to_string())
    );
    assert!(events.iter().all(|e| e.kind == "SHEET/LOAD"));
    let expected = fake
        .users()
        .iter()
        .filter(|u| u.last_login.is_some_and(|at| now_ms() - at < 30 * DAY_MS))
        .count();
    assert_eq!(events.len(), expected);
    let targets: Vec<String> = fake
        .server
        .requests()
        .iter()
        .map(|r| r.target.clone())
        .collect();
    assert!(
        targets[0].starts_with("/2.0/events?since=") && targets[0].ends_with("&maxCount=1000"),
        "{}",
        targets[0]
    );
    assert!(
        targets[1].starts_with("/2.0/events?streamPosition="),
        "{}",
        targets[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_event_reporting_activity_is_unsupported_and_names_the_add_on() {
    let (fake, connector, conn) = setup(SsTenant {
        event_reporting: false,
        ..tenant(5)
    })
    .await;
    match vendor(connector.get_activity(&conn, 0, None).await.unwrap_err()) {
        ConnectorError::Unsupported(message) => {
            assert!(
                message.contains("Event Reporting premium add-on"),
                "{message}"
            );
            assert!(message.contains("lastLogin"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    connector
        .validate(&conn)
        .await
        .expect("validate passes on lastLogin alone");
    assert!(fake.server.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivation_reactivation_and_the_vendors_refusals() {
    let (fake, connector, conn) = setup(tenant(60)).await;
    let id = (FIRST_ID + 3).to_string();
    connector.deactivate_user(&conn, &id).await.unwrap();
    assert_eq!(fake.users()[3].status, "DEACTIVATED");
    connector
        .deactivate_user(&conn, &id)
        .await
        .expect("idempotent");
    connector.reactivate_user(&conn, &id).await.unwrap();
    assert_eq!(fake.users()[3].status, "ACTIVE");
    connector
        .reactivate_user(&conn, &id)
        .await
        .expect("idempotent");

    let isp = (FIRST_ID + 24).to_string();
    match vendor(connector.deactivate_user(&conn, &isp).await.unwrap_err()) {
        ConnectorError::Unsupported(message) => {
            assert!(message.contains("Smartsheet error 1359"), "{message}");
            assert!(
                message.contains("remove the user from the organization"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    fake.edit(|t| t.users[39].deactivated_at = Some(t.now_ms - 45 * DAY_MS));
    match vendor(
        connector
            .reactivate_user(&conn, &(FIRST_ID + 39).to_string())
            .await
            .unwrap_err(),
    ) {
        ConnectorError::Unsupported(message) => {
            assert!(message.contains("only within 30 days"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let missing = connector.deactivate_user(&conn, "12345").await.unwrap_err();
    assert!(matches!(vendor(missing), ConnectorError::NotFound(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_rate_limits_map_to_typed_errors() {
    let (fake, connector, _) = setup(SsTenant {
        requests_per_minute: Some(3),
        ..tenant(5)
    })
    .await;
    let wrong = connection(&connector, &fake, "not-the-token");
    match vendor(connector.list_users(&wrong, None).await.unwrap_err()) {
        ConnectorError::Unauthorized(message) => {
            assert!(message.contains("Smartsheet error 1002"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let conn = connection(&connector, &fake, TOKEN);
    for _ in 0..3 {
        connector.list_users(&conn, None).await.unwrap();
    }
    assert_eq!(
        vendor(connector.list_users(&conn, None).await.unwrap_err()),
        ConnectorError::RateLimited(Some(60_000))
    );
    assert_eq!(fake.rate_limited(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regions_pick_the_base_url_and_the_allowlist_follows() {
    let runtime = runtime(Limits::default());
    let connector = load(&runtime, "smartsheet").await;
    let eu = Connection::builder()
        .region("eu")
        .credential(Credential::secret(TOKEN))
        .build(connector.descriptor())
        .unwrap();
    assert_eq!(eu.base_url(), "https://api.smartsheet.eu/2.0");
    assert_eq!(eu.allowed_hosts(), vec!["https://api.smartsheet.eu:443"]);
    let default = Connection::builder()
        .credential(Credential::secret(TOKEN))
        .build(connector.descriptor())
        .unwrap();
    assert_eq!(
        default.allowed_hosts(),
        vec!["https://api.smartsheet.com:443"]
    );
    let err = Connection::builder()
        .region("mars")
        .credential(Credential::secret(TOKEN))
        .build(connector.descriptor())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "connector smartsheet@0.1.0 has no region \"mars\" (regions: us, eu, gov, au)"
    );
}

/// The fake's answers, checked against the official OpenAPI schemas.
mod openapi {
    use super::*;
    use serde_json::Value;

    fn spec() -> Value {
        let path = seatwarden_tests::fixtures::repo_root()
            .join("tests/data/smartsheet-openapi-users-events.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    fn schema(spec: &Value, path: &str, method: &str, status: &str) -> jsonschema::Validator {
        let schema = &spec["paths"][path][method]["responses"][status]["content"]["application/json"]
            ["schema"];
        assert!(schema.is_object(), "no schema for {method} {path} {status}");
        jsonschema::options()
            .should_validate_formats(true)
            .build(schema)
            .unwrap()
    }

    async fn fetch(
        fake: &SmartsheetFake,
        method: http::Method,
        target: &str,
        token: &str,
    ) -> (u16, Value) {
        use http_body_util::{BodyExt, Empty};
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", fake.server.port()))
            .await
            .unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let request = http::Request::builder()
            .method(method)
            .uri(target)
            .header("host", "127.0.0.1")
            .header("authorization", format!("Bearer {token}"))
            .body(Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&body).unwrap())
    }

    fn check(validator: &jsonschema::Validator, value: &Value, what: &str) {
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what} does not match the official schema: {errors:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_fakes_answers_match_the_official_schemas() {
        let spec = spec();
        let fake = SmartsheetFake::start(tenant(120)).await;
        let (status, users) = fetch(
            &fake,
            http::Method::GET,
            "/2.0/users?include=lastLogin&pageSize=100&page=1",
            TOKEN,
        )
        .await;
        assert_eq!(status, 200);
        check(&schema(&spec, "/users", "get", "200"), &users, "GET /users");
        assert!(
            users["data"][1]["lastLogin"].is_string(),
            "lastLogin with pageSize 100"
        );

        let (_, big) = fetch(
            &fake,
            http::Method::GET,
            "/2.0/users?include=lastLogin&pageSize=200&page=1",
            TOKEN,
        )
        .await;
        assert!(
            big["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|u| u.get("lastLogin").is_none()),
            "no lastLogin above 100 per page"
        );
        let (_, past) = fetch(
            &fake,
            http::Method::GET,
            "/2.0/users?pageSize=100&page=9",
            TOKEN,
        )
        .await;
        assert_eq!(past["data"], serde_json::json!([]));

        let id = FIRST_ID + 5;
        let (_, user) = fetch(&fake, http::Method::GET, &format!("/2.0/users/{id}"), TOKEN).await;
        check(
            &schema(&spec, "/users/{userId}", "get", "200"),
            &user,
            "GET /users/{userId}",
        );
        let (status, me) = fetch(&fake, http::Method::GET, "/2.0/users/me", TOKEN).await;
        assert_eq!(status, 200);
        check(
            &schema(&spec, "/users/me", "get", "200"),
            &me,
            "GET /users/me",
        );
        let (status, result) = fetch(
            &fake,
            http::Method::POST,
            &format!("/2.0/users/{id}/deactivate"),
            TOKEN,
        )
        .await;
        assert_eq!(status, 200);
        check(
            &schema(&spec, "/users/{userId}/deactivate", "post", "200"),
            &result,
            "POST deactivate",
        );
        let (_, result) = fetch(
            &fake,
            http::Method::POST,
            &format!("/2.0/users/{id}/reactivate"),
            TOKEN,
        )
        .await;
        check(
            &schema(&spec, "/users/{userId}/reactivate", "post", "200"),
            &result,
            "POST reactivate",
        );

        let (status, events) = fetch(
            &fake,
            http::Method::GET,
            "/2.0/events?since=2000-01-01T00:00:00Z&maxCount=50",
            TOKEN,
        )
        .await;
        assert_eq!(status, 200);
        check(
            &schema(&spec, "/events", "get", "200"),
            &events,
            "GET /events",
        );

        let error_schema = schema(&spec, "/users", "get", "default");
        let (status, unauthorized) = fetch(&fake, http::Method::GET, "/2.0/users", "wrong").await;
        assert_eq!(status, 401);
        check(&error_schema, &unauthorized, "401 error body");
        let (status, isp) = fetch(
            &fake,
            http::Method::POST,
            &format!("/2.0/users/{}/deactivate", FIRST_ID + 24),
            TOKEN,
        )
        .await;
        assert_eq!((status, isp["errorCode"].as_u64()), (403, Some(1359)));
        check(&error_schema, &isp, "1359 error body");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_native_benchmark_client_returns_exactly_what_the_connector_returns() {
    let (fake, connector, conn) = setup(tenant(230)).await;
    let (mut wasm_cursor, mut native_cursor) = (None::<String>, None::<String>);
    for _ in 0..3 {
        let wasm = connector
            .list_users(&conn, wasm_cursor.as_deref())
            .await
            .unwrap();
        let native = seatwarden_tests::native_clients::smartsheet::list_users(
            fake.server.port(),
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

/// A users listing that does not add up fails the page, naming what
/// Smartsheet claimed and what arrived: the official schema's own example
/// values (page 1 of 25, pageSize 50, totalCount 136) with one user; a
/// server that answers page 1 whatever is asked; and a last page short of
/// what totalCount leaves for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_listing_that_does_not_add_up_fails_naming_the_claim() {
    use seatwarden_tests::server::{Reply, TestServer};
    let user = serde_json::json!({"id": 48569348493401200u64, "email": "jane@example.com",
        "name": "Jane", "status": "ACTIVE", "admin": false, "licensedSheetCreator": true});
    let cases = [
        // (answer to every request: pageNumber, pageSize, totalPages, totalCount, users; cursor asked; expected)
        (
            (1, 50, 25, 136, 1),
            None,
            "page 1 of 25 holds 1 users, not a full page (totalPages 25, totalCount 136, pageSize 50)",
        ),
        (
            (1, 1, 25, 25, 1),
            Some("2"),
            "asked for page 2, it answered page 1",
        ),
        (
            (2, 100, 2, 150, 10),
            Some("2"),
            "the last page, 2, holds 10 users where 50 were due",
        ),
    ];
    let runtime = runtime(Limits::default());
    let connector = load(&runtime, "smartsheet").await;
    for ((number, size, pages, count, users), cursor, expected) in cases {
        let user = user.clone();
        let server = TestServer::start(move |_| {
            Reply::json(
                200,
                &serde_json::json!({"pageNumber": number, "pageSize": size, "totalPages": pages,
                    "totalCount": count, "data": vec![user.clone(); users]}),
            )
        })
        .await;
        let conn = Connection::builder()
            .base_url(format!("{}/2.0", server.url()))
            .private_targets(PrivateTargets::AllowLoopback)
            .credential(Credential::secret(TOKEN))
            .build(connector.descriptor())
            .unwrap();
        let err = connector
            .list_users(&conn, cursor.map(str::to_string).as_deref())
            .await
            .unwrap_err();
        match vendor(err) {
            ConnectorError::InvalidResponse(message) => assert!(
                message.starts_with("Smartsheet's users listing does not add up: ")
                    && message.contains(expected),
                "{message}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
