//! Connections, connector uploads and profiles made over the API, against a
//! real server on loopback and the SmartRecruiters fake (which checks the
//! credential on every request): an upload is inspected and pinned, a
//! connection's credential is sealed in the database and never answered,
//! a profile on it validates through the uploaded component with the
//! unsealed credential, and every refusal names its field and keeps nothing.

use crate::api::{Api, PROFILE, api, assert_problem};
use seatwarden_app::sealing::Sealer;
use seatwarden_tests::api_client::{Answer, call, send};
use seatwarden_tests::fixtures::guest;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const VENDOR_TOKEN: &str = "DCRA1-api";

async fn upload(api: &Api, token: &str, bytes: Vec<u8>, content_type: &str) -> Answer {
    let authorization = format!("Bearer {token}");
    send(
        api.port,
        "POST",
        "/api/v1/connectors",
        &[
            ("authorization", &authorization),
            ("content-type", content_type),
        ],
        Some(bytes),
    )
    .await
}

async fn put(port: u16, target: &str, token: &str, body: Value) -> Answer {
    call(
        port,
        "PUT",
        target,
        Some(token),
        Some(body.to_string().into_bytes()),
    )
    .await
}

async fn delete(api: &Api, target: &str, token: &str) -> Answer {
    call(api.port, "DELETE", target, Some(token), None).await
}

/// Every byte of the database.
fn database_bytes(api: &Api) -> Vec<u8> {
    api.rig.ws.database_bytes()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// A server on the same database with another app (no key, another key).
async fn second_server(app: seatwarden_app::wiring::App) -> (u16, CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = CancellationToken::new();
    tokio::spawn(seatwarden_server::serve_with(
        listener,
        Arc::new(app),
        seatwarden_server::Options::default(),
        stop.clone(),
    ));
    (port, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_made_over_the_api_runs_its_uploaded_component_with_a_sealed_credential() {
    let api = api("api-connections").await;
    let component = std::fs::read(guest(PROFILE)).unwrap();
    let digest = hex::encode(Sha256::digest(&component));

    // Uploading is an admin's; the same bytes again are not new.
    assert_problem(
        &upload(&api, &api.acme_read, component.clone(), "application/wasm").await,
        403,
        None,
    );
    let again = upload(&api, &api.acme_admin, component.clone(), "application/wasm").await;
    assert_eq!(
        again.status,
        200,
        "{}",
        String::from_utf8_lossy(&again.body)
    );
    let inspected = again.json();
    assert_eq!(inspected["digest"], digest.as_str());
    assert_eq!(inspected["name"], "smartrecruiters");
    assert_eq!(inspected["size"], component.len());
    assert_eq!(inspected["deactivate"], true);
    let listed = api.get("/api/v1/connectors", &api.acme_read).await.json();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");

    // A connection on it, with the vendor's token as its credential.
    let target = "/api/v1/connections/sr-api";
    let settings = json!({
        "connector": digest,
        "base_url": api.vendor.url(),
        "private_targets": "allow-loopback",
        "credential": {"kind": "secret", "secret": VENDOR_TOKEN},
    });
    let made = put(api.port, target, &api.acme_admin, settings.clone()).await;
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
    assert_eq!(made.json()["source"], "api");
    assert_eq!(made.json()["credential"]["kind"], "secret");
    let listed = api.get("/api/v1/connections", &api.acme_read).await;
    let text = String::from_utf8_lossy(&listed.body).to_string();
    assert!(
        !text.contains(VENDOR_TOKEN),
        "the secret is answered: {text}"
    );
    let sources: Vec<(String, String)> = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["source"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            (PROFILE.to_string(), "config".to_string()),
            ("sr-api".to_string(), "api".to_string())
        ]
    );
    assert!(
        !contains(&database_bytes(&api), VENDOR_TOKEN),
        "the credential is in the database in clear"
    );

    // A profile on it validates through the upload, the fake checking the
    // unsealed credential.
    let profile = "/api/v1/profiles/sr-api-profile";
    // A rule the file would refuse is refused here too, before anything is kept.
    let refused = put(
        api.port,
        profile,
        &api.acme_admin,
        json!({"connection": "sr-api", "rule": {"threshold_days": 0}}),
    )
    .await;
    assert_problem(&refused, 400, Some("rule.threshold_days"));
    assert_eq!(api.get(profile, &api.acme_read).await.status, 404);
    let made = put(
        api.port,
        profile,
        &api.acme_admin,
        json!({"connection": "sr-api", "activity_from_days": 30,
               "rule": {"threshold_days": 90, "breaker_percent": 5, "protected": ["ceo@example.com"]}}),
    )
    .await;
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
    assert_eq!(made.json()["source"], "api");
    assert_eq!(made.json()["status"], "draft");
    assert_eq!(made.json()["connector"]["digest"], digest.as_str());
    let rule = api
        .get(&format!("{profile}/rule"), &api.acme_read)
        .await
        .json();
    assert_eq!(rule["threshold_days"], 90, "{rule}");
    assert_eq!(rule["breaker_percent"], 5);
    assert_eq!(rule["protected"], json!(["ceo@example.com"]));
    let validated = api
        .post(&format!("{profile}/validate"), &api.acme_admin, json!({}))
        .await
        .json();
    assert_eq!(validated["validation"]["passed"], true, "{validated}");

    // Replaced without a credential, it keeps the stored one; with a
    // wrong one, the vendor refuses it.
    let mut kept = settings.clone();
    kept.as_object_mut().unwrap().remove("credential");
    kept["rate_limit"] = json!("5/s");
    let replaced = put(api.port, target, &api.acme_admin, kept).await;
    assert_eq!(
        replaced.status,
        200,
        "{}",
        String::from_utf8_lossy(&replaced.body)
    );
    assert_eq!(replaced.json()["credential"]["kind"], "secret");
    assert_eq!(replaced.json()["rate_limit"], "5/s");
    let validated = api
        .post(&format!("{profile}/validate"), &api.acme_admin, json!({}))
        .await
        .json();
    assert_eq!(validated["validation"]["passed"], true, "{validated}");

    // A server with another key says so instead of calling the vendor
    // with garbage.
    let other_key = base64_key(9);
    let (other_port, other_stop) = second_server(
        (*api.rig.app)
            .clone()
            .with_sealer(Sealer::from_base64(&other_key).unwrap()),
    )
    .await;
    let refused = call(
        other_port,
        "POST",
        &format!("{profile}/validate"),
        Some(&api.acme_admin),
        Some(b"{}".to_vec()),
    )
    .await;
    assert_problem(&refused, 409, None);
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap()
            .contains("sealed with key"),
        "{}",
        refused.json()
    );
    other_stop.cancel();

    // Moving where the stored credential goes needs the credential again:
    // an admin cannot send a secret they were never shown to a host of
    // their choosing.
    let mut moved = settings.clone();
    moved.as_object_mut().unwrap().remove("credential");
    moved["allowed_hosts"] = json!(["https://collector.example.net"]);
    let refused = put(api.port, target, &api.acme_admin, moved).await;
    assert_problem(&refused, 400, Some("credential"));
    // A connector may build its host from an option: an option is a move too.
    let mut optioned = settings.clone();
    optioned.as_object_mut().unwrap().remove("credential");
    optioned["options"] = json!({"instance": "attacker"});
    let refused = put(api.port, target, &api.acme_admin, optioned).await;
    assert_problem(&refused, 400, Some("credential"));
    // A credential sent in the wrong shape is not echoed back.
    let mut misshapen = settings.clone();
    misshapen["credential"] = json!("tok_leaked_123");
    let refused = put(api.port, target, &api.acme_admin, misshapen).await;
    assert_problem(&refused, 400, None);
    assert!(
        !String::from_utf8_lossy(&refused.body).contains("tok_leaked_123"),
        "{}",
        String::from_utf8_lossy(&refused.body)
    );

    let mut wrong = settings.clone();
    wrong["credential"]["secret"] = json!("not-the-token");
    assert_eq!(
        put(api.port, target, &api.acme_admin, wrong).await.status,
        200
    );
    let validated = api
        .post(&format!("{profile}/validate"), &api.acme_admin, json!({}))
        .await
        .json();
    assert_eq!(validated["validation"]["passed"], false, "{validated}");

    // What the file defines is the file's.
    assert_problem(
        &put(
            api.port,
            &format!("/api/v1/connections/{PROFILE}"),
            &api.acme_admin,
            settings.clone(),
        )
        .await,
        409,
        None,
    );
    assert_problem(
        &delete(
            &api,
            &format!("/api/v1/profiles/{PROFILE}"),
            &api.acme_admin,
        )
        .await,
        409,
        None,
    );

    // Nothing is removed from under what uses it; then everything goes.
    assert_problem(&delete(&api, target, &api.acme_admin).await, 409, None);
    let connector = format!("/api/v1/connectors/{digest}");
    assert_problem(&delete(&api, &connector, &api.acme_admin).await, 409, None);
    assert_eq!(delete(&api, profile, &api.acme_admin).await.status, 204);
    assert_eq!(delete(&api, target, &api.acme_admin).await.status, 204);
    assert_eq!(delete(&api, &connector, &api.acme_admin).await.status, 204);
    assert_eq!(api.get(&connector, &api.acme_read).await.status, 404);

    // Every step is in the audit log under the admin's token, and no
    // secret is.
    let audit = api.get("/api/v1/audit?limit=100", &api.acme_read).await;
    let text = String::from_utf8_lossy(&audit.body).to_string();
    assert!(!text.contains(VENDOR_TOKEN) && !text.contains("not-the-token"));
    let actions: Vec<String> = audit.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"].as_str().unwrap().ends_with(":acme admin"))
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    for action in [
        "connection.create",
        "connection.update",
        "profile.create",
        "profile.delete",
        "connection.delete",
        "connector.delete",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} missing: {actions:?}"
        );
    }
    assert_eq!(
        api.get("/api/v1/audit/verify", &api.acme_read).await.json()["intact"],
        true
    );
}

fn base64_key(byte: u8) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode([byte; 32])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_and_connections_are_refused_with_the_field_named_and_nothing_kept() {
    let api = api("api-connections-bad").await;
    let digest = api.acme_connector.clone();
    let admin = &api.acme_admin;

    // Uploads: not WebAssembly, a core module, another world, not sent as wasm.
    let cases: [(Vec<u8>, &str); 3] = [
        (b"MZ\x90\x00 not wasm".to_vec(), "not a WebAssembly file"),
        (b"\0asm\x01\x00\x00\x00".to_vec(), "core WebAssembly module"),
        (
            std::fs::read(guest("fixture-wrong-world")).unwrap(),
            "is not a Seatwarden connector",
        ),
    ];
    for (bytes, says) in cases {
        let refused = upload(&api, admin, bytes, "application/wasm").await;
        assert_problem(&refused, 400, Some("component"));
        let detail = refused.json()["detail"].as_str().unwrap().to_string();
        assert!(detail.contains(says), "{detail}");
    }
    let component = std::fs::read(guest(PROFILE)).unwrap();
    assert_problem(
        &upload(&api, admin, component, "application/json").await,
        415,
        None,
    );
    assert_eq!(
        api.get("/api/v1/connectors", &api.acme_read)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1,
        "only the rig's upload is kept"
    );

    // Connections: each wrong field is named.
    let good = json!({
        "connector": digest,
        "base_url": api.vendor.url(),
        "private_targets": "allow-loopback",
        "credential": {"kind": "secret", "secret": VENDOR_TOKEN},
    });
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    let target = "/api/v1/connections/sr-api";
    let cases = [
        (with("connector", json!("ab".repeat(32))), "connector"),
        (with("connector", json!("not a digest")), "connector"),
        (
            with("private_targets", json!("allow-private")),
            "private_targets",
        ),
        (
            with("private_targets", json!("everything")),
            "private_targets",
        ),
        (with("base_url", json!("ftp://example.com")), "base_url"),
        (
            with(
                "credential",
                json!({"kind": "secret", "secret": "a\r\nX-Injected: 1"}),
            ),
            "credential.secret",
        ),
        (
            with(
                "credential",
                json!({"kind": "basic", "user": "a:b", "secret": "s"}),
            ),
            "credential.user",
        ),
        (with("rate_limit", json!("lots")), "rate_limit"),
        (
            with("options", json!({"evil": "\u{202e}txt.exe"})),
            "options.evil",
        ),
        (with("region", json!("eu")), "region"),
    ];
    for (body, field) in cases {
        let refused = put(api.port, target, admin, body.clone()).await;
        assert_problem(&refused, 400, Some(field));
    }
    // An unknown field, and a base URL the component's connection refuses.
    assert_problem(
        &put(api.port, target, admin, with("colour", json!("blue"))).await,
        400,
        None,
    );
    let refused = put(
        api.port,
        target,
        admin,
        with(
            "credential",
            json!({"kind": "oauth2", "client_id": "c", "secret": "s",
                   "token_url": "https://login.example.net/token"}),
        ),
    )
    .await;
    assert_problem(&refused, 400, Some("connection"));
    // Another tenant gets public addresses only unless the operator says otherwise.
    let globex = put(api.port, target, &api.globex_admin, good.clone()).await;
    assert_problem(&globex, 400, Some("private_targets"));
    // And acme's upload is not globex's to name.
    let mut public = good.clone();
    public.as_object_mut().unwrap().remove("private_targets");
    let globex = put(api.port, target, &api.globex_admin, public).await;
    assert_problem(&globex, 400, Some("connector"));

    // Without a key, a credential is refused, not kept in clear.
    let (bare_port, bare_stop) = second_server((*api.rig.app).clone()).await;
    let refused = put(bare_port, target, admin, good.clone()).await;
    assert_problem(&refused, 409, None);
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap()
            .contains("SEATWARDEN_CREDENTIAL_KEY_FILE")
    );
    bare_stop.cancel();

    // Denied by default: without private targets, the vendor on loopback
    // is out of reach, and the connection is refused before it is kept.
    let mut public_only = good.clone();
    public_only
        .as_object_mut()
        .unwrap()
        .remove("private_targets");
    let refused = put(api.port, target, admin, public_only).await;
    assert_problem(&refused, 400, Some("connection"));
    let detail = refused.json()["detail"].as_str().unwrap().to_string();
    assert!(
        detail.contains("private_targets does not allow"),
        "{detail}"
    );
    assert_eq!(
        api.get(target, &api.acme_read).await.status,
        404,
        "nothing half-written"
    );
    assert_eq!(put(api.port, target, admin, good.clone()).await.status, 201);
    // Profiles: a connection the tenant does not have, bad settings.
    for (body, field) in [
        (json!({"connection": "nope"}), "connection"),
        (
            json!({"connection": "sr-api", "activity_from_days": 61}),
            "activity_from_days",
        ),
        (
            json!({"connection": "sr-api", "subscriptions_schedule": "every tuesday"}),
            "subscriptions_schedule",
        ),
        (
            json!({"connection": "sr-api", "activity_from": "2026-02-30"}),
            "activity_from",
        ),
    ] {
        assert_problem(
            &put(api.port, "/api/v1/profiles/other", admin, body).await,
            400,
            Some(field),
        );
    }
    assert_problem(
        &put(
            api.port,
            "/api/v1/profiles/Bad_Name",
            admin,
            json!({"connection": "sr-api"}),
        )
        .await,
        400,
        Some("name"),
    );
    let names: Vec<String> = api
        .get("/api/v1/profiles", &api.acme_read)
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, [PROFILE]);
}
