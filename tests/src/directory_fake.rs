//! A fake "Example Directory" vendor for the directory fixture connector.
//!
//! It behaves like a small real API: every request must carry the
//! `X-Directory-Key` the connection was given (401 otherwise), users are
//! paged with `page`/`pageSize` (capped at 100), login events are read with
//! `since` and paged the same way, and deactivation and reactivation change
//! state and are idempotent. The demo, the conformance tests and the
//! benchmark of connectors in other languages run it too.

use crate::server::{Recorded, Reply, TestServer};
use serde_json::json;
use std::sync::{Arc, Mutex};

/// One user of the fake directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub active: bool,
    pub role: String,
    /// Milliseconds since the epoch; `None` = never logged in.
    pub last_login: Option<i64>,
}

/// A running fake; stops when dropped.
pub struct DirectoryFake {
    pub server: TestServer,
    users: Arc<Mutex<Vec<FakeUser>>>,
}

/// `count` users with roles, some never logged in, some stale, at `now_ms`.
pub fn seed_users(count: usize, now_ms: i64) -> Vec<FakeUser> {
    const DAY: i64 = 86_400_000;
    (0..count)
        .map(|i| FakeUser {
            id: format!("u-{i:05}"),
            email: format!("user{i}@example.com"),
            name: format!("User {i}"),
            active: i % 17 != 0,
            role: ["member", "member", "member", "viewer", "admin"][i % 5].to_string(),
            last_login: match i % 7 {
                0 => None,
                1 | 2 => Some(now_ms - (60 + (i % 90) as i64) * DAY),
                _ => Some(now_ms - (i % 30) as i64 * DAY),
            },
        })
        .collect()
}

impl DirectoryFake {
    /// Starts the fake with these users, accepting only `key`.
    pub async fn start(key: &str, users: Vec<FakeUser>) -> DirectoryFake {
        let users = Arc::new(Mutex::new(users));
        let state = users.clone();
        let key = key.to_string();
        let mut events: Vec<(i64, String, &'static str)> = Vec::new();
        for user in users.lock().unwrap().iter() {
            if let Some(at) = user.last_login {
                events.push((at - 86_400_000, user.id.clone(), "VIEW"));
                events.push((at, user.id.clone(), "LOGIN"));
            }
        }
        events.sort();
        let events = Arc::new(events);
        let server = TestServer::start(move |request| handle(request, &key, &state, &events)).await;
        DirectoryFake { server, users }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The fake's current users.
    pub fn users(&self) -> Vec<FakeUser> {
        self.users.lock().unwrap().clone()
    }
}

/// The `page` (from 1) and `pageSize` (1 to 100, default 100) window of
/// `items`, and the next page's number when there is one.
fn window<T>(items: &[T], page: Option<String>, size: Option<String>) -> (&[T], Option<usize>) {
    let page: usize = page.and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let size: usize = size
        .and_then(|p| p.parse().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let start = (page - 1).saturating_mul(size).min(items.len());
    let end = start.saturating_add(size).min(items.len());
    (&items[start..end], (end < items.len()).then_some(page + 1))
}

/// Login events: (at, user id, type), oldest first.
type Events = [(i64, String, &'static str)];

fn handle(request: &Recorded, key: &str, users: &Mutex<Vec<FakeUser>>, events: &Events) -> Reply {
    if request.header("x-directory-key") != Some(key) {
        return Reply::json(401, &json!({"error": "missing or wrong X-Directory-Key"}));
    }
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    let param = |name: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["users"]) => {
            let users = users.lock().unwrap();
            let (slice, next) = window(&users, param("page"), param("pageSize"));
            let slice: Vec<_> = slice
                .iter()
                .map(|u| {
                    json!({"id": u.id, "email": u.email, "name": u.name, "active": u.active,
                           "role": u.role, "lastLogin": u.last_login})
                })
                .collect();
            Reply::json(200, &json!({"users": slice, "nextPage": next}))
        }
        ("GET", ["events"]) => {
            let Some(since) = param("since").and_then(|s| s.parse::<i64>().ok()) else {
                return Reply::json(400, &json!({"error": "since (ms) is required"}));
            };
            let matching: Vec<_> = events.iter().filter(|(at, _, _)| *at >= since).collect();
            let (slice, next) = window(&matching, param("page"), param("pageSize"));
            let slice: Vec<_> = slice
                .iter()
                .map(|(at, id, kind)| json!({"userId": id, "at": at, "type": kind}))
                .collect();
            Reply::json(200, &json!({"events": slice, "nextPage": next}))
        }
        ("POST", ["users", id, action @ ("deactivate" | "reactivate")]) => {
            let mut users = users.lock().unwrap();
            match users.iter_mut().find(|u| u.id == *id) {
                Some(user) => {
                    user.active = *action == "reactivate";
                    Reply::text(204, "")
                }
                None => Reply::json(404, &json!({"error": format!("no user {id}")})),
            }
        }
        _ => Reply::json(404, &json!({"error": "no such endpoint"})),
    }
}
