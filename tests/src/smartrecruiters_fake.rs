//! A SmartRecruiters fake that behaves like the vendor (vendor-apis.md §1).
//!
//! - `X-SmartToken` must match, or 401 with the vendor's error body shape;
//! - `GET /user-api/v201804/users`: cursor paging, `limit` capped at 100,
//!   opaque `nextPageId` (omitted on the last page), `pageId` to continue;
//! - `GET /user-api/v201804/users/{id}`, `PUT`/`DELETE .../activation` (204,
//!   idempotent), 404 for unknown ids;
//! - `GET /audit-api/v201910/audit-events`: `eventDateAfter`/`eventDateBefore`
//!   filters, the 7-day default window, `limit` ≤ 100, `nextPageId` cursor;
//!   403 when the tenant has no Audit API licence;
//! - 10 requests per second per credential and endpoint, 429 beyond it, and
//!   `X-RateLimit-*` headers on every response;
//! - injectable faults (5xx, garbage bodies) for error-path tests.

use crate::server::{Recorded, Reply, TestServer};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const DAY_MS: i64 = 86_400_000;

/// One SmartRecruiters user.
#[derive(Clone, Debug, PartialEq)]
pub struct SrUser {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: String,
    pub active: bool,
    pub updated_on: i64,
    pub sso_identifier: Option<String>,
    pub access_groups: Vec<String>,
}

/// One audit event.
#[derive(Clone, Debug, PartialEq)]
pub struct SrEvent {
    pub id: String,
    pub name: String,
    pub at: i64,
    pub author_type: String,
    pub author_id: String,
}

/// A fault to answer the next request with.
#[derive(Clone, Debug)]
pub enum Fault {
    Status(u16),
    Garbage,
    /// A 200 answer with exactly this body.
    Body(Vec<u8>),
    /// Answer normally (to let some requests through before a fault).
    Pass,
    /// Never answer.
    Hang,
    /// Answer as the rate limit does (429, its headers, counted in
    /// `rate_limited`), whatever the time: for tests that must not depend
    /// on how fast the machine sends.
    RateLimited,
}

/// The fake's tenant and behaviour.
#[derive(Clone, Debug)]
pub struct SrTenant {
    pub token: String,
    /// The user the key acts as (`GET /users/me`); `None`: a key with no
    /// user behind it, for which the fake treats `me` as an unknown id (404).
    /// What SmartRecruiters answers for a company API key is not documented.
    pub key_owner: Option<String>,
    pub users: Vec<SrUser>,
    pub events: Vec<SrEvent>,
    pub audit_licensed: bool,
    /// Requests per second per credential and endpoint; `None` = unlimited.
    pub rate_limit: Option<u32>,
    /// "Now" for the audit API's default 7-day window.
    pub now_ms: i64,
}

/// Activity profile of a seeded user, by `index % 10`.
pub fn seeded_activity(index: usize) -> &'static str {
    match index % 10 {
        0 | 1 => "never",
        2..=5 => "recent",
        6 | 7 => "stale",
        8 => "lapsing",
        _ => "daily",
    }
}

/// A deterministic tenant of `count` users with a realistic history: some
/// never signed in, some active daily, some stale for months, plus events by
/// the system and failed sign-ins that must not count as activity.
pub fn seed_tenant(token: &str, count: usize, now_ms: i64) -> SrTenant {
    seed(token, count, now_ms, true)
}

/// Like [`seed_tenant`] without any audit events (for throughput benchmarks).
pub fn seed_users_only(token: &str, count: usize, now_ms: i64) -> SrTenant {
    seed(token, count, now_ms, false)
}

fn seed(token: &str, count: usize, now_ms: i64, with_events: bool) -> SrTenant {
    const ROLES: [&str; 5] = [
        "STANDARD",
        "STANDARD",
        "EXTENDED",
        "RESTRICTED",
        "ADMINISTRATOR",
    ];
    let mut users = Vec::with_capacity(count);
    let mut events = Vec::new();
    let mut event = |name: &str, at: i64, author_type: &str, author: &str| {
        if !with_events {
            return;
        }
        events.push(SrEvent {
            id: format!("ev{:08x}", events.len()),
            name: name.to_string(),
            at,
            author_type: author_type.to_string(),
            author_id: author.to_string(),
        });
    };
    for i in 0..count {
        let id = format!("{:024x}", 0x5fc4_c5aa_357d_700e_fe22_0000u128 + i as u128);
        let minute = (i % 1440) as i64 * 60_000;
        match seeded_activity(i) {
            "never" => {}
            "recent" => {
                for days in [1, 3, 8, 15] {
                    event(
                        "USER_AUTHENTICATION_SUCCESS",
                        now_ms - days * DAY_MS - minute,
                        "USER",
                        &id,
                    );
                }
                event(
                    "CANDIDATE_PROFILE_OPENED",
                    now_ms - DAY_MS - minute + 60_000,
                    "USER",
                    &id,
                );
            }
            "stale" => {
                event(
                    "USER_AUTHENTICATION_SUCCESS",
                    now_ms - (70 + (i % 130) as i64) * DAY_MS - minute,
                    "USER",
                    &id,
                );
                event(
                    "USER_AUTHENTICATION_INVALID_CREDENTIALS",
                    now_ms - 2 * DAY_MS - minute,
                    "USER",
                    &id,
                );
            }
            "lapsing" => event(
                "USER_AUTHENTICATION_SUCCESS",
                now_ms - (35 + (i % 24) as i64) * DAY_MS - minute,
                "USER",
                &id,
            ),
            _ => {
                for days in 0..7 {
                    event(
                        "USER_AUTHENTICATION_SUCCESS",
                        now_ms - days * DAY_MS - minute - 3_600_000,
                        "USER",
                        &id,
                    );
                }
                event("SEARCH", now_ms - minute - 1_800_000, "USER", &id);
            }
        }
        if i % 50 == 0 {
            event(
                "USER_ACCOUNT_UPDATED",
                now_ms - 5 * DAY_MS - minute,
                "SYSTEM",
                &id,
            );
        }
        users.push(SrUser {
            email: format!("user{i}@example.com"),
            first_name: format!("First{i}"),
            last_name: format!("Last{i}"),
            role: ROLES[i % ROLES.len()].to_string(),
            active: i % 23 != 22,
            updated_on: now_ms - (i % 400) as i64 * DAY_MS,
            sso_identifier: (i % 3 == 0).then(|| format!("user{i}@example.com")),
            access_groups: if i % 4 == 0 {
                vec!["60497fe33e2b74a609b7e410".into()]
            } else {
                vec![]
            },
            id,
        });
    }
    events.sort_by_key(|e| e.at);
    SrTenant {
        token: token.to_string(),
        key_owner: None,
        users,
        events,
        audit_licensed: true,
        rate_limit: Some(10),
        now_ms,
    }
}

struct State {
    tenant: SrTenant,
    faults: VecDeque<Fault>,
    windows: HashMap<String, VecDeque<Instant>>,
    rate_limited: u32,
}

/// A running fake; stops when dropped.
pub struct SmartRecruitersFake {
    pub server: TestServer,
    state: Arc<Mutex<State>>,
}

impl SmartRecruitersFake {
    pub async fn start(tenant: SrTenant) -> SmartRecruitersFake {
        let state = Arc::new(Mutex::new(State {
            tenant,
            faults: VecDeque::new(),
            windows: HashMap::new(),
            rate_limited: 0,
        }));
        let shared = state.clone();
        let server =
            TestServer::start(move |request| handle(request, &mut shared.lock().unwrap())).await;
        SmartRecruitersFake { server, state }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Answers the next requests with these faults, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    /// The users as the fake holds them now.
    pub fn users(&self) -> Vec<SrUser> {
        self.state.lock().unwrap().tenant.users.clone()
    }

    /// How many requests were answered 429.
    pub fn rate_limited(&self) -> u32 {
        self.state.lock().unwrap().rate_limited
    }

    /// Changes the tenant in place (e.g. removes a user between syncs).
    pub fn edit(&self, f: impl FnOnce(&mut SrTenant)) {
        f(&mut self.state.lock().unwrap().tenant);
    }
}

fn error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({"message": message, "errors": [{"code": code, "message": message}]}),
    )
}

fn with_headers(reply: Reply, limit: Option<u32>, remaining: u32) -> Reply {
    match reply {
        Reply::Respond {
            status,
            mut headers,
            body,
        } => {
            let limit = limit.map_or("unlimited".to_string(), |l| l.to_string());
            headers.push(("X-RateLimit-Limit".into(), limit));
            headers.push(("X-RateLimit-Remaining".into(), remaining.to_string()));
            headers.push(("X-RateLimit-Concurrent-Limit".into(), "8".into()));
            headers.push(("X-RateLimit-Concurrent-Remaining".into(), "7".into()));
            Reply::Respond {
                status,
                headers,
                body,
            }
        }
        hang => hang,
    }
}

fn handle(request: &Recorded, state: &mut State) -> Reply {
    if request.header("x-smarttoken") != Some(state.tenant.token.as_str()) {
        return error(401, "UNAUTHORIZED", "Missing or invalid X-SmartToken");
    }
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    let params = parse_query(query);
    // Rate limit per credential and endpoint (path with ids collapsed).
    let endpoint = format!("{} {}", request.method, endpoint_of(path));
    let limit = state.tenant.rate_limit;
    let mut remaining = u32::MAX;
    if let Some(limit) = limit {
        let window = state
            .windows
            .entry(format!("{}|{endpoint}", state.tenant.token))
            .or_default();
        let now = Instant::now();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            window.pop_front();
        }
        if window.len() as u32 >= limit {
            state.rate_limited += 1;
            return with_headers(
                error(429, "RATE_LIMIT_EXCEEDED", "Too many requests"),
                Some(limit),
                0,
            );
        }
        window.push_back(now);
        remaining = limit - window.len() as u32;
    }
    let remaining = if limit.is_some() { remaining } else { 0 };
    let reply = match state.faults.pop_front() {
        Some(Fault::Status(status)) => error(status, "FAULT", "Injected failure"),
        Some(Fault::Garbage) => Reply::Respond {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: b"<html><body>Gateway hiccup</body></html>".to_vec(),
        },
        Some(Fault::Body(body)) => Reply::Respond {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        },
        Some(Fault::Hang) => Reply::Hang,
        Some(Fault::RateLimited) => {
            state.rate_limited += 1;
            error(429, "RATE_LIMIT_EXCEEDED", "Too many requests")
        }
        Some(Fault::Pass) | None => route(request, path, &params, &mut state.tenant),
    };
    with_headers(reply, limit, remaining)
}

fn endpoint_of(path: &str) -> String {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        [a, b, "users", _, rest @ ..] => format!("/{a}/{b}/users/{{id}}/{}", rest.join("/")),
        _ => path.to_string(),
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay),
/// for links the fakes write.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A query string's parameters, percent-decoded (also for the other fakes).
pub(crate) fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect()
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Opaque page tokens, like the vendor's: 24 hex characters.
fn token_for(offset: usize) -> String {
    format!(
        "{:024x}",
        (offset as u128) ^ 0x00c0_ffee_0000_0000_0000_0000
    )
}

fn offset_of(token: &str) -> Option<usize> {
    if token.len() != 24 {
        return None;
    }
    u128::from_str_radix(token, 16)
        .ok()
        .map(|v| (v ^ 0x00c0_ffee_0000_0000_0000_0000) as usize)
}

fn user_json(user: &SrUser) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "systemRole": {"id": user.role},
        "externalData": null,
        "ssoIdentifier": user.sso_identifier,
        "ssoLoginMode": if user.sso_identifier.is_some() { "SSO" } else { "PASSWORD" },
        "language": {"code": "en"},
        "active": user.active,
        "updatedOn": iso(user.updated_on),
        "accessGroups": user.access_groups.iter().map(|g| json!({"id": g})).collect::<Vec<_>>(),
    })
}

/// ISO-8601 with milliseconds, UTC, as the vendor writes it.
pub fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .expect("seeded timestamps are in range")
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Parses an RFC 3339 timestamp (what the fake emits and clients send).
pub fn parse_iso(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}

fn route(
    request: &Recorded,
    path: &str,
    params: &HashMap<String, String>,
    tenant: &mut SrTenant,
) -> Reply {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = request.method.as_str();
    let limit = |default: usize| -> Result<usize, Reply> {
        match params.get("limit") {
            None => Ok(default),
            Some(l) => l
                .parse::<usize>()
                .map(|l| l.clamp(1, 100))
                .map_err(|_| error(400, "INVALID_PARAMETER", "limit must be a number")),
        }
    };
    match (method, segments.as_slice()) {
        ("GET", ["user-api", "v201804", "users"]) => {
            let limit = match limit(100) {
                Ok(l) => l,
                Err(reply) => return reply,
            };
            let start = match params.get("pageId") {
                None => 0,
                Some(token) => match offset_of(token) {
                    Some(offset) => offset,
                    None => return error(400, "INVALID_PAGE_ID", "pageId is not valid"),
                },
            };
            let page: Vec<Value> = tenant
                .users
                .iter()
                .skip(start)
                .take(limit)
                .map(user_json)
                .collect();
            let mut body = json!({"limit": limit, "content": page});
            if start + limit < tenant.users.len() {
                body["nextPageId"] = json!(token_for(start + limit));
            }
            Reply::json(200, &body)
        }
        ("GET", ["user-api", "v201804", "users", id]) => {
            let id = match (*id, &tenant.key_owner) {
                ("me", Some(owner)) => owner.as_str(),
                _ => id,
            };
            match tenant.users.iter().find(|u| u.id == id) {
                Some(user) => Reply::json(200, &user_json(user)),
                None => error(404, "USER_NOT_FOUND", "User not found"),
            }
        }
        (m @ ("PUT" | "DELETE"), ["user-api", "v201804", "users", id, "activation"]) => {
            match tenant.users.iter_mut().find(|u| u.id == *id) {
                Some(user) => {
                    user.active = m == "PUT";
                    Reply::text(204, "")
                }
                None => error(404, "USER_NOT_FOUND", "User not found"),
            }
        }
        ("GET", ["audit-api", "v201910", "audit-events"]) => {
            if !tenant.audit_licensed {
                return error(
                    403,
                    "FORBIDDEN",
                    "Access to the Audit API is not enabled for this company",
                );
            }
            let limit = match limit(100) {
                Ok(l) => l,
                Err(reply) => return reply,
            };
            let after = params.get("eventDateAfter").map(|d| parse_iso(d));
            let before = params.get("eventDateBefore").map(|d| parse_iso(d));
            if matches!(after, Some(None)) || matches!(before, Some(None)) {
                return error(
                    400,
                    "INVALID_PARAMETER",
                    "dates must be yyyy-MM-ddTHH:mm:ss.SSSZZ",
                );
            }
            let (after, before) = (after.flatten(), before.flatten());
            let after = if after.is_none() && before.is_none() {
                Some(tenant.now_ms - 7 * DAY_MS)
            } else {
                after
            };
            let start = match params.get("nextPageId") {
                None => 0,
                Some(token) => match offset_of(token) {
                    Some(offset) => offset,
                    None => return error(400, "INVALID_PAGE_ID", "nextPageId is not valid"),
                },
            };
            let matching: Vec<&SrEvent> = tenant
                .events
                .iter()
                .filter(|e| after.is_none_or(|a| e.at > a) && before.is_none_or(|b| e.at < b))
                .collect();
            let page: Vec<Value> = matching
                .iter()
                .skip(start)
                .take(limit)
                .map(|e| {
                    json!({"id": e.id, "eventName": e.name, "eventDate": iso(e.at),
                           "author": {"type": e.author_type, "id": e.author_id},
                           "entity": {"type": "USER", "id": e.author_id},
                           "context": {"authenticationType": "PASSWORD"}})
                })
                .collect();
            let mut body = json!({"limit": limit, "content": page});
            if start + limit < matching.len() {
                body["nextPageId"] = json!(token_for(start + limit));
            }
            Reply::json(200, &body)
        }
        _ => error(404, "NOT_FOUND", "No such endpoint"),
    }
}

/// The fake's users as one stored download (the vendor reports neither
/// creation dates nor logins): everyone is 400 days old and active 5 days
/// ago, except the first `idle`, who never logged in.
pub fn aged_accounts(
    users: &[SrUser],
    idle: usize,
    now: i64,
) -> Vec<seatwarden_domain::account::Account> {
    users
        .iter()
        .enumerate()
        .map(|(i, u)| seatwarden_domain::account::Account {
            id: u.id.clone(),
            principal: u.email.clone(),
            display_name: None,
            active: true,
            subscriptions: vec![u.role.clone()],
            created_at: Some(now - 400 * DAY_MS),
            last_active_at: (i >= idle).then_some(now - 5 * DAY_MS),
            attributes: vec![],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trips() {
        for ms in [0, 1_714_637_730_123, 951_782_400_000] {
            assert_eq!(parse_iso(&iso(ms)), Some(ms));
        }
        assert_eq!(iso(1_714_637_730_123), "2024-05-02T08:15:30.123Z");
    }

    #[test]
    fn page_tokens_are_opaque_and_reversible() {
        let token = token_for(100);
        assert_eq!(token.len(), 24);
        assert_eq!(offset_of(&token), Some(100));
        assert_eq!(offset_of("nonsense"), None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent_decode("2024-05-02T08%3A15%3A30.123Z"),
            "2024-05-02T08:15:30.123Z"
        );
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
