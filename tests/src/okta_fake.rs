//! An Okta Management API fake (idp-apis.md §1, the official OpenAPI subset).
//!
//! - `Authorization: SSWS <token>`, else 401 `E0000011`;
//! - `GET /api/v1/apps` (`filter=id eq "…"`), `GET /api/v1/apps/{appId}/users`
//!   (`limit` 1–500, `expand=user`, 404 `E0000007` for an unknown app),
//!   `GET`/`DELETE /api/v1/apps/{appId}/users/{userId}` (204; 403 `E0000046`
//!   when a group grants the app), `GET /api/v1/users/me`;
//! - paging by `Link: <…>; rel="next"` headers with an opaque `after`,
//!   beside a `rel="self"` link in a header of its own;
//! - `GET /api/v1/logs`: `since` (400 `E0000053` beyond 180 days), SCIM
//!   `filter` of `eq` terms joined by `and`, `limit` 0–1000, polling queries
//!   whose `next` link never ends (even after an empty page), and nothing
//!   older than the 90 days Okta keeps; `user.authentication.sso` events
//!   with the `AppInstance` and `AppUser` targets and failed sign-ons too;
//! - a token whose admin cannot read the System Log: 403 `E0000006` with
//!   `WWW-Authenticate: Bearer error="insufficient_scope", scope="okta.logs.read"`;
//! - a per-minute request limit: `X-Rate-Limit-Limit/-Remaining/-Reset`
//!   on every answer, 429 `E0000047` past it;
//! - a `Date` header on every answer from the fake's clock, which the
//!   connector takes as Okta's time.

use crate::server::{Recorded, Reply, TestServer};
use crate::smartrecruiters_fake::{DAY_MS, iso, parse_iso, parse_query};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How long the fake's System Log keeps events, as Okta's does.
pub const LOG_RETENTION_DAYS: i64 = 90;

#[derive(Clone, Debug, PartialEq)]
pub struct OktaUser {
    pub id: String,
    pub login: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub status: String,
    pub last_login: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OktaGroup {
    pub id: String,
    pub name: String,
}

/// One person's assignment to an app: direct, through groups, or both.
#[derive(Clone, Debug, PartialEq)]
pub struct OktaAssignment {
    pub user_id: String,
    pub direct: bool,
    /// Groups (ids) that grant the app; the first is the one Okta links.
    pub groups: Vec<String>,
    pub user_name: String,
    pub created: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OktaApp {
    pub id: String,
    pub label: String,
    pub name: String,
    pub status: String,
    pub assignments: Vec<OktaAssignment>,
}

/// A single sign-on into an app (`user.authentication.sso`).
#[derive(Clone, Debug, PartialEq)]
pub struct SsoEvent {
    pub user_id: String,
    pub app_id: String,
    pub at: i64,
    pub success: bool,
}

#[derive(Clone, Debug)]
pub struct OktaTenant {
    pub token: String,
    /// The admin the API token belongs to (`GET /api/v1/users/me`).
    pub admin_id: String,
    pub users: Vec<OktaUser>,
    pub groups: Vec<OktaGroup>,
    pub apps: Vec<OktaApp>,
    /// Oldest first.
    pub events: Vec<SsoEvent>,
    /// Whether the token's admin may read the System Log.
    pub can_read_logs: bool,
    pub requests_per_minute: Option<u32>,
    pub now_ms: i64,
}

/// The seeded app the tests reclaim through, and a second one.
pub const APP_ID: &str = "0oa1smartsheet0000001";
pub const OTHER_APP_ID: &str = "0oa2salesforce000002";
/// The group that grants the seeded app to part of its users.
pub const GROUP_ID: &str = "00g1smartsheetusers01";
pub const GROUP_NAME: &str = "Smartsheet Users";

pub fn user_id(i: usize) -> String {
    format!("00u{i:017}")
}

/// `count` people, all assigned to [`APP_ID`]: every third through the
/// group [`GROUP_NAME`] only, every seventh both directly and through it,
/// the rest directly; half also assigned to [`OTHER_APP_ID`]. Sign-ons
/// into the app for two thirds of them, at most 40 days back (some older
/// than the 90 days the log keeps), failed sign-ons for some idle ones.
pub fn seed_tenant(token: &str, count: usize, now_ms: i64) -> OktaTenant {
    let mut users = Vec::with_capacity(count + 1);
    let mut assignments = Vec::with_capacity(count);
    let mut other = Vec::new();
    let mut events = Vec::new();
    for i in 0..count {
        let id = user_id(i);
        let email = format!("person{i}@example.com");
        users.push(OktaUser {
            id: id.clone(),
            login: email.clone(),
            email: email.clone(),
            first_name: format!("Person{i}"),
            last_name: "Okta".into(),
            status: if i % 50 == 49 { "SUSPENDED" } else { "ACTIVE" }.into(),
            last_login: Some(now_ms - (i % 30) as i64 * DAY_MS),
        });
        let by_group = i % 3 == 0;
        assignments.push(OktaAssignment {
            user_id: id.clone(),
            direct: !by_group || i % 7 == 0,
            groups: if by_group || i % 7 == 0 {
                vec![GROUP_ID.into()]
            } else {
                vec![]
            },
            user_name: email.clone(),
            created: now_ms - 400 * DAY_MS,
        });
        if i % 2 == 0 {
            other.push(OktaAssignment {
                user_id: id.clone(),
                direct: true,
                groups: vec![],
                user_name: email.clone(),
                created: now_ms - 400 * DAY_MS,
            });
        }
        match i % 3 {
            0 | 1 => events.push(SsoEvent {
                user_id: id.clone(),
                app_id: APP_ID.into(),
                at: now_ms - (i % 40) as i64 * DAY_MS - 3_600_000,
                success: true,
            }),
            _ => events.push(SsoEvent {
                user_id: id.clone(),
                app_id: APP_ID.into(),
                at: now_ms - 2 * DAY_MS,
                success: false,
            }),
        }
        if i % 4 == 0 {
            events.push(SsoEvent {
                user_id: id,
                app_id: OTHER_APP_ID.into(),
                at: now_ms - DAY_MS,
                success: true,
            });
        }
    }
    let admin_id = "00uadmin0000000000001".to_string();
    users.push(OktaUser {
        id: admin_id.clone(),
        login: "okta.admin@example.com".into(),
        email: "okta.admin@example.com".into(),
        first_name: "Okta".into(),
        last_name: "Admin".into(),
        status: "ACTIVE".into(),
        last_login: Some(now_ms),
    });
    events.sort_by_key(|e| e.at);
    OktaTenant {
        token: token.into(),
        admin_id,
        users,
        groups: vec![OktaGroup {
            id: GROUP_ID.into(),
            name: GROUP_NAME.into(),
        }],
        apps: vec![
            OktaApp {
                id: APP_ID.into(),
                label: "Smartsheet".into(),
                name: "smartsheet".into(),
                status: "ACTIVE".into(),
                assignments,
            },
            OktaApp {
                id: OTHER_APP_ID.into(),
                label: "Salesforce".into(),
                name: "salesforce".into(),
                status: "ACTIVE".into(),
                assignments: other,
            },
        ],
        events,
        can_read_logs: true,
        requests_per_minute: Some(600),
        now_ms,
    }
}

struct State {
    tenant: OktaTenant,
    /// The fake's own URL: Okta writes absolute links to its org URL.
    origin: String,
    /// Start of the current one-minute rate-limit window (real time: the
    /// client really waits) and the requests counted in it.
    window: (std::time::Instant, u32),
    rate_limited: u32,
    next_error_id: u64,
    /// User id → position in `tenant.users`, rebuilt after every edit:
    /// at 100,000 users a scan per embedded user or log event measured the
    /// fake instead of the client.
    user_index: HashMap<String, usize>,
}

impl State {
    fn user(&self, id: &str) -> Option<&OktaUser> {
        self.user_index
            .get(id)
            .and_then(|&i| self.tenant.users.get(i))
            .filter(|u| u.id == id)
    }

    fn reindex(&mut self) {
        self.user_index = self
            .tenant
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id.clone(), i))
            .collect();
    }
}

/// A running fake; stops when dropped.
pub struct OktaFake {
    pub server: TestServer,
    state: Arc<Mutex<State>>,
}

impl OktaFake {
    pub async fn start(tenant: OktaTenant) -> OktaFake {
        let state = Arc::new(Mutex::new(State {
            origin: String::new(),
            window: (std::time::Instant::now(), 0),
            tenant,
            rate_limited: 0,
            next_error_id: 1,
            user_index: HashMap::new(),
        }));
        state.lock().unwrap().reindex();
        let shared = state.clone();
        let server =
            TestServer::start(move |request| handle(request, &mut shared.lock().unwrap())).await;
        state.lock().unwrap().origin = server.url();
        OktaFake { server, state }
    }

    /// The org URL a connection uses as its base URL.
    pub fn base_url(&self) -> String {
        self.server.url()
    }

    pub fn tenant(&self) -> OktaTenant {
        self.state.lock().unwrap().tenant.clone()
    }

    pub fn rate_limited(&self) -> u32 {
        self.state.lock().unwrap().rate_limited
    }

    pub fn edit(&self, f: impl FnOnce(&mut OktaTenant)) {
        let mut state = self.state.lock().unwrap();
        f(&mut state.tenant);
        // The log is kept oldest first, whatever order an edit added in.
        state.tenant.events.sort_by_key(|e| e.at);
        state.reindex();
    }
}

/// `Date` as an HTTP date (IMF-fixdate).
pub fn http_date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .expect("fake clock in range")
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

struct Answer {
    status: u16,
    body: Value,
    headers: Vec<(String, String)>,
}

impl Answer {
    fn ok(body: Value) -> Answer {
        Answer {
            status: 200,
            body,
            headers: vec![],
        }
    }
}

fn error(state: &mut State, status: u16, code: &str, summary: &str) -> Answer {
    state.next_error_id += 1;
    Answer {
        status,
        body: json!({
            "errorCode": code,
            "errorSummary": summary,
            "errorLink": code,
            "errorId": format!("oae{:020}", state.next_error_id),
            "errorCauses": [],
        }),
        headers: vec![],
    }
}

fn handle(request: &Recorded, state: &mut State) -> Reply {
    let answer = answer(request, state);
    let now = state.tenant.now_ms;
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("date".to_string(), http_date(now)),
    ];
    if let Some(limit) = state.tenant.requests_per_minute {
        headers.push(("x-rate-limit-limit".into(), limit.to_string()));
        headers.push((
            "x-rate-limit-remaining".into(),
            limit.saturating_sub(state.window.1).to_string(),
        ));
        // When the window ends, on the fake's clock, rounded up to the second.
        let left = 60_000 - state.window.0.elapsed().as_millis().min(60_000) as i64;
        headers.push((
            "x-rate-limit-reset".into(),
            ((now + left + 999) / 1000).to_string(),
        ));
    }
    headers.extend(answer.headers);
    Reply::Respond {
        status: answer.status,
        headers,
        body: if answer.status == 204 {
            Vec::new()
        } else {
            serde_json::to_vec(&answer.body).expect("JSON serializes")
        },
    }
}

fn answer(request: &Recorded, state: &mut State) -> Answer {
    if request.header("authorization") != Some(&format!("SSWS {}", state.tenant.token)) {
        return error(state, 401, "E0000011", "Invalid token provided");
    }
    if let Some(limit) = state.tenant.requests_per_minute {
        if state.window.0.elapsed() >= std::time::Duration::from_secs(60) {
            state.window = (std::time::Instant::now(), 0);
        }
        if state.window.1 >= limit {
            state.rate_limited += 1;
            return error(
                state,
                429,
                "E0000047",
                "API call exceeded rate limit due to too many requests.",
            );
        }
        state.window.1 += 1;
    }
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    let params = parse_query(query);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["api", "v1", "apps"]) => list_apps(state, &params),
        ("GET", ["api", "v1", "apps", app, "users"]) => app_users(state, app, &params),
        ("GET", ["api", "v1", "apps", app, "users", user]) => {
            match find_assignment(state, app, user) {
                Some((a, i)) => {
                    let body = app_user_json(state, &state.tenant.apps[a].assignments[i], false);
                    Answer::ok(body)
                }
                None => error(
                    state,
                    404,
                    "E0000007",
                    &format!("Not found: Resource not found: {user} (AppUser)"),
                ),
            }
        }
        ("DELETE", ["api", "v1", "apps", app, "users", user]) => unassign(state, app, user),
        ("GET", ["api", "v1", "users", "me"]) => {
            let admin = state.tenant.admin_id.clone();
            let user = state.tenant.users.iter().find(|u| u.id == admin).cloned();
            match user {
                Some(user) => Answer::ok(user_json(&user)),
                None => error(
                    state,
                    404,
                    "E0000007",
                    "Not found: Resource not found: me (User)",
                ),
            }
        }
        ("GET", ["api", "v1", "logs"]) => logs(state, &params, query),
        _ => error(
            state,
            404,
            "E0000022",
            "The endpoint does not support the provided HTTP method",
        ),
    }
}

fn find_assignment(state: &State, app: &str, user: &str) -> Option<(usize, usize)> {
    let a = state.tenant.apps.iter().position(|x| x.id == app)?;
    let i = state.tenant.apps[a]
        .assignments
        .iter()
        .position(|x| x.user_id == user)?;
    Some((a, i))
}

/// The `filter` terms (`field eq "value"` joined by ` and `), or `None`
/// when the expression is not of that form.
fn filter_terms(filter: &str) -> Option<Vec<(String, String)>> {
    filter
        .split(" and ")
        .map(|term| {
            let (field, value) = term.trim().split_once(" eq ")?;
            let value = value.trim().strip_prefix('"')?.strip_suffix('"')?;
            Some((field.trim().to_string(), value.to_string()))
        })
        .collect()
}

fn list_apps(state: &mut State, params: &HashMap<String, String>) -> Answer {
    let terms = match params.get("filter").map(|f| filter_terms(f)) {
        None => vec![],
        Some(Some(terms))
            if terms
                .iter()
                .all(|(f, _)| f == "id" || f == "status" || f == "name") =>
        {
            terms
        }
        Some(_) => return error(state, 400, "E0000031", "Invalid search criteria."),
    };
    let apps: Vec<Value> = state
        .tenant
        .apps
        .iter()
        .filter(|app| {
            terms.iter().all(|(field, value)| match field.as_str() {
                "id" => app.id == *value,
                "status" => app.status == *value,
                _ => app.name == *value,
            })
        })
        .map(|app| {
            json!({
                "id": app.id, "label": app.label, "name": app.name, "status": app.status,
                "signOnMode": "SAML_2_0",
                "created": iso(state.tenant.now_ms - 500 * DAY_MS),
                "lastUpdated": iso(state.tenant.now_ms - 5 * DAY_MS),
            })
        })
        .collect();
    let limit = match params.get("limit").map(|l| l.parse::<i64>()) {
        None | Some(Ok(-1)) => apps.len().max(1),
        Some(Ok(l)) if (1..=200).contains(&l) => l as usize,
        Some(_) => return error(state, 400, "E0000001", "Api validation failed: limit"),
    };
    let start = match params.get("after").map(|t| after_position(t)) {
        None => 0,
        Some(Some(p)) => p,
        Some(None) => return error(state, 400, "E0000001", "Api validation failed: after"),
    };
    let end = (start + limit).min(apps.len());
    let base = state.origin.clone();
    let next = (end < apps.len()).then(|| {
        format!(
            "{base}/api/v1/apps?after={}&limit={limit}",
            after_token(end)
        )
    });
    Answer {
        status: 200,
        body: Value::Array(apps[start.min(end)..end].to_vec()),
        headers: links(&format!("{base}/api/v1/apps"), next),
    }
}

fn user_json(user: &OktaUser) -> Value {
    json!({
        "id": user.id,
        "status": user.status,
        "created": "2024-01-10T09:00:00.000Z",
        "lastLogin": user.last_login.map(iso),
        "profile": {
            "login": user.login, "email": user.email,
            "firstName": user.first_name, "lastName": user.last_name,
        },
        "_links": {"self": {"href": format!("/api/v1/users/{}", user.id)}},
    })
}

fn app_user_json(state: &State, assignment: &OktaAssignment, expand: bool) -> Value {
    let mut links = json!({"user": {"href": format!("/api/v1/users/{}", assignment.user_id)}});
    if !assignment.direct
        && let Some(group) = assignment.groups.first()
    {
        let name = state
            .tenant
            .groups
            .iter()
            .find(|g| g.id == *group)
            .map(|g| g.name.clone());
        links["group"] = json!({"name": name, "href": format!("/api/v1/groups/{group}")});
    }
    let mut value = json!({
        "id": assignment.user_id,
        "scope": if assignment.direct { "USER" } else { "GROUP" },
        "status": "ACTIVE",
        "syncState": "DISABLED",
        "created": iso(assignment.created),
        "lastUpdated": iso(assignment.created),
        "statusChanged": iso(assignment.created),
        "credentials": {"userName": assignment.user_name},
        "profile": {},
        "_links": links,
    });
    if expand && let Some(user) = state.user(&assignment.user_id) {
        value["_embedded"] = json!({"user": user_json(user)});
    }
    value
}

/// `Link` headers: `self`, and `next` when there is more.
fn links(path_and_query: &str, next: Option<String>) -> Vec<(String, String)> {
    let mut headers = vec![(
        "link".to_string(),
        format!("<{path_and_query}>; rel=\"self\""),
    )];
    if let Some(next) = next {
        headers.push(("link".to_string(), format!("<{next}>; rel=\"next\"")));
    }
    headers
}

/// The opaque `after` cursor for a position.
fn after_token(position: usize) -> String {
    format!("{:x}Zq", position ^ 0x5a5a)
}

fn after_position(token: &str) -> Option<usize> {
    usize::from_str_radix(token.strip_suffix("Zq")?, 16)
        .ok()
        .map(|p| p ^ 0x5a5a)
}

fn app_users(state: &mut State, app: &str, params: &HashMap<String, String>) -> Answer {
    let Some(a) = state.tenant.apps.iter().position(|x| x.id == app) else {
        return error(
            state,
            404,
            "E0000007",
            &format!("Not found: Resource not found: {app} (AppInstance)"),
        );
    };
    let limit = match params.get("limit").map(|l| l.parse::<usize>()) {
        None => 50,
        Some(Ok(l)) if (1..=500).contains(&l) => l,
        Some(_) => return error(state, 400, "E0000001", "Api validation failed: limit"),
    };
    let start = match params.get("after").map(|t| after_position(t)) {
        None => 0,
        Some(Some(p)) => p,
        Some(None) => return error(state, 400, "E0000001", "Api validation failed: after"),
    };
    let expand = params.get("expand").map(String::as_str) == Some("user");
    let all = &state.tenant.apps[a].assignments;
    let end = (start + limit).min(all.len());
    let page: Vec<Value> = all[start.min(end)..end]
        .iter()
        .map(|x| app_user_json(state, x, expand))
        .collect();
    let base = state.origin.clone();
    let next = (end < all.len()).then(|| {
        format!(
            "{base}/api/v1/apps/{app}/users?after={}&limit={limit}{}",
            after_token(end),
            if expand { "&expand=user" } else { "" }
        )
    });
    Answer {
        status: 200,
        body: Value::Array(page),
        headers: links(&format!("{base}/api/v1/apps/{app}/users"), next),
    }
}

fn unassign(state: &mut State, app: &str, user: &str) -> Answer {
    let Some((a, i)) = find_assignment(state, app, user) else {
        return error(
            state,
            404,
            "E0000007",
            &format!("Not found: Resource not found: {user} (AppUser)"),
        );
    };
    if !state.tenant.apps[a].assignments[i].groups.is_empty() {
        return error(
            state,
            403,
            "E0000046",
            "Deactivate application for user forbidden.",
        );
    }
    state.tenant.apps[a].assignments.remove(i);
    Answer {
        status: 204,
        body: Value::Null,
        headers: vec![],
    }
}

fn logs(state: &mut State, params: &HashMap<String, String>, raw_query: &str) -> Answer {
    if !state.tenant.can_read_logs {
        let mut answer = error(
            state,
            403,
            "E0000006",
            "You do not have permission to perform the requested action",
        );
        answer.headers.push((
            "www-authenticate".into(),
            "Bearer authorization_uri=\"http://okta/oauth2/v1/authorize\", realm=\"http://okta\", scope=\"okta.logs.read\", error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", resource=\"/api/v1/logs\"".into(),
        ));
        return answer;
    }
    let now = state.tenant.now_ms;
    let limit = match params.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(l)) if l <= 1000 => l,
        Some(_) => return error(state, 400, "E0000001", "Api validation failed: limit"),
    };
    let terms = match params.get("filter").map(|f| filter_terms(f)) {
        None => vec![],
        Some(Some(terms))
            if terms.iter().all(|(f, _)| {
                matches!(
                    f.as_str(),
                    "eventType" | "target.id" | "actor.id" | "outcome.result"
                )
            }) =>
        {
            terms
        }
        Some(_) => return error(state, 400, "E0000053", "Invalid SCIM filter."),
    };
    let kept_from = now - LOG_RETENTION_DAYS * DAY_MS;
    let start = match (params.get("after"), params.get("since")) {
        (Some(after), _) => match after_position(after) {
            Some(p) => p,
            None => return error(state, 400, "E0000001", "Api validation failed: after"),
        },
        (None, since) => {
            let since = match since.map(|s| parse_iso(s)) {
                None => now - 7 * DAY_MS,
                Some(Some(since)) if since >= now - 180 * DAY_MS => since,
                Some(_) => {
                    return error(
                        state,
                        400,
                        "E0000053",
                        "Invalid SCIM filter: since is too old.",
                    );
                }
            };
            // Oldest first: the first at or after the start.
            state
                .tenant
                .events
                .partition_point(|e| e.at < since.max(kept_from))
        }
    };
    let matches = |e: &SsoEvent| {
        e.at >= kept_from
            && terms.iter().all(|(field, value)| match field.as_str() {
                "eventType" => value == "user.authentication.sso",
                "target.id" => e.app_id == *value,
                "actor.id" => e.user_id == *value,
                _ => (if e.success { "SUCCESS" } else { "FAILURE" }) == value,
            })
    };
    let events = &state.tenant.events;
    let mut page = Vec::new();
    let mut position = start.min(events.len());
    while position < events.len() && page.len() < limit {
        let e = &events[position];
        position += 1;
        if matches(e) {
            page.push(log_event_json(state, e, position));
        }
    }
    let base = state.origin.clone();
    // The filter goes on as the client encoded it.
    let filter = raw_query
        .split('&')
        .find(|kv| kv.starts_with("filter="))
        .map(|kv| format!("&{kv}"))
        .unwrap_or_default();
    // A polling query's `next` never ends: it points past what was read.
    let next = format!(
        "{base}/api/v1/logs?after={}&limit={limit}&sortOrder=ASCENDING{filter}",
        after_token(position)
    );
    Answer {
        status: 200,
        body: Value::Array(page),
        headers: links(&format!("{base}/api/v1/logs"), Some(next)),
    }
}

fn log_event_json(state: &State, event: &SsoEvent, n: usize) -> Value {
    let user = state.user(&event.user_id);
    let app = state.tenant.apps.iter().find(|a| a.id == event.app_id);
    json!({
        "uuid": format!("{n:08x}-7c1f-11ef-9a35-{:012x}", n * 7919),
        "published": iso(event.at),
        "eventType": "user.authentication.sso",
        "version": "0",
        "severity": "INFO",
        "legacyEventType": "app.auth.sso",
        "displayMessage": "User single sign on to app",
        "actor": {
            "id": event.user_id, "type": "User",
            "alternateId": user.map(|u| u.login.clone()),
            "displayName": user.map(|u| format!("{} {}", u.first_name, u.last_name)),
        },
        "outcome": {"result": if event.success { "SUCCESS" } else { "FAILURE" }, "reason": Value::Null},
        "target": [
            {"id": event.app_id, "type": "AppInstance",
             "alternateId": app.map(|a| a.label.clone()), "displayName": app.map(|a| a.label.clone()),
             "detailEntry": {"signOnModeType": "SAML_2_0"}},
            {"id": format!("0ua{n:017}"), "type": "AppUser",
             "alternateId": user.map(|u| u.email.clone()), "displayName": user.map(|u| format!("{} {}", u.first_name, u.last_name))},
        ],
        "client": {"ipAddress": "192.0.2.10", "userAgent": {"rawUserAgent": "Mozilla/5.0"}},
    })
}
