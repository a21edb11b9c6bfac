//! A Microsoft Graph v1.0 fake for Entra ID (idp-apis.md §2, the Graph
//! subset), with the identity platform's token endpoint in front of it.
//!
//! - `POST /{tenant}/oauth2/v2.0/token`: form `grant_type=client_credentials`,
//!   `client_id`, `client_secret`, `scope=https://graph.microsoft.com/.default`
//!   (any other scope fails with AADSTS1002012); tokens last an hour;
//! - `Authorization: Bearer <token>` on Graph, else 401 `InvalidAuthenticationToken`;
//! - `GET /v1.0/servicePrincipals(appId='…')` (404 `Request_ResourceNotFound`),
//!   `GET /v1.0/servicePrincipals/{id}/appRoleAssignedTo` (User and Group
//!   rows, several roles per user possible), `GET`/`DELETE` of one row,
//!   and a person's own rows at `GET /v1.0/users/{id}/appRoleAssignments`;
//! - `GET /v1.0/users` with `$filter=id in (…)` and `$select`, `$top` 1–999;
//! - `GET /v1.0/groups/{id}/members/microsoft.graph.user`;
//! - `GET /v1.0/auditLogs/signIns` with `$filter=appId eq '…' and
//!   createdDateTime ge …`, newest first, `$top` up to 1000, nothing older
//!   than the 30 days Entra keeps;
//! - paging by `@odata.nextLink` (an opaque `$skiptoken`);
//! - permissions per operation: a missing one answers 403
//!   `Authorization_RequestDenied` naming it; sign-ins without a P1/P2
//!   licence answer 403 `Authentication_RequestFromNonPremiumTenantOrB2CTenant`;
//! - throttling of the sign-in reports: 429 `TooManyRequests` with
//!   `Retry-After` past five requests in a window the test controls.

use crate::server::{Recorded, Reply, TestServer};
use crate::smartrecruiters_fake::{DAY_MS, iso, parse_iso, parse_query};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

/// How long the fake keeps sign-ins, as Entra ID P1/P2 does.
pub const SIGN_IN_RETENTION_DAYS: i64 = 30;
pub const TENANT_ID: &str = "8b0e6a2c-6c8f-4f0e-9a55-2f7c1e0d4b11";
/// The enterprise app the tests read: its Application (client) ID and its
/// service principal's object id.
pub const APP_ID: &str = "3290e3f7-d3ac-4165-bcef-cf4874fc4270";
pub const SP_ID: &str = "5b6f0c1e-1111-4a2b-9c3d-000000000001";
/// Exchange Online: a Microsoft service principal, not an enterprise app.
pub const OTHER_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";
/// A second enterprise app, disabled, with nobody assigned.
pub const SECOND_APP_ID: &str = "a1b2c3d4-0000-4000-8000-00000000000a";
pub const GROUP_ID: &str = "9a8b7c6d-2222-4e5f-8a9b-000000000002";
pub const GROUP_NAME: &str = "Smartsheet Users";

pub fn user_id(i: usize) -> String {
    format!("c0ffee00-0000-4000-8000-{i:012}")
}

#[derive(Clone, Debug, PartialEq)]
pub struct EntraUser {
    pub id: String,
    pub upn: String,
    pub mail: Option<String>,
    pub display_name: String,
    pub enabled: bool,
    pub created: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RoleAssignment {
    pub id: String,
    pub principal_type: &'static str,
    pub principal_id: String,
    pub principal_name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EntraSignIn {
    pub user_id: String,
    pub upn: String,
    pub app_id: String,
    pub at: i64,
    pub error_code: i64,
}

#[derive(Clone, Debug)]
pub struct EntraTenant {
    pub client_id: String,
    pub client_secret: String,
    pub users: Vec<EntraUser>,
    /// Group id → member user ids.
    pub groups: HashMap<String, Vec<String>>,
    /// Rows of the app's `appRoleAssignedTo`.
    pub assignments: Vec<RoleAssignment>,
    pub sign_ins: Vec<EntraSignIn>,
    /// Application permissions admin-consented to the client.
    pub permissions: BTreeSet<&'static str>,
    pub premium: bool,
    /// Sign-in report requests allowed before 429s (`None`: no limit).
    pub sign_in_budget: Option<u32>,
    pub now_ms: i64,
    /// Every service principal `GET /servicePrincipals` lists (the app the
    /// tests read is the first).
    pub other_apps: Vec<ListedPrincipal>,
}

/// A service principal as the tenant lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedPrincipal {
    pub id: String,
    pub app_id: String,
    pub name: String,
    pub enabled: bool,
    /// `Application` or `ManagedIdentity`, ...
    pub kind: &'static str,
    /// Whether it carries the enterprise-app tag.
    pub enterprise: bool,
}

/// Every permission the connector asks for.
pub const ALL_PERMISSIONS: [&str; 5] = [
    "Application.Read.All",
    "User.Read.All",
    "AuditLog.Read.All",
    "GroupMember.Read.All",
    "AppRoleAssignment.ReadWrite.All",
];

/// `count` people: every third holds the app through the group only, every
/// seventh both directly and through it (and every fifth direct one has
/// two roles), the rest directly. Successful sign-ins for two thirds, up to
/// 25 days back; failed ones (errorCode 50126) for the others.
pub fn seed_tenant(client_id: &str, client_secret: &str, count: usize, now_ms: i64) -> EntraTenant {
    let mut users = Vec::with_capacity(count);
    let mut assignments = Vec::new();
    let mut members = Vec::new();
    let mut sign_ins = Vec::new();
    for i in 0..count {
        let id = user_id(i);
        let upn = format!("person{i}@contoso.example");
        users.push(EntraUser {
            id: id.clone(),
            upn: upn.clone(),
            mail: (i % 10 != 9).then(|| format!("Person{i}@Contoso.example")),
            display_name: format!("Person {i}"),
            enabled: i % 50 != 49,
            created: now_ms - 400 * DAY_MS,
        });
        let by_group = i % 3 == 0;
        if by_group || i % 7 == 0 {
            members.push(id.clone());
        }
        if !by_group || i % 7 == 0 {
            for role in 0..(1 + usize::from(i % 5 == 1)) {
                assignments.push(RoleAssignment {
                    id: format!("asg{i:06}r{role}_kxX-{}", i * 31 + role),
                    principal_type: "User",
                    principal_id: id.clone(),
                    principal_name: format!("Person {i}"),
                });
            }
        }
        let (error_code, at) = if i % 3 == 2 {
            (50126, now_ms - 2 * DAY_MS)
        } else {
            (0, now_ms - (i % 25) as i64 * DAY_MS - 3_600_000)
        };
        sign_ins.push(EntraSignIn {
            user_id: id,
            upn,
            app_id: APP_ID.into(),
            at,
            error_code,
        });
    }
    assignments.push(RoleAssignment {
        id: "grpasg_0001-xyz".into(),
        principal_type: "Group",
        principal_id: GROUP_ID.into(),
        principal_name: GROUP_NAME.into(),
    });
    sign_ins.sort_by_key(|s| std::cmp::Reverse(s.at));
    EntraTenant {
        client_id: client_id.into(),
        client_secret: client_secret.into(),
        users,
        groups: HashMap::from([(GROUP_ID.to_string(), members)]),
        assignments,
        sign_ins,
        permissions: ALL_PERMISSIONS.into_iter().collect(),
        premium: true,
        sign_in_budget: None,
        now_ms,
        other_apps: vec![
            ListedPrincipal {
                id: SP_ID.into(),
                app_id: APP_ID.into(),
                name: "Smartsheet".into(),
                enabled: true,
                kind: "Application",
                enterprise: true,
            },
            ListedPrincipal {
                id: "5b6f0c1e-1111-4a2b-9c3d-000000000003".into(),
                app_id: OTHER_APP_ID.into(),
                name: "Office 365 Exchange Online".into(),
                enabled: true,
                kind: "Application",
                enterprise: false,
            },
            ListedPrincipal {
                id: "5b6f0c1e-1111-4a2b-9c3d-000000000006".into(),
                app_id: SECOND_APP_ID.into(),
                name: "Salesforce".into(),
                enabled: false,
                kind: "Application",
                enterprise: true,
            },
            ListedPrincipal {
                id: "5b6f0c1e-1111-4a2b-9c3d-000000000004".into(),
                app_id: "7d8e9f00-1234-4abc-8def-000000000005".into(),
                name: "backup-job".into(),
                enabled: true,
                kind: "ManagedIdentity",
                enterprise: false,
            },
        ],
    }
}

/// `count` people, each assigned directly once, no group: the benchmark's
/// tenant, where every listed account is one person.
pub fn seed_direct_only(
    client_id: &str,
    client_secret: &str,
    count: usize,
    now_ms: i64,
) -> EntraTenant {
    let mut tenant = seed_tenant(client_id, client_secret, count, now_ms);
    tenant.groups.clear();
    tenant.assignments = tenant
        .users
        .iter()
        .enumerate()
        .map(|(i, user)| RoleAssignment {
            id: format!("asg{i:06}r0_kxX-{}", i * 31),
            principal_type: "User",
            principal_id: user.id.clone(),
            principal_name: user.display_name.clone(),
        })
        .collect();
    tenant
}

struct State {
    tenant: EntraTenant,
    /// User id → position in `tenant.users`.
    user_index: HashMap<String, usize>,
    origin: String,
    tokens: Vec<String>,
    requests: u64,
}

/// A running fake; stops when dropped.
pub struct EntraFake {
    pub server: TestServer,
    state: Arc<Mutex<State>>,
}

impl EntraFake {
    pub async fn start(tenant: EntraTenant) -> EntraFake {
        let state = Arc::new(Mutex::new(State {
            user_index: index_users(&tenant),
            tenant,
            origin: String::new(),
            tokens: Vec::new(),
            requests: 0,
        }));
        let shared = state.clone();
        let server =
            TestServer::start(move |request| handle(request, &mut shared.lock().unwrap())).await;
        state.lock().unwrap().origin = server.url();
        EntraFake { server, state }
    }

    /// Graph's base URL: `http://127.0.0.1:PORT/v1.0`.
    pub fn base_url(&self) -> String {
        format!("{}/v1.0", self.server.url())
    }

    /// The tenant's token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/{TENANT_ID}/oauth2/v2.0/token", self.server.url())
    }

    pub fn tenant(&self) -> EntraTenant {
        self.state.lock().unwrap().tenant.clone()
    }

    /// Makes `token` a valid access token, as if the token endpoint had
    /// issued it (for a native client measured against the connector).
    pub fn accept_token(&self, token: &str) {
        self.state.lock().unwrap().tokens.push(token.to_string());
    }

    pub fn edit(&self, f: impl FnOnce(&mut EntraTenant)) {
        let mut state = self.state.lock().unwrap();
        f(&mut state.tenant);
        state.user_index = index_users(&state.tenant);
    }
}

fn index_users(tenant: &EntraTenant) -> HashMap<String, usize> {
    tenant
        .users
        .iter()
        .enumerate()
        .map(|(i, u)| (u.id.clone(), i))
        .collect()
}

fn reply(status: u16, body: Value, now: i64, extra: Vec<(String, String)>) -> Reply {
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("date".to_string(), crate::okta_fake::http_date(now)),
        (
            "request-id".to_string(),
            "0b6c1b3e-aaaa-4bbb-8ccc-0123456789ab".to_string(),
        ),
    ];
    headers.extend(extra);
    Reply::Respond {
        status,
        headers,
        body: if status == 204 {
            Vec::new()
        } else {
            serde_json::to_vec(&body).expect("JSON serializes")
        },
    }
}

fn graph_error(status: u16, code: &str, message: &str, now: i64) -> Reply {
    reply(
        status,
        json!({"error": {"code": code, "message": message,
            "innerError": {"request-id": "0b6c1b3e-aaaa-4bbb-8ccc-0123456789ab", "date": iso(now)}}}),
        now,
        vec![],
    )
}

fn handle(request: &Recorded, state: &mut State) -> Reply {
    state.requests += 1;
    let now = state.tenant.now_ms;
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((&request.target, ""));
    if path == format!("/{TENANT_ID}/oauth2/v2.0/token") {
        return token(request, state);
    }
    let bearer = request
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "));
    if !bearer.is_some_and(|t| state.tokens.iter().any(|k| k == t)) {
        return graph_error(
            401,
            "InvalidAuthenticationToken",
            "Access token is empty or invalid.",
            now,
        );
    }
    let params = parse_query(query);
    let Some(rest) = path.strip_prefix("/v1.0/") else {
        return graph_error(404, "UnknownError", "Unknown path", now);
    };
    let segments: Vec<&str> = rest.split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["servicePrincipals"]) => {
            if !allowed(state, "Application.Read.All") {
                return denied(now, "Application.Read.All");
            }
            paged(
                state,
                &params,
                &state.tenant.other_apps,
                app_json,
                100,
                "servicePrincipals",
            )
        }
        ("GET", [one]) if one.starts_with("servicePrincipals(appId=") => {
            if !allowed(state, "Application.Read.All") {
                return denied(now, "Application.Read.All");
            }
            let found = state
                .tenant
                .other_apps
                .iter()
                .find(|p| *one == format!("servicePrincipals(appId='{}')", p.app_id));
            match found {
                Some(principal) => reply(200, app_json(principal), now, vec![]),
                None => graph_error(
                    404,
                    "Request_ResourceNotFound",
                    "Resource 'servicePrincipal' does not exist or one of its queried reference-property objects are not present.",
                    now,
                ),
            }
        }
        ("GET", ["servicePrincipals", sp, "appRoleAssignedTo"])
            if *sp != SP_ID && state.tenant.other_apps.iter().any(|p| p.id == *sp) =>
        {
            if !allowed(state, "Application.Read.All") {
                return denied(now, "Application.Read.All");
            }
            paged(
                state,
                &params,
                &[],
                assignment_json,
                999,
                &format!("servicePrincipals/{sp}/appRoleAssignedTo"),
            )
        }
        ("GET", ["servicePrincipals", sp, "appRoleAssignedTo"]) if *sp == SP_ID => {
            if !allowed(state, "Application.Read.All") {
                return denied(now, "Application.Read.All");
            }
            paged(
                state,
                &params,
                &state.tenant.assignments,
                assignment_json,
                999,
                &format!("servicePrincipals/{SP_ID}/appRoleAssignedTo"),
            )
        }
        (method, ["servicePrincipals", sp, "appRoleAssignedTo", id]) if *sp == SP_ID => {
            let Some(i) = state.tenant.assignments.iter().position(|a| a.id == *id) else {
                return graph_error(404, "Request_ResourceNotFound", "Resource not found.", now);
            };
            match method {
                "GET" if allowed(state, "Application.Read.All") => reply(
                    200,
                    assignment_json(&state.tenant.assignments[i]),
                    now,
                    vec![],
                ),
                "DELETE" if allowed(state, "AppRoleAssignment.ReadWrite.All") => {
                    state.tenant.assignments.remove(i);
                    reply(204, Value::Null, now, vec![])
                }
                "GET" => denied(now, "Application.Read.All"),
                _ => denied(now, "AppRoleAssignment.ReadWrite.All"),
            }
        }
        ("GET", ["users", user, "appRoleAssignments"]) => {
            if !allowed(state, "AppRoleAssignment.ReadWrite.All") {
                return denied(now, "AppRoleAssignment.ReadWrite.All");
            }
            if !state.tenant.users.iter().any(|u| u.id == *user) {
                return graph_error(404, "Request_ResourceNotFound", "Resource not found.", now);
            }
            let rows: Vec<&RoleAssignment> = state
                .tenant
                .assignments
                .iter()
                .filter(|a| a.principal_type == "User" && a.principal_id == *user)
                .collect();
            paged(
                state,
                &params,
                &rows,
                |a| assignment_json(a),
                100,
                &format!("users/{user}/appRoleAssignments"),
            )
        }
        ("GET", ["users"]) => {
            if !allowed(state, "User.Read.All") {
                return denied(now, "User.Read.All");
            }
            let wanted: Option<Vec<String>> = params.get("$filter").map(|f| {
                f.trim()
                    .strip_prefix("id in (")
                    .and_then(|r| r.strip_suffix(')'))
                    .unwrap_or("")
                    .split(',')
                    .map(|s| s.trim().trim_matches('\'').to_string())
                    .collect()
            });
            if wanted.as_ref().is_some_and(|w| w.len() > 15) {
                return graph_error(
                    400,
                    "Request_UnsupportedQuery",
                    "Too many values in the 'in' operator (at most 15).",
                    now,
                );
            }
            // By the id index: a lookup costs what Graph's does, not a
            // scan of every user (the benchmark asks thousands).
            let rows: Vec<&EntraUser> = match &wanted {
                Some(ids) => ids
                    .iter()
                    .filter_map(|id| state.user_index.get(id))
                    .map(|i| &state.tenant.users[*i])
                    .collect(),
                None => state.tenant.users.iter().collect(),
            };
            paged(state, &params, &rows, |u| user_json(u), 100, "users")
        }
        ("GET", ["groups", group, "members", "microsoft.graph.user"]) => {
            if !allowed(state, "GroupMember.Read.All") {
                return denied(now, "GroupMember.Read.All");
            }
            let Some(members) = state.tenant.groups.get(*group).cloned() else {
                return graph_error(404, "Request_ResourceNotFound", "Resource not found.", now);
            };
            let rows: Vec<&EntraUser> = members
                .iter()
                .filter_map(|id| state.user_index.get(id))
                .map(|i| &state.tenant.users[*i])
                .collect();
            paged(
                state,
                &params,
                &rows,
                |u| user_json(u),
                100,
                &format!("groups/{group}/members/microsoft.graph.user"),
            )
        }
        ("GET", ["auditLogs", "signIns"]) => sign_ins(state, &params),
        _ => graph_error(
            400,
            "BadRequest",
            "Resource not found for the segment.",
            now,
        ),
    }
}

fn allowed(state: &State, permission: &str) -> bool {
    state.tenant.permissions.contains(permission)
}

fn denied(now: i64, permission: &str) -> Reply {
    graph_error(
        403,
        "Authorization_RequestDenied",
        &format!(
            "Insufficient privileges to complete the operation. Calling principal does not have required MSGraph permissions {permission}"
        ),
        now,
    )
}

fn token(request: &Recorded, state: &mut State) -> Reply {
    let now = state.tenant.now_ms;
    let form = parse_query(&String::from_utf8_lossy(&request.body));
    let aad = |code: &str, text: &str| {
        reply(
            400,
            json!({"error": code, "error_description": text, "error_codes": [7000215]}),
            now,
            vec![],
        )
    };
    if request.method != http::Method::POST
        || form.get("grant_type").map(String::as_str) != Some("client_credentials")
    {
        return aad(
            "unsupported_grant_type",
            "AADSTS70003: grant type not supported.",
        );
    }
    if form.get("scope").map(String::as_str) != Some("https://graph.microsoft.com/.default") {
        return aad(
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.",
        );
    }
    if form.get("client_id") != Some(&state.tenant.client_id)
        || form.get("client_secret") != Some(&state.tenant.client_secret)
    {
        return reply(
            401,
            json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}),
            now,
            vec![],
        );
    }
    let token = format!("eyJ0eXAiOiJKV1Qi.fake.{}", state.tokens.len() + 1);
    state.tokens.push(token.clone());
    reply(
        200,
        json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}),
        now,
        vec![],
    )
}

fn assignment_json(a: &RoleAssignment) -> Value {
    json!({
        "id": a.id,
        "appRoleId": "00000000-0000-0000-0000-000000000000",
        "createdDateTime": "2024-05-02T10:00:00Z",
        "principalDisplayName": a.principal_name,
        "principalId": a.principal_id,
        "principalType": a.principal_type,
        "resourceDisplayName": "Smartsheet",
        "resourceId": SP_ID,
    })
}

fn app_json(p: &ListedPrincipal) -> Value {
    json!({
        "id": p.id,
        "appId": p.app_id,
        "displayName": p.name,
        "accountEnabled": p.enabled,
        "servicePrincipalType": p.kind,
        "tags": if p.enterprise {
            json!(["WindowsAzureActiveDirectoryIntegratedApp", "HideApp"])
        } else {
            json!([])
        },
    })
}

fn user_json(u: &EntraUser) -> Value {
    json!({
        "id": u.id,
        "userPrincipalName": u.upn,
        "mail": u.mail,
        "displayName": u.display_name,
        "accountEnabled": u.enabled,
        "createdDateTime": iso(u.created),
    })
}

/// One page of `rows` after `$skiptoken`, `$top` of them (1 to `max`),
/// with `@odata.nextLink` when more follow.
fn paged<T>(
    state: &State,
    params: &HashMap<String, String>,
    rows: &[T],
    to_json: impl Fn(&T) -> Value,
    default: usize,
    path: &str,
) -> Reply {
    let now = state.tenant.now_ms;
    let max = if path == "auditLogs/signIns" {
        1000
    } else {
        999
    };
    let top = match params.get("$top").map(|t| t.parse::<usize>()) {
        None => default,
        Some(Ok(t)) if (1..=max).contains(&t) => t,
        Some(_) => {
            return graph_error(
                400,
                "Request_UnsupportedQuery",
                &format!(
                    "Invalid page size specified: '{}'. Must be between 1 and {max} inclusive.",
                    params["$top"]
                ),
                now,
            );
        }
    };
    let start = params
        .get("$skiptoken")
        .and_then(|t| t.strip_prefix("X'"))
        .and_then(|t| t.strip_suffix('\''))
        .and_then(|t| usize::from_str_radix(t, 16).ok())
        .unwrap_or(0);
    let end = (start + top).min(rows.len());
    let mut body = json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#{path}"),
        "value": rows[start.min(end)..end].iter().map(to_json).collect::<Vec<_>>(),
    });
    if end < rows.len() {
        let mut query: Vec<String> = params
            .iter()
            .filter(|(k, _)| k.as_str() != "$skiptoken")
            .map(|(k, v)| format!("{k}={}", crate::smartrecruiters_fake::percent_encode(v)))
            .collect();
        query.sort();
        query.push(format!("$skiptoken=X'{end:08X}'"));
        body["@odata.nextLink"] =
            json!(format!("{}/v1.0/{path}?{}", state.origin, query.join("&")));
    }
    reply(200, body, now, vec![])
}

fn sign_ins(state: &mut State, params: &HashMap<String, String>) -> Reply {
    let now = state.tenant.now_ms;
    if !allowed(state, "AuditLog.Read.All") {
        return denied(now, "AuditLog.Read.All");
    }
    if !state.tenant.premium {
        return graph_error(
            403,
            "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
            "Neither tenant is B2C or tenant doesn't have premium license",
            now,
        );
    }
    if let Some(budget) = state.tenant.sign_in_budget.as_mut() {
        if *budget == 0 {
            return reply(
                429,
                json!({"error": {"code": "TooManyRequests", "message": "Too many requests."}}),
                now,
                vec![("retry-after".into(), "3".into())],
            );
        }
        *budget -= 1;
    }
    // `appId eq '…' and createdDateTime ge …`, in any order.
    let (mut app, mut since) = (None, None);
    for term in params
        .get("$filter")
        .map(String::as_str)
        .unwrap_or("")
        .split(" and ")
    {
        let term = term.trim();
        if let Some(v) = term.strip_prefix("appId eq ") {
            app = Some(v.trim_matches('\'').to_string());
        } else if let Some(v) = term.strip_prefix("createdDateTime ge ") {
            match parse_iso(v.trim()) {
                Some(t) => since = Some(t),
                None => {
                    return graph_error(400, "BadRequest", "Invalid filter clause", now);
                }
            }
        } else if !term.is_empty() {
            return graph_error(400, "BadRequest", "Invalid filter clause", now);
        }
    }
    let kept_from = now - SIGN_IN_RETENTION_DAYS * DAY_MS;
    let rows: Vec<(usize, &EntraSignIn)> = state
        .tenant
        .sign_ins
        .iter()
        .filter(|s| s.at >= kept_from && since.is_none_or(|t| s.at >= t))
        .filter(|s| app.as_ref().is_none_or(|a| *a == s.app_id))
        .enumerate()
        .collect();
    let to_json = |(n, s): &(usize, &EntraSignIn)| {
        json!({
            "id": format!("66ea54eb-{n:04x}-4ee5-be62-ff5a759b0100"),
            "createdDateTime": iso(s.at),
            "userDisplayName": s.upn,
            "userPrincipalName": s.upn.to_lowercase(),
            "userId": s.user_id,
            "appId": s.app_id,
            "appDisplayName": "Smartsheet",
            "isInteractive": true,
            "status": {"errorCode": s.error_code, "failureReason": if s.error_code == 0 { "Other." } else { "Invalid username or password." }},
        })
    };
    paged(state, params, &rows, to_json, 1000, "auditLogs/signIns")
}
