//! A Smartsheet API 2.0 fake (vendor-apis.md §2, the official OpenAPI file).
//!
//! - `Authorization: Bearer <token>` or 401 with `{errorCode: 1001|1002}`;
//! - `GET /2.0/users`: `page`/`pageSize` paging (IndexResult), `lastLogin`
//!   only with `include=lastLogin` and `pageSize` ≤ 100, empty `data` past
//!   the last page; `GET /2.0/users/{id}`;
//! - `POST /2.0/users/{id}/deactivate|reactivate` with `{message, resultCode}`,
//!   error 1359 for ISP-domain accounts, reactivation only within 30 days;
//! - `GET /2.0/events`: exactly one of `since`/`streamPosition`, `maxCount`,
//!   `{nextStreamPosition, moreAvailable, data}`, events by system users
//!   included (the connector must drop them), 403 without the Event
//!   Reporting add-on;
//! - 300 requests per minute per token, then 429 with errorCode 4003.
//!
//! Ids are above 2^53, as in the vendor's examples, so a client that reads
//! them through a float gets them wrong. One fake instance is one region.

use crate::server::{Recorded, Reply, TestServer};
use crate::smartrecruiters_fake::{DAY_MS, iso, parse_iso};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The first seeded user id: the vendor's example id, beyond f64's 2^53.
pub const FIRST_ID: u64 = 48_569_348_493_401_200;
/// The automation system user, whose events are not human activity.
pub const AUTOMATION_USER: u64 = 3_940_654_876_256_132;

#[derive(Clone, Debug, PartialEq)]
pub struct SsUser {
    pub id: u64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub admin: bool,
    pub licensed_sheet_creator: bool,
    pub seat_type: Option<String>,
    pub status: String,
    pub last_login: Option<i64>,
    pub deactivated_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SsEvent {
    pub object_type: String,
    pub action: String,
    pub user_id: u64,
    pub at: i64,
}

#[derive(Clone, Debug)]
pub struct SsTenant {
    pub token: String,
    /// The id of the user the token belongs to (`GET /users/me`).
    pub token_owner: u64,
    pub users: Vec<SsUser>,
    pub events: Vec<SsEvent>,
    pub event_reporting: bool,
    pub requests_per_minute: Option<u32>,
    pub now_ms: i64,
}

/// `count` users: seat types (user subscription model) on even ids, the
/// legacy licensed flag on odd ones, some never logged in, some stale, some
/// on ISP domains; sheet loads in the event stream plus automation events.
pub fn seed_tenant(token: &str, count: usize, now_ms: i64, with_events: bool) -> SsTenant {
    const SEATS: [&str; 4] = ["MEMBER", "MEMBER", "PROVISIONAL_MEMBER", "VIEWER"];
    let mut users = Vec::with_capacity(count);
    let mut events = Vec::new();
    for i in 0..count {
        let id = FIRST_ID + i as u64;
        let last_login = match i % 6 {
            0 => None,
            1 => Some(now_ms - (90 + (i % 60) as i64) * DAY_MS),
            _ => Some(now_ms - (i % 20) as i64 * DAY_MS - 3_600_000),
        };
        if with_events && let Some(at) = last_login.filter(|at| now_ms - at < 30 * DAY_MS) {
            events.push(SsEvent {
                object_type: "SHEET".into(),
                action: "LOAD".into(),
                user_id: id,
                at: at + 60_000,
            });
        }
        let domain = if i % 25 == 24 {
            "gmail.com"
        } else {
            "example.com"
        };
        users.push(SsUser {
            id,
            email: format!("person{i}@{domain}"),
            first_name: format!("Person{i}"),
            last_name: "Smith".into(),
            admin: i % 50 == 0,
            licensed_sheet_creator: i % 3 != 2,
            seat_type: (i % 2 == 0).then(|| SEATS[(i / 2) % SEATS.len()].to_string()),
            status: if i % 40 == 39 {
                "DEACTIVATED".into()
            } else {
                "ACTIVE".into()
            },
            last_login,
            deactivated_at: (i % 40 == 39).then_some(now_ms - 10 * DAY_MS),
        });
        if with_events && i % 10 == 0 {
            events.push(SsEvent {
                object_type: "SHEET".into(),
                action: "UPDATE".into(),
                user_id: AUTOMATION_USER,
                at: now_ms - DAY_MS,
            });
        }
    }
    events.sort_by_key(|e| e.at);
    SsTenant {
        token: token.into(),
        // A System Admin's token, as user management needs.
        token_owner: users.iter().find(|u| u.admin).map_or(0, |u| u.id),
        users,
        events,
        event_reporting: true,
        requests_per_minute: Some(300),
        now_ms,
    }
}

struct State {
    tenant: SsTenant,
    window: VecDeque<Instant>,
    rate_limited: u32,
    next_ref: u64,
}

/// A running fake; stops when dropped.
pub struct SmartsheetFake {
    pub server: TestServer,
    state: Arc<Mutex<State>>,
}

impl SmartsheetFake {
    pub async fn start(tenant: SsTenant) -> SmartsheetFake {
        let state = Arc::new(Mutex::new(State {
            tenant,
            window: VecDeque::new(),
            rate_limited: 0,
            next_ref: 1,
        }));
        let shared = state.clone();
        let server =
            TestServer::start(move |request| handle(request, &mut shared.lock().unwrap())).await;
        SmartsheetFake { server, state }
    }

    /// The base URL a connection uses: `http://127.0.0.1:PORT/2.0`.
    pub fn base_url(&self) -> String {
        format!("{}/2.0", self.server.url())
    }

    pub fn users(&self) -> Vec<SsUser> {
        self.state.lock().unwrap().tenant.users.clone()
    }

    pub fn rate_limited(&self) -> u32 {
        self.state.lock().unwrap().rate_limited
    }

    pub fn edit(&self, f: impl FnOnce(&mut SsTenant)) {
        f(&mut self.state.lock().unwrap().tenant);
    }
}

fn error(state: &mut State, status: u16, code: u32, message: &str) -> Reply {
    state.next_ref += 1;
    Reply::json(
        status,
        &json!({"errorCode": code, "message": message, "refId": format!("ref{:08x}", state.next_ref)}),
    )
}

fn handle(request: &Recorded, state: &mut State) -> Reply {
    match request.header("authorization") {
        None => return error(state, 401, 1001, "An Access Token is required."),
        Some(value) if value != format!("Bearer {}", state.tenant.token) => {
            return error(state, 401, 1002, "Your Access Token is invalid.");
        }
        Some(_) => {}
    }
    if let Some(limit) = state.tenant.requests_per_minute {
        let now = Instant::now();
        while state
            .window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            state.window.pop_front();
        }
        if state.window.len() as u32 >= limit {
            state.rate_limited += 1;
            return error(state, 429, 4003, "Rate limit exceeded.");
        }
        state.window.push_back(now);
    }
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    let params: HashMap<String, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%3A", ":").replace("%2B", "+")))
        .collect();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["2.0", "users"]) => list_users(state, &params),
        ("GET", ["2.0", "users", "me"]) => {
            let owner = state.tenant.token_owner.to_string();
            match find(state, &owner) {
                Some(i) => Reply::json(200, &user_json(&state.tenant.users[i], true)),
                None => error(state, 404, 1020, "User not found."),
            }
        }
        ("GET", ["2.0", "users", id]) => match find(state, id) {
            Some(i) => Reply::json(200, &user_json(&state.tenant.users[i], true)),
            None => error(state, 404, 1020, "User not found."),
        },
        ("POST", ["2.0", "users", id, action @ ("deactivate" | "reactivate")]) => {
            change(state, id, action)
        }
        ("GET", ["2.0", "events"]) => events(state, &params),
        _ => error(state, 404, 1006, "Not Found."),
    }
}

fn find(state: &State, id: &str) -> Option<usize> {
    let id: u64 = id.parse().ok()?;
    state.tenant.users.iter().position(|u| u.id == id)
}

fn user_json(user: &SsUser, last_login: bool) -> Value {
    let mut value = json!({
        "id": user.id,
        "email": user.email,
        "name": format!("{} {}", user.first_name, user.last_name),
        "firstName": user.first_name,
        "lastName": user.last_name,
        "admin": user.admin,
        "groupAdmin": user.admin,
        "licensedSheetCreator": user.licensed_sheet_creator,
        "resourceViewer": user.admin,
        "status": user.status,
        "isInternal": !user.email.ends_with("@gmail.com"),
    });
    if user.status == "ACTIVE" {
        value["sheetCount"] = json!(-1);
    }
    if let Some(seat) = &user.seat_type {
        value["seatType"] = json!(seat);
    }
    if last_login && let Some(at) = user.last_login {
        value["lastLogin"] = json!(iso(at));
    }
    value
}

fn list_users(state: &mut State, params: &HashMap<String, String>) -> Reply {
    let number = |name: &str, default: usize| {
        params
            .get(name)
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let size = number("pageSize", 100).max(1);
    let page = number("page", 1).max(1);
    let include_last_login = params
        .get("include")
        .is_some_and(|v| v.split(',').any(|i| i == "lastLogin"))
        && size <= 100;
    let total = state.tenant.users.len();
    let total_pages = total.div_ceil(size).max(1);
    let data: Vec<Value> = state
        .tenant
        .users
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|u| user_json(u, include_last_login))
        .collect();
    Reply::json(
        200,
        &json!({"pageNumber": page, "pageSize": size, "totalPages": total_pages, "totalCount": total, "data": data}),
    )
}

fn change(state: &mut State, id: &str, action: &str) -> Reply {
    let Some(i) = find(state, id) else {
        return error(state, 404, 1020, "User not found.");
    };
    let now = state.tenant.now_ms;
    let user = &state.tenant.users[i];
    // The codes for "already deactivated" and "past the 30 days" are not
    // documented; the fake answers 400 with errorCode 1018, as for an
    // invalid value. [UNCONFIRMED]
    let reply = match action {
        "deactivate"
            if ["gmail.com", "outlook.com", "yahoo.com", "hotmail.com"]
                .iter()
                .any(|d| user.email.ends_with(d)) =>
        {
            Err((
                403,
                1359,
                "User account with a common ISP domain email cannot be deactivated. You can only remove them from the Org.",
            ))
        }
        "deactivate" if user.status == "DEACTIVATED" => {
            Err((400, 1018, "The user is already deactivated."))
        }
        "reactivate" if user.status != "DEACTIVATED" => {
            Err((400, 1018, "The user is not deactivated."))
        }
        "reactivate" if user.deactivated_at.is_some_and(|at| now - at > 30 * DAY_MS) => Err((
            400,
            1018,
            "The user can only be reactivated within 30 days of deactivation.",
        )),
        _ => Ok(()),
    };
    match reply {
        Err((status, code, message)) => error(state, status, code, message),
        Ok(()) => {
            let user = &mut state.tenant.users[i];
            if action == "deactivate" {
                user.status = "DEACTIVATED".into();
                user.deactivated_at = Some(now);
            } else {
                user.status = "ACTIVE".into();
                user.deactivated_at = None;
            }
            Reply::json(200, &json!({"message": "SUCCESS", "resultCode": 0}))
        }
    }
}

fn position_token(offset: usize) -> String {
    format!("XyzAb{offset:010}q")
}

fn position_offset(token: &str) -> Option<usize> {
    token.strip_prefix("XyzAb")?.strip_suffix('q')?.parse().ok()
}

fn events(state: &mut State, params: &HashMap<String, String>) -> Reply {
    if !state.tenant.event_reporting {
        return error(
            state,
            403,
            1004,
            "You are not authorized to perform this action.",
        );
    }
    let max = params
        .get("maxCount")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1000);
    if !(1..=10_000).contains(&max) {
        return error(
            state,
            400,
            1018,
            "The value maxCount was not valid for the parameter maxCount.",
        );
    }
    let start = match (params.get("since"), params.get("streamPosition")) {
        (Some(since), None) => {
            let Some(since) = since.parse::<i64>().ok().or_else(|| parse_iso(since)) else {
                return error(
                    state,
                    400,
                    1018,
                    "The value since was not valid for the parameter since.",
                );
            };
            state
                .tenant
                .events
                .iter()
                .position(|e| e.at >= since)
                .unwrap_or(state.tenant.events.len())
        }
        (None, Some(position)) => match position_offset(position) {
            Some(offset) => offset,
            None => {
                return error(
                    state,
                    400,
                    1018,
                    "The value streamPosition was not valid for the parameter streamPosition.",
                );
            }
        },
        _ => {
            return error(
                state,
                400,
                1012,
                "A required object attribute is missing from your request: since or streamPosition.",
            );
        }
    };
    let events = &state.tenant.events;
    let end = (start + max).min(events.len());
    let data: Vec<Value> = events[start.min(end)..end]
        .iter()
        .enumerate()
        .map(|(i, e)| {
            json!({
                "eventId": format!("{:032x}", start + i),
                "objectType": e.object_type,
                "action": e.action,
                "objectId": format!("{}", 345_678_901_234u64 + (start + i) as u64),
                "eventTimestamp": iso(e.at),
                "userId": e.user_id,
                "requestUserId": e.user_id,
                "source": if e.user_id == AUTOMATION_USER { "UNKNOWN" } else { "WEB_APP" },
                "additionalDetails": {"emailAddress": "someone@example.com"},
            })
        })
        .collect();
    Reply::json(
        200,
        &json!({"nextStreamPosition": position_token(end), "moreAvailable": end < events.len(), "data": data}),
    )
}

/// The users as one stored download would hold them, all 400 days old, the
/// ones at the indexes in `never` without any login, the others active five
/// days ago (for tests of what happens after a sync).
pub fn aged_accounts(
    users: &[SsUser],
    never: std::ops::RangeInclusive<usize>,
    now: i64,
) -> Vec<seatwarden_domain::account::Account> {
    users
        .iter()
        .enumerate()
        .map(|(i, u)| seatwarden_domain::account::Account {
            id: u.id.to_string(),
            principal: u.email.clone(),
            display_name: None,
            active: u.status == "ACTIVE",
            subscriptions: vec![],
            created_at: Some(now - 400 * DAY_MS),
            last_active_at: (!never.contains(&i)).then_some(now - 5 * DAY_MS),
            attributes: vec![],
        })
        .collect()
}
