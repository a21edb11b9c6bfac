//! A SCIM 2.0 fake for the edge cases a real server in the tests does not
//! show: PATCH announced as unsupported (or refused with 501 despite the
//! announcement), servers that return fewer users than asked, users without
//! a primary e-mail or an `active` flag, a vendor extension carrying the
//! last login, and error bodies with `detail`. Every request is recorded.

use crate::server::{Recorded, Reply, TestServer};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// How the fake behaves.
#[derive(Clone, Debug)]
pub struct ScimBehaviour {
    /// What `/ServiceProviderConfig` announces for PATCH.
    pub patch_supported: bool,
    /// Answer 501 to PATCH even if announced.
    pub patch_501: bool,
    /// The most users the server returns per page.
    pub max_per_page: usize,
    /// Accept only requests carrying exactly this `Authorization` value.
    pub authorization: Option<String>,
    /// How the listing misbehaves, if it does.
    pub listing: Listing,
}

/// Listing faults seen in real SCIM servers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// Pages as RFC 7644 says.
    Honest,
    /// Ignores `startIndex`: every page is the first (echoing
    /// `startIndex: 1`), while `totalResults` counts everyone.
    IgnoresStartIndex,
    /// Returns no user past this many, while `totalResults` counts everyone.
    StopsAfter(usize),
}

struct State {
    behaviour: ScimBehaviour,
    users: Vec<Value>,
}

pub struct ScimFake {
    pub server: TestServer,
    state: Arc<Mutex<State>>,
}

impl ScimFake {
    pub async fn start(behaviour: ScimBehaviour, users: Vec<Value>) -> ScimFake {
        let state = Arc::new(Mutex::new(State { behaviour, users }));
        let shared = state.clone();
        let server =
            TestServer::start(move |request| handle(request, &mut shared.lock().unwrap())).await;
        ScimFake { server, state }
    }

    pub fn base_url(&self) -> String {
        format!("{}/scim/v2", self.server.url())
    }

    pub fn users(&self) -> Vec<Value> {
        self.state.lock().unwrap().users.clone()
    }
}

fn error(status: u16, detail: &str) -> Reply {
    Reply::json(
        status,
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": status.to_string(), "detail": detail}),
    )
}

fn handle(request: &Recorded, state: &mut State) -> Reply {
    if let Some(expected) = &state.behaviour.authorization
        && request.header("authorization") != Some(expected.as_str())
    {
        return error(401, "Authorization failure");
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
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["scim", "v2", "ServiceProviderConfig"]) => Reply::json(
            200,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                    "patch": {"supported": state.behaviour.patch_supported},
                    "bulk": {"supported": false}, "filter": {"supported": false}}),
        ),
        ("GET", ["scim", "v2", "Users"]) => {
            let mut start = param("startIndex").unwrap_or(1).max(1);
            let count = param("count")
                .unwrap_or(100)
                .min(state.behaviour.max_per_page);
            let listed = match state.behaviour.listing {
                Listing::Honest => state.users.len(),
                Listing::IgnoresStartIndex => {
                    start = 1;
                    state.users.len()
                }
                Listing::StopsAfter(n) => n.min(state.users.len()),
            };
            let page: Vec<Value> = state.users[..listed]
                .iter()
                .skip(start - 1)
                .take(count)
                .cloned()
                .collect();
            Reply::json(
                200,
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                        "totalResults": state.users.len(), "startIndex": start, "itemsPerPage": page.len(), "Resources": page}),
            )
        }
        (method, ["scim", "v2", "Users", id]) => {
            let Some(index) = state.users.iter().position(|u| u["id"] == *id) else {
                return error(404, &format!("User {id} not found"));
            };
            match method {
                "GET" => Reply::json(200, &state.users[index]),
                "PATCH" if !state.behaviour.patch_supported || state.behaviour.patch_501 => {
                    error(501, "PATCH is not implemented")
                }
                "PATCH" => {
                    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
                    for op in body["Operations"].as_array().cloned().unwrap_or_default() {
                        if op["path"] == "active" {
                            state.users[index]["active"] = op["value"].clone();
                        }
                    }
                    Reply::json(200, &state.users[index])
                }
                "PUT" => {
                    let mut body: Value = match serde_json::from_slice(&request.body) {
                        Ok(body) => body,
                        Err(_) => return error(400, "invalid JSON"),
                    };
                    body["meta"] = state.users[index]["meta"].clone();
                    state.users[index] = body;
                    Reply::json(200, &state.users[index])
                }
                _ => error(405, "method not allowed"),
            }
        }
        _ => error(404, "no such endpoint"),
    }
}

/// The minimal users the throughput benchmark syncs.
pub fn bench_user(i: usize) -> Value {
    json!({"id": format!("b{i}"), "userName": format!("bench{i}"), "active": !i.is_multiple_of(7),
           "emails": [{"value": format!("bench{i}@example.com"), "primary": true}],
           "entitlements": [{"value": "seat"}]})
}
