//! The HTTP API against a real server on loopback, with data a real
//! lifecycle made (a SmartRecruiters profile applied, validated against the
//! fake and published, its download stored and its candidates refreshed):
//! tokens and their scopes, tenant isolation generated from the published
//! route table, problem documents for bad input, keyset pages, revocation
//! that takes effect at once, the limit on failed authentications, and the
//! checked-in OpenAPI document, and a property-based fuzzer from PyPI
//! (schemathesis) run against the live server.

use seatwarden_app::connections::Connections;
use seatwarden_app::sealing::Sealer;
use seatwarden_app::tokens;
use seatwarden_domain::access::Scope;
use seatwarden_tests::api_client::{Answer, call, call_with};
use seatwarden_tests::fixtures::{guest, now_ms, repo_root};
use seatwarden_tests::published::Published;
use seatwarden_tests::smartrecruiters_fake::{
    SmartRecruitersFake, SrTenant, aged_accounts, seed_users_only,
};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const VENDOR_TOKEN: &str = "DCRA1-api";
pub(crate) const PROFILE: &str = "smartrecruiters";
pub(crate) const IDLE: usize = 3;
/// The name of acme's one entitlement.
const ACME_CONTRACT: &str = "acme-sr-2026";

pub(crate) struct Api {
    pub(crate) rig: Published,
    pub(crate) vendor: SmartRecruitersFake,
    pub(crate) port: u16,
    pub(crate) stop: CancellationToken,
    pub(crate) acme_admin: String,
    pub(crate) acme_operate: String,
    pub(crate) acme_read: String,
    pub(crate) acme_read_id: i64,
    pub(crate) globex_admin: String,
    pub(crate) operator: String,
    /// The sha256 of the SmartRecruiters component acme uploaded.
    pub(crate) acme_connector: String,
}

/// The credential key the test server seals with (32 bytes, base64).
const TEST_KEY: &str = "c2VhdHdhcmRlbi10ZXN0LWtleS0zMi1ieXRlcyEhISE=";

impl Drop for Api {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub(crate) async fn issue(
    rig: &Published,
    tenant: Option<&str>,
    name: &str,
    scope: Scope,
) -> (i64, String) {
    let tenant = match tenant {
        Some(name) => Some(rig.app.storage.ensure_tenant(name, now_ms()).await.unwrap()),
        None => None,
    };
    let issued = tokens::issue(&rig.app, tenant, name, scope, "test")
        .await
        .unwrap();
    (issued.id, issued.token.expose_secret().to_string())
}

/// acme with 20 SmartRecruiters users, `IDLE` of them never logged in and
/// so candidates; globex with nothing; the API on a loopback port.
pub(crate) async fn api(name: &str) -> Api {
    api_with(name, seatwarden_server::Options::default()).await
}

async fn api_with(name: &str, options: seatwarden_server::Options) -> Api {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    api_configured(name, options, listener, "", &[]).await
}

/// Like [`api`], with `extra` configuration (and the secret files it
/// names) and the server on `listener`, bound before the configuration is
/// written so the configuration may name the server's own address.
pub(crate) async fn api_configured(
    name: &str,
    options: seatwarden_server::Options,
    listener: tokio::net::TcpListener,
    extra: &str,
    secrets: &[(&str, &str)],
) -> Api {
    let vendor = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_users_only(VENDOR_TOKEN, 20, now_ms())
    })
    .await;
    let rig = Published::start(seatwarden_tests::published::Setup {
        name,
        connector: PROFILE,
        base_url: &vendor.url(),
        credential: VENDOR_TOKEN,
        reclaim: true,
        extra,
        secrets,
    })
    .await;
    let now = now_ms();
    rig.store(&aged_accounts(&vendor.users(), IDLE, now), now)
        .await;
    rig.refresh().await;
    let acme = rig.app.storage.ensure_tenant("acme", now).await.unwrap();
    let contract = seatwarden_domain::entitlements::Draft {
        name: ACME_CONTRACT.into(),
        publisher: "SmartRecruiters".into(),
        product: "SmartRecruiters".into(),
        edition: "Standard".into(),
        quantity: 25,
        unit_cost: "40.00".into(),
        currency: "EUR".into(),
        period: Some("month".into()),
        start: "2020-01-01".into(),
        end: "2099-12-31".into(),
        renewal: None,
    }
    .check()
    .unwrap();
    rig.app
        .storage
        .add_entitlement(acme, &contract, seatwarden_store::Source::Cli, "test", now)
        .await
        .unwrap();
    let (_, acme_admin) = issue(&rig, Some("acme"), "acme admin", Scope::Admin).await;
    let (_, acme_operate) = issue(&rig, Some("acme"), "acme reviewer", Scope::Operate).await;
    let (acme_read_id, acme_read) = issue(&rig, Some("acme"), "acme dashboard", Scope::Read).await;
    let (_, globex_admin) = issue(&rig, Some("globex"), "globex admin", Scope::Admin).await;
    let (_, operator) = issue(&rig, None, "platform team", Scope::Operator).await;
    let served = Arc::new(
        (*rig.app)
            .clone()
            .with_sealer(Sealer::from_base64(TEST_KEY).unwrap()),
    );
    let component = std::fs::read(guest(PROFILE)).unwrap();
    let (upload, _) = Connections {
        app: &served,
        tenant: acme,
        tenant_name: "acme".into(),
        actor: "test".into(),
    }
    .upload(&component)
    .await
    .unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = CancellationToken::new();
    tokio::spawn(seatwarden_server::serve_with(
        listener,
        served.clone(),
        options,
        stop.clone(),
    ));
    Api {
        rig,
        vendor,
        port,
        stop,
        acme_admin,
        acme_operate,
        acme_read,
        acme_read_id,
        globex_admin,
        operator,
        acme_connector: upload.stored.digest,
    }
}

impl Api {
    pub(crate) async fn get(&self, target: &str, token: &str) -> Answer {
        call(self.port, "GET", target, Some(token), None).await
    }

    pub(crate) async fn post(&self, target: &str, token: &str, body: Value) -> Answer {
        call(
            self.port,
            "POST",
            target,
            Some(token),
            Some(body.to_string().into_bytes()),
        )
        .await
    }

    /// Every page of a list endpoint, following `next_cursor`.
    async fn all_pages(&self, target: &str, token: &str) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut pages = 0;
        let mut cursor: Option<String> = None;
        loop {
            let sep = if target.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(c) => format!("{target}{sep}cursor={c}"),
                None => target.to_string(),
            };
            let answer = self.get(&url, token).await;
            assert_eq!(
                answer.status,
                200,
                "{url}: {}",
                String::from_utf8_lossy(&answer.body)
            );
            let page = answer.json();
            pages += 1;
            items.extend(page["items"].as_array().unwrap().iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_string()),
                None => return (items, pages),
            }
            assert!(pages < 100, "paging does not end");
        }
    }

    /// The vendor's accounts that are deactivated there.
    pub(crate) fn vendor_inactive(&self) -> Vec<String> {
        self.vendor
            .users()
            .into_iter()
            .filter(|u| !u.active)
            .map(|u| u.email)
            .collect()
    }

    pub(crate) async fn first_candidate(&self) -> i64 {
        let page = self.get("/api/v1/candidates", &self.acme_read).await.json();
        page["items"][0]["id"].as_i64().expect("a candidate")
    }
}

/// A problem document with `status`, naming `field` when given.
pub(crate) fn assert_problem(answer: &Answer, status: u16, field: Option<&str>) {
    assert_eq!(
        answer.status,
        status,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json")
    );
    let problem = answer.json();
    assert_eq!(problem["status"], status);
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:seatwarden:problem:")
    );
    assert!(!problem["detail"].as_str().unwrap().is_empty());
    if let Some(field) = field {
        assert_eq!(problem["field"], field, "{problem}");
    }
}

#[test]
fn the_checked_in_openapi_document_is_the_one_the_code_generates() {
    let generated = seatwarden_server::openapi_json();
    let path = repo_root().join("docs/openapi.json");
    if std::env::var_os("SEATWARDEN_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/openapi.json differs from what the server generates; if the change is intended, run `SEATWARDEN_BLESS=1 cargo nextest run -E 'test(openapi_document)'` and commit it"
    );
    let doc: Value = serde_json::from_str(&generated).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
}

/// The value of path parameter `param` of `path` that names one of acme's
/// objects. A new route with a parameter this does not know fails here,
/// so it cannot be left out of the isolation test.
fn acme_value(api: &Api, candidate: i64, path: &str, param: &str) -> String {
    match (param, path) {
        ("name", p) if p.starts_with("/api/v1/profiles/") => PROFILE.into(),
        ("id", p) if p.starts_with("/api/v1/candidates/") => candidate.to_string(),
        ("id", p) if p.starts_with("/api/v1/tokens/") => api.acme_read_id.to_string(),
        ("tenant", p) if p.starts_with("/api/v1/tenants/") => "acme".into(),
        ("name", p) if p.starts_with("/api/v1/entitlements/") => ACME_CONTRACT.into(),
        ("name", p) if p.starts_with("/api/v1/connections/") => PROFILE.into(),
        ("digest", p) if p.starts_with("/api/v1/connectors/") => api.acme_connector.clone(),
        _ => panic!("no acme object for parameter {{{param}}} of {path}: teach this test"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_not_found_to_another_tenants_token() {
    let api = api("api-isolation").await;
    let candidate = api.first_candidate().await;
    let doc: Value = serde_json::from_str(&seatwarden_server::openapi_json()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let mut checked = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let params = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut target = path.clone();
            let mut names_an_object = false;
            for param in &params {
                let name = param["name"].as_str().unwrap();
                match param["in"].as_str().unwrap() {
                    "path" => {
                        target = target.replace(
                            &format!("{{{name}}}"),
                            &acme_value(&api, candidate, path, name),
                        );
                        names_an_object = true;
                    }
                    "query" if name == "profile" => {
                        target = format!("{target}?profile={PROFILE}");
                        names_an_object = true;
                    }
                    _ => {}
                }
            }
            let body = operation.get("requestBody").map(|body| {
                if !body["content"]["application/octet-stream"].is_null() {
                    return b"\0asm not a component".to_vec();
                }
                let reference = body["content"]["application/json"]["schema"]["$ref"]
                    .as_str()
                    .expect("request bodies are named schemas");
                let schema = reference.rsplit('/').next().unwrap();
                let example = &schemas[schema]["example"];
                assert!(
                    !example.is_null(),
                    "{method} {path}: schema {schema} needs an example"
                );
                example.to_string().into_bytes()
            });
            let acme_before = if method == "put" {
                Some(api.get(&target, &api.acme_admin).await)
            } else {
                None
            };
            let method_upper = method.to_uppercase();
            let answer = call(
                api.port,
                &method_upper,
                &target,
                Some(&api.globex_admin),
                body,
            )
            .await;
            let operator_route = operation["tags"][0] == "operator";
            if operator_route {
                assert_problem(&answer, 403, None);
            } else if method == "put" {
                // PUT makes globex an object of its own under that name;
                // with the examples' references (acme's connection, an
                // upload globex does not have) it is refused, and acme's
                // object of that name is what it was.
                assert_problem(&answer, 400, None);
                let before = acme_before.expect("read before");
                assert_eq!(before.status, 200, "{target} for acme");
                assert_eq!(
                    api.get(&target, &api.acme_admin).await.json(),
                    before.json(),
                    "{target}"
                );
            } else if names_an_object {
                assert_problem(&answer, 404, None);
                // The same route finds the object for its own tenant.
                if method == "get" {
                    let own = api.get(&target, &api.acme_admin).await;
                    assert_eq!(own.status, 200, "{target} for acme");
                }
            } else {
                assert!(answer.status < 500, "{method} {target}: {}", answer.status);
                let text = String::from_utf8_lossy(&answer.body);
                assert!(
                    !text.contains(PROFILE) && !text.contains("acme"),
                    "{method} {target} shows acme's data to globex: {text}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} operations checked");
    // Nothing globex tried changed acme's candidate, entitlement or token.
    let contracts = api.get("/api/v1/entitlements", &api.acme_read).await.json();
    assert!(
        contracts
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == ACME_CONTRACT),
        "{contracts}"
    );
    let after = api
        .get(&format!("/api/v1/candidates/{candidate}"), &api.acme_read)
        .await;
    assert_eq!(after.json()["state"], "ready");
    assert_eq!(
        api.get("/api/v1/profiles", &api.acme_read).await.status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_decide_what_a_token_may_do_and_the_audit_log_names_it() {
    let api = api("api-scopes").await;
    let candidate = api.first_candidate().await;
    let decision = format!("/api/v1/candidates/{candidate}/decision");
    let skip = json!({"decision": "skip", "reason": "on parental leave"});

    assert_problem(
        &api.post(&decision, &api.acme_read, skip.clone()).await,
        403,
        None,
    );
    let decided = api.post(&decision, &api.acme_operate, skip.clone()).await;
    assert_eq!(
        decided.status,
        200,
        "{}",
        String::from_utf8_lossy(&decided.body)
    );
    let decided = decided.json();
    assert_eq!(decided["previous_state"], "ready");
    assert_eq!(decided["candidate"]["state"], "closed-skipped");
    // A closed candidate takes no more decisions: a conflict that says why.
    assert_problem(
        &api.post(&decision, &api.acme_operate, skip).await,
        409,
        None,
    );

    // Only an admin makes tokens; an operator sees no tenant's data.
    let new_token = json!({"name": "ci", "scope": "read"});
    assert_problem(
        &api.post("/api/v1/tokens", &api.acme_operate, new_token.clone())
            .await,
        403,
        None,
    );
    assert_eq!(
        api.post("/api/v1/tokens", &api.acme_admin, new_token)
            .await
            .status,
        201
    );
    assert_problem(&api.get("/api/v1/profiles", &api.operator).await, 403, None);

    let (entries, _) = api.all_pages("/api/v1/audit?limit=5", &api.acme_read).await;
    let skipped = entries
        .iter()
        .find(|e| e["detail"].as_str().unwrap().contains("chose skip"))
        .expect("the decision is audited");
    assert!(
        skipped["actor"]
            .as_str()
            .unwrap()
            .ends_with(":acme reviewer"),
        "{skipped}"
    );
    assert!(
        entries.iter().any(|e| e["action"] == "token.create"
            && e["actor"].as_str().unwrap().ends_with(":acme admin")),
        "the token made over the API is audited with the token that made it"
    );
    let ids: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "oldest first, no repeats: {ids:?}"
    );
    let check = api.get("/api/v1/audit/verify", &api.acme_read).await.json();
    assert_eq!(check["intact"], true);
    assert_eq!(check["entries"].as_u64().unwrap() as usize, entries.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_makes_a_tenant_and_its_first_admin() {
    let api = api("api-operator").await;
    let made = api
        .post("/api/v1/tenants", &api.operator, json!({"name": "initech"}))
        .await;
    assert_eq!(made.status, 201);
    assert_eq!(made.json()["source"], "api");
    assert_problem(
        &api.post("/api/v1/tenants", &api.operator, json!({"name": "initech"}))
            .await,
        409,
        None,
    );
    assert_problem(
        &api.post(
            "/api/v1/tenants",
            &api.operator,
            json!({"name": "bad name\u{202e}"}),
        )
        .await,
        400,
        Some("name"),
    );
    assert_problem(
        &api.post("/api/v1/tenants", &api.acme_admin, json!({"name": "x"}))
            .await,
        403,
        None,
    );
    let first = api
        .post(
            "/api/v1/tenants/initech/tokens",
            &api.operator,
            json!({"name": "first admin", "scope": "admin"}),
        )
        .await;
    assert_eq!(first.status, 201);
    let token = first.json()["token"].as_str().unwrap().to_string();
    let profiles = api.get("/api/v1/profiles", &token).await;
    assert_eq!((profiles.status, profiles.json()), (200, json!([])));
    let tenants = api.get("/api/v1/tenants", &api.operator).await.json();
    let names: Vec<&str> = tenants
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["acme", "globex", "initech"]);
    assert_problem(
        &api.post(
            "/api/v1/tenants/initech/tokens",
            &api.operator,
            json!({"name": "x", "scope": "operator"}),
        )
        .await,
        400,
        Some("scope"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_stops_working_at_once() {
    let api = api("api-revoke").await;
    assert_eq!(
        api.get("/api/v1/profiles", &api.acme_read).await.status,
        200
    );
    // An admin token cannot lock its own holder out.
    let tokens = api.get("/api/v1/tokens", &api.acme_admin).await.json();
    let own = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "acme admin")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let own_target = format!("/api/v1/tokens/{own}");
    let refused = call(api.port, "DELETE", &own_target, Some(&api.acme_admin), None).await;
    assert_problem(&refused, 409, None);
    let target = format!("/api/v1/tokens/{}", api.acme_read_id);
    let revoked = call(api.port, "DELETE", &target, Some(&api.acme_admin), None).await;
    assert_eq!(revoked.status, 200);
    assert!(revoked.json()["revoked_at"].is_string());
    let refused = api.get("/api/v1/profiles", &api.acme_read).await;
    assert_problem(&refused, 401, None);
    assert!(
        refused
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    assert_problem(
        &call(api.port, "DELETE", &target, Some(&api.acme_admin), None).await,
        409,
        None,
    );
    let listed = api.get("/api/v1/tokens", &api.acme_admin).await.json();
    let token = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == api.acme_read_id)
        .unwrap();
    assert!(token["revoked_at"].is_string());
    assert!(
        token["last_used_at"].is_string(),
        "it was used before: {token}"
    );
    assert!(
        !listed.to_string().contains("swt_"),
        "no token's secret is ever listed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_problem_naming_the_field_and_changes_nothing() {
    let api = api("api-bad-input").await;
    let candidate = api.first_candidate().await;
    let decision = format!("/api/v1/candidates/{candidate}/decision");
    let token = api.acme_operate.clone();
    let raw = |body: &'static [u8]| {
        call(
            api.port,
            "POST",
            &decision,
            Some(&token),
            Some(body.to_vec()),
        )
    };
    assert_problem(
        &raw(b"{\"decision\": \"skip\", \"because\": 1}").await,
        400,
        Some("because"),
    );
    assert_problem(&raw(b"{\"decision\": 5}").await, 400, Some("decision"));
    assert_problem(&raw(b"{\"reason\": \"x\"}").await, 400, Some("decision"));
    assert_problem(
        &raw(b"{\"decision\": \"maybe\"}").await,
        400,
        Some("decision"),
    );
    assert_problem(&raw(b"not json").await, 400, None);
    let huge = format!(
        "{{\"decision\": \"skip\", \"reason\": \"{}\"}}",
        "x".repeat(200_000)
    );
    let answer = call(
        api.port,
        "POST",
        &decision,
        Some(&token),
        Some(huge.into_bytes()),
    )
    .await;
    assert_problem(&answer, 413, None);
    let long_reason = json!({"decision": "skip", "reason": "x".repeat(501)});
    assert_problem(
        &api.post(&decision, &token, long_reason).await,
        400,
        Some("reason"),
    );
    let escape = json!({"decision": "skip", "reason": "ok\u{1b}[2J"});
    assert_problem(
        &api.post(&decision, &token, escape).await,
        400,
        Some("reason"),
    );
    // None of it changed the candidate.
    let now = api
        .get(&format!("/api/v1/candidates/{candidate}"), &token)
        .await
        .json();
    assert_eq!(now["state"], "ready");

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("cursor=bm90LWEta2V5", "cursor"),
        ("state=zombie", "state"),
        ("inactive_since=yesterday", "inactive_since"),
        ("colour=blue", "colour"),
    ] {
        let answer = api
            .get(&format!("/api/v1/subscriptions?{query}"), &token)
            .await;
        assert_problem(&answer, 400, Some(field));
    }
    assert_problem(
        &api.get("/api/v1/candidates/not-a-number", &token).await,
        400,
        None,
    );
    assert_problem(&api.get("/api/v1/nothing-here", &token).await, 404, None);
    assert_problem(
        &call(api.port, "GET", "/api/v1/profiles", None, None).await,
        401,
        None,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_by_cursor_without_repeating_or_losing_a_row_and_filter() {
    let api = api("api-pages").await;
    let (items, pages) = api
        .all_pages("/api/v1/subscriptions?limit=7", &api.acme_read)
        .await;
    assert_eq!((items.len(), pages), (20, 3));
    let mut ids: Vec<&str> = items
        .iter()
        .map(|i| i["account_id"].as_str().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 20, "no account twice");
    assert!(
        items
            .iter()
            .all(|i| i["profile"] == PROFILE && i["state"] == "active")
    );

    let (idle, _) = api
        .all_pages(
            "/api/v1/subscriptions?inactive_since=2000-01-01&limit=2",
            &api.acme_read,
        )
        .await;
    assert_eq!(
        idle.len(),
        IDLE,
        "only the never-active accounts had no activity since 2000"
    );
    assert!(idle.iter().all(|i| i["last_active_at"].is_null()));
    let (gone, _) = api
        .all_pages("/api/v1/subscriptions?state=gone", &api.acme_read)
        .await;
    assert!(gone.is_empty());

    let (candidates, pages) = api
        .all_pages("/api/v1/candidates?limit=1", &api.acme_read)
        .await;
    assert_eq!((candidates.len(), pages), (IDLE, IDLE));
    let ids: Vec<i64> = candidates
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    assert!(
        candidates
            .iter()
            .all(|c| c["explanation"].as_str().unwrap().contains("threshold")),
        "each candidate says why"
    );
    let (ready, _) = api
        .all_pages(
            &format!("/api/v1/candidates?profile={PROFILE}&state=ready"),
            &api.acme_read,
        )
        .await;
    assert_eq!(ready.len(), IDLE);
    let (jobs, _) = api.all_pages("/api/v1/jobs?limit=1", &api.acme_read).await;
    assert!(!jobs.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentications_are_limited_per_address() {
    let api = api("api-auth-limit").await;
    // No token at all is refused but is no guess.
    for _ in 0..seatwarden_server::auth::MAX_FAILURES + 5 {
        assert_problem(
            &call(api.port, "GET", "/api/v1/profiles", None, None).await,
            401,
            None,
        );
    }
    for attempt in 0..seatwarden_server::auth::MAX_FAILURES {
        let guess = format!("swt_0123456789abcdef_guess{attempt}");
        assert_problem(&api.get("/api/v1/profiles", &guess).await, 401, None);
    }
    // Over the limit, this address's guesses are refused with a wait...
    let refused = api
        .get("/api/v1/profiles", "swt_0123456789abcdef_more")
        .await;
    assert_problem(&refused, 429, None);
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= 600, "{wait}");
    // ...while a valid token from the same address still works, with the
    // scheme's name in any case.
    assert_eq!(
        api.get("/api/v1/profiles", &api.acme_read).await.status,
        200
    );
    let lower = format!("bearer {}", api.acme_read);
    let answer = call_with(api.port, "GET", "/api/v1/profiles", Some(&lower), None).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_now_makes_a_published_profiles_job_due_and_is_audited() {
    let api = api("api-run-now").await;
    let target = format!("/api/v1/profiles/{PROFILE}/run");
    let answer = api
        .post(&target, &api.acme_operate, json!({"kind": "subscriptions"}))
        .await;
    assert_eq!(
        answer.status,
        202,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let record = api.rig.record().await;
    let jobs = api.rig.app.storage.scheduled_jobs(record.id).await.unwrap();
    let job = jobs.iter().find(|j| j.kind == "subscriptions").unwrap();
    assert!(job.next_due_at <= now_ms(), "due now: {job:?}");
    assert_problem(
        &api.post(&target, &api.acme_operate, json!({"kind": "lunch"}))
            .await,
        400,
        Some("kind"),
    );
    let unpublished = api
        .post(
            &format!("/api/v1/profiles/{PROFILE}/unpublish"),
            &api.acme_admin,
            json!({}),
        )
        .await;
    assert_eq!(unpublished.json()["status"], "draft");
    assert_problem(
        &api.post(&target, &api.acme_operate, json!({"kind": "subscriptions"}))
            .await,
        409,
        None,
    );
    let audit = api
        .rig
        .app
        .storage
        .audit_entries(record.tenant)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "job.run-now" && e.actor.ends_with(":acme reviewer"))
    );
}

/// The checks that make "no 5xx, and no answer that breaks the contract".
const FUZZ_CHECKS: &str = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,response_headers_conformance";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_property_based_fuzzer_finds_no_server_error_and_no_answer_outside_the_contract() {
    // No limit on failed authentications here: the fuzzer also checks that
    // requests without the token are refused, and the limiter would turn
    // every later answer into a 429 and hide the handlers from it.
    let options = seatwarden_server::Options {
        max_auth_failures: i64::MAX,
    };
    let api = api_with("api-fuzz", options).await;
    let exe = repo_root().join("target/test-peers/bin/schemathesis");
    assert!(
        exe.exists(),
        "{} is missing: `cargo xtask test` installs the test peers",
        exe.display()
    );
    let reports = repo_root().join("target/test-tmp/schemathesis");
    let args: Vec<String> = vec![
        "run".into(),
        format!("http://127.0.0.1:{}/api/v1/openapi.json", api.port),
        "--header".into(),
        format!("Authorization: Bearer {}", api.acme_admin),
        "--checks".into(),
        FUZZ_CHECKS.into(),
        "--max-examples".into(),
        "20".into(),
        "--seed".into(),
        "22".into(),
        "--workers".into(),
        "1".into(),
        "--report-dir".into(),
        reports.display().to_string(),
    ];
    // It keeps a cache of what it found in `.schemathesis` under its
    // working directory: that is under target/, not in the source tree.
    std::fs::create_dir_all(&reports).unwrap();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .args(&args)
            .current_dir(reports.parent().unwrap())
            .env("SCHEMATHESIS_HOOKS", "")
            .output()
            .expect("schemathesis runs")
    })
    .await
    .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("passed"), "{printed}");
    // Whatever the fuzzer changed, it changed through the services: the
    // audit chain is whole, and the server still answers.
    let check = api.get("/api/v1/audit/verify", &api.acme_read).await;
    assert_eq!(check.status, 200);
    assert_eq!(check.json()["intact"], true, "{}", check.json());
}

/// `seatwarden serve --listen` as an operator runs it: the binary prints
/// where the API is, a token made with `seatwarden token create` works
/// against it, and SIGTERM stops it cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_the_api_with_a_token_made_on_the_command_line() {
    use std::io::BufRead;
    let api = api("api-binary").await;
    let token = api
        .rig
        .printed(&["token", "create", "--name", "ops laptop", "--scope", "read"]);
    let token = token.trim().to_string();
    assert!(token.starts_with("swt_"), "{token}");
    let listed = api.rig.printed(&["token", "list"]);
    assert!(
        listed.contains("ops laptop") && !listed.contains(&token),
        "{listed}"
    );

    let mut child = seatwarden_tests::fixtures::seatwarden_command(&api.rig.ws.config_path())
        .args(["serve", "--listen", "127.0.0.1:0", "--no-scheduler"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("seatwarden serve starts");
    let stderr = child.stderr.take().unwrap();
    let (lines, printed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let port: u16 = loop {
        let line = printed
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("serve prints where the API is");
        if let Some(rest) = line.strip_prefix("seatwarden serve: API on http://127.0.0.1:") {
            break rest.split('/').next().unwrap().parse().unwrap();
        }
    };
    let profiles = call(port, "GET", "/api/v1/profiles", Some(&token), None).await;
    assert_eq!(profiles.status, 200);
    assert_eq!(profiles.json()[0]["name"], PROFILE);
    let document = call(port, "GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(document.status, 200);
    assert_eq!(document.header("cache-control"), Some("no-store"));

    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "serve stops cleanly on SIGTERM: {status}");
}

/// Reclaiming over the API: the dry run names exactly who would go and
/// writes nothing at the vendor, the circuit breaker's refusal is an
/// answer (not an error), apply deactivates, and undo reactivates within
/// the vendor's window; undoing twice is a conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reclaim_with_a_dry_run_then_undo() {
    let api = api("api-reclaim").await;
    let reclaim = format!("/api/v1/profiles/{PROFILE}/reclaim");
    // Three of twenty is over the breaker's limit for this profile.
    let refused = api.post(&reclaim, &api.acme_operate, json!({})).await;
    assert_eq!(refused.status, 200);
    let refused = refused.json();
    assert!(
        refused["refused"]
            .as_str()
            .unwrap()
            .contains("circuit breaker"),
        "{refused}"
    );
    assert_eq!(refused["deactivate"].as_array().unwrap().len(), IDLE);

    let first = api.first_candidate().await;
    let skip = json!({"decision": "skip", "reason": "contractor, leaving soon anyway"});
    let decision = format!("/api/v1/candidates/{first}/decision");
    assert_eq!(
        api.post(&decision, &api.acme_operate, skip).await.status,
        200
    );

    let writes_before = api.vendor.server.writes().len();
    let dry = api
        .post(&reclaim, &api.acme_operate, json!({"apply": false}))
        .await
        .json();
    assert_eq!(dry["dry_run"], true);
    assert!(dry["refused"].is_null(), "{dry}");
    let planned: Vec<&str> = dry["deactivate"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["principal"].as_str().unwrap())
        .collect();
    assert_eq!(planned.len(), IDLE - 1);
    assert_eq!(
        api.vendor.server.writes().len(),
        writes_before,
        "a dry run writes nothing"
    );

    assert_problem(
        &api.post(&reclaim, &api.acme_read, json!({"apply": true}))
            .await,
        403,
        None,
    );
    let done = api
        .post(&reclaim, &api.acme_operate, json!({"apply": true}))
        .await
        .json();
    assert_eq!(done["dry_run"], false);
    let deactivated: Vec<&str> = done["deactivated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(deactivated, planned, "exactly what the dry run named");
    let inactive = api.vendor_inactive();
    assert_eq!(inactive.len(), IDLE - 1);

    let reclaimed = dry["deactivate"][0]["id"].as_i64().unwrap();
    let undo = format!("/api/v1/candidates/{reclaimed}/undo");
    let undone = api.post(&undo, &api.acme_operate, json!({})).await;
    assert_eq!(
        undone.status,
        200,
        "{}",
        String::from_utf8_lossy(&undone.body)
    );
    assert!(undone.json()["reactivated_at"].is_string());
    assert_eq!(api.vendor_inactive().len(), IDLE - 2);
    assert_problem(
        &api.post(&undo, &api.acme_operate, json!({})).await,
        409,
        None,
    );
    // The skipped candidate was never reclaimed: nothing to undo.
    let never = format!("/api/v1/candidates/{first}/undo");
    assert_problem(
        &api.post(&never, &api.acme_operate, json!({})).await,
        409,
        None,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entitlements_and_reports_over_the_api() {
    let api = api("api-reports").await;
    // Nothing reconciled yet: the compliance report says how to make one.
    let none = api.get("/api/v1/reports/compliance", &api.acme_read).await;
    assert_problem(&none, 404, None);
    assert!(
        none.json()["detail"]
            .as_str()
            .unwrap()
            .contains("reconcile")
    );

    // An admin adds an entitlement; the same body again changes nothing.
    let contract = json!({"name": "PO-7", "publisher": "SmartRecruiters",
        "product": "SmartRecruiters", "edition": "Standard", "quantity": 5,
        "unit_cost": "400.00", "currency": "EUR", "period": "year",
        "start": "2020-01-01", "end": "2099-12-31"});
    let read_only = api
        .post("/api/v1/entitlements", &api.acme_read, contract.clone())
        .await;
    assert_problem(&read_only, 403, None);
    let added = api
        .post("/api/v1/entitlements", &api.acme_admin, contract.clone())
        .await;
    assert_eq!(
        added.status,
        201,
        "{}",
        String::from_utf8_lossy(&added.body)
    );
    assert_eq!(added.json()["source"], "api");
    let again = api
        .post("/api/v1/entitlements", &api.acme_admin, contract.clone())
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["source"], "api");
    let mut bad = contract.clone();
    bad["currency"] = json!("euro");
    let refused = api.post("/api/v1/entitlements", &api.acme_admin, bad).await;
    assert_problem(&refused, 400, Some("currency"));
    let mut reversed = contract.clone();
    reversed["publisher"] = json!("Smart\u{202e}sretiurceR");
    let refused = api
        .post("/api/v1/entitlements", &api.acme_admin, reversed)
        .await;
    assert_problem(&refused, 400, Some("publisher"));
    let listed = api.get("/api/v1/entitlements", &api.acme_read).await.json();
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["PO-7", ACME_CONTRACT]);
    assert_eq!(listed[1]["source"], "cli");

    // An operate token reconciles; the report then shows 25 + 5 Standard
    // rights owned, the 20 accounts used, and every open candidate.
    let run = api
        .post("/api/v1/reports/reconcile", &api.acme_operate, json!({}))
        .await;
    assert_eq!(run.status, 200, "{}", String::from_utf8_lossy(&run.body));
    let report = api.get("/api/v1/reports/compliance", &api.acme_read).await;
    assert_eq!(report.status, 200);
    let report = report.json();
    assert_eq!(report["id"], run.json()["id"]);
    let models = report["models"].as_array().unwrap();
    let standard = models
        .iter()
        .find(|m| m["edition"] == "Standard")
        .unwrap_or_else(|| panic!("no Standard model in {report}"));
    assert_eq!(standard["owned"], 30, "{standard}");
    assert_eq!(standard["status"], "over-licensed", "{standard}");
    assert_eq!(report["used"], 20, "{report}");
    let open: u64 = models
        .iter()
        .map(|m| m["open_candidates"].as_u64().unwrap())
        .sum();
    assert_eq!(open, IDLE as u64, "{report}");
    let history = api.get("/api/v1/reports/history", &api.acme_read).await;
    assert_eq!(history.json().as_array().unwrap().len(), 1);
    assert_problem(
        &api.get("/api/v1/reports/history?limit=0", &api.acme_read)
            .await,
        400,
        Some("limit"),
    );

    // The activity histogram counts every active account once, as JSON
    // and as a picture that cannot run script.
    let histogram = api
        .get("/api/v1/reports/activity", &api.acme_read)
        .await
        .json();
    let total: u64 = histogram[0]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["accounts"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 20, "{histogram}");
    let svg = api
        .get("/api/v1/reports/activity.svg", &api.acme_read)
        .await;
    assert_eq!(svg.status, 200);
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    assert!(String::from_utf8_lossy(&svg.body).contains("<svg"));
    assert!(svg.header("content-security-policy").is_some());

    let spend = api
        .get("/api/v1/reports/spend?by=department", &api.acme_read)
        .await;
    assert_eq!(
        spend.status,
        200,
        "{}",
        String::from_utf8_lossy(&spend.body)
    );
    let accounts: u64 = spend
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["accounts"].as_u64().unwrap())
        .sum();
    assert_eq!(accounts, 20);
    assert_problem(
        &api.get("/api/v1/reports/spend?by=", &api.acme_read).await,
        400,
        Some("by"),
    );
    assert_eq!(
        api.get("/api/v1/reports/unrecognized", &api.acme_read)
            .await
            .status,
        200
    );

    // Removing: the API's own entitlement goes, an unknown one is 404, and
    // both changes are audited under the admin token.
    let gone = call(
        api.port,
        "DELETE",
        "/api/v1/entitlements/PO-7",
        Some(&api.acme_admin),
        None,
    )
    .await;
    assert_eq!(gone.status, 204);
    let twice = call(
        api.port,
        "DELETE",
        "/api/v1/entitlements/PO-7",
        Some(&api.acme_admin),
        None,
    )
    .await;
    assert_problem(&twice, 404, None);
    let audit = api
        .get("/api/v1/audit?limit=500", &api.acme_read)
        .await
        .json();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"].as_str().unwrap().ends_with(":acme admin"))
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["entitlement.add", "entitlement.remove"],
        "{audit}"
    );
}
