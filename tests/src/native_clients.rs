//! Native Rust clients of the vendor APIs: the benchmark's yardstick.
//!
//! Each does what its wasm connector does for `list-users` (same request,
//! same JSON decoding, same mapping to accounts, connections kept alive
//! between requests like the host's transport) without the sandbox, so the benchmark
//! can report what the sandbox costs. Tests keep their output identical to
//! the connectors'. They are not used by the product.

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use seatwarden_domain::account::Account;
use seatwarden_domain::account::AccountPage;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsersPage {
    next_page_id: Option<String>,
    #[serde(default)]
    content: Vec<User>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    #[serde(default)]
    active: bool,
    system_role: Option<IdRef>,
    sso_identifier: Option<String>,
    sso_login_mode: Option<String>,
    updated_on: Option<String>,
    external_data: Option<String>,
    #[serde(default)]
    access_groups: Vec<IdRef>,
}

#[derive(Deserialize)]
struct IdRef {
    id: String,
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

/// Idle connections by loopback port, for the next request.
static IDLE: std::sync::Mutex<Vec<(u16, Sender)>> = std::sync::Mutex::new(Vec::new());

/// An idle connection to `port`, or a new one.
async fn connection(port: u16) -> Result<Sender> {
    loop {
        let kept = {
            let mut idle = IDLE.lock().unwrap();
            let found = idle.iter().position(|(p, _)| *p == port);
            found.map(|i| idle.swap_remove(i).1)
        };
        match kept {
            Some(mut sender) => {
                if sender.ready().await.is_ok() {
                    return Ok(sender);
                }
            }
            None => break,
        }
    }
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// GETs `target` on loopback with `headers`; the body if the status is 2xx.
async fn get(port: u16, target: &str, headers: &[(&str, &str)]) -> Result<bytes::Bytes> {
    let mut sender = connection(port).await?;
    let mut request = http::Request::get(target).header("host", format!("127.0.0.1:{port}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new())?)
        .await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    IDLE.lock().unwrap().push((port, sender));
    if !status.is_success() {
        bail!("HTTP {status}");
    }
    Ok(body)
}

/// One page of SmartRecruiters' `GET /user-api/v201804/users`.
pub async fn list_users(port: u16, token: &str, cursor: Option<&str>) -> Result<AccountPage> {
    let mut target = "/user-api/v201804/users?limit=100".to_string();
    if let Some(cursor) = cursor {
        target.push_str("&pageId=");
        target.push_str(cursor);
    }
    let body = get(
        port,
        &target,
        &[("x-smarttoken", token), ("accept", "application/json")],
    )
    .await?;
    let page: UsersPage = serde_json::from_slice(&body).context("decoding a users page")?;
    let empty = page.content.is_empty();
    Ok(AccountPage {
        accounts: page.content.into_iter().map(to_account).collect(),
        next_cursor: page.next_page_id.filter(|c| !c.is_empty() && !empty),
    })
}

fn to_account(user: User) -> Account {
    let role = user.system_role.map(|r| r.id);
    let name = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut attributes = Vec::new();
    if let Some(role) = &role {
        attributes.push(("role".to_string(), role.clone()));
    }
    for (key, value) in [
        ("sso-identifier", user.sso_identifier),
        ("sso-login-mode", user.sso_login_mode),
        ("updated-on", user.updated_on),
        ("external-data", user.external_data),
    ] {
        if let Some(value) = value {
            attributes.push((key.to_string(), value));
        }
    }
    if !user.access_groups.is_empty() {
        let groups: Vec<String> = user.access_groups.into_iter().map(|g| g.id).collect();
        attributes.push(("access-groups".to_string(), groups.join(",")));
    }
    if role.as_deref() == Some("ADMINISTRATOR") {
        attributes.push(("admin".to_string(), "true".to_string()));
    }
    Account {
        principal: user.email.unwrap_or_else(|| user.id.clone()),
        id: user.id,
        display_name: (!name.is_empty()).then_some(name),
        active: user.active,
        subscriptions: role.into_iter().collect(),
        created_at: None,
        last_active_at: None,
        attributes,
    }
}

/// Smartsheet: `GET /2.0/users?include=lastLogin&pageSize=100&page=N`, typed.
pub mod smartsheet {
    use super::*;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Page {
        page_number: Option<u64>,
        total_pages: Option<u64>,
        #[serde(default)]
        data: Vec<User>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct User {
        id: u64,
        email: Option<String>,
        name: Option<String>,
        status: Option<String>,
        #[serde(default)]
        admin: bool,
        #[serde(default)]
        group_admin: bool,
        #[serde(default)]
        licensed_sheet_creator: bool,
        seat_type: Option<String>,
        last_login: Option<String>,
        is_internal: Option<bool>,
    }

    pub async fn list_users(port: u16, token: &str, cursor: Option<&str>) -> Result<AccountPage> {
        let page: u64 = cursor.map_or(Ok(1), str::parse)?;
        let target = format!("/2.0/users?include=lastLogin&pageSize=100&page={page}");
        let auth = format!("Bearer {token}");
        let body = get(
            port,
            &target,
            &[("authorization", &auth), ("accept", "application/json")],
        )
        .await?;
        let doc: Page = serde_json::from_slice(&body)?;
        let current = doc.page_number.unwrap_or(page);
        let more = doc.total_pages.is_some_and(|t| current < t) && !doc.data.is_empty();
        let accounts = doc
            .data
            .into_iter()
            .map(|u| {
                let id = u.id.to_string();
                let status = u.status.unwrap_or_else(|| "ACTIVE".into());
                let seat = u.seat_type.unwrap_or_else(|| {
                    if u.licensed_sheet_creator {
                        "LICENSED_SHEET_CREATOR".into()
                    } else {
                        "FREE_COLLABORATOR".into()
                    }
                });
                let mut attributes = vec![
                    ("status".to_string(), status.clone()),
                    ("seat-type".to_string(), seat.clone()),
                    ("admin".to_string(), u.admin.to_string()),
                    ("group-admin".to_string(), u.group_admin.to_string()),
                    (
                        "licensed-sheet-creator".to_string(),
                        u.licensed_sheet_creator.to_string(),
                    ),
                ];
                if let Some(internal) = u.is_internal {
                    attributes.push(("internal".to_string(), internal.to_string()));
                }
                Account {
                    principal: u.email.unwrap_or_else(|| id.clone()),
                    display_name: u.name,
                    active: matches!(status.as_str(), "ACTIVE" | "PENDING"),
                    subscriptions: vec![seat],
                    created_at: None,
                    last_active_at: u
                        .last_login
                        .as_deref()
                        .and_then(crate::smartrecruiters_fake::parse_iso),
                    attributes,
                    id,
                }
            })
            .collect();
        Ok(AccountPage {
            accounts,
            next_cursor: more.then(|| (current + 1).to_string()),
        })
    }
}

/// SCIM 2.0: `GET {base}/Users?startIndex=&count=100`, typed, common attributes.
pub mod scim {
    use super::*;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ListResponse {
        total_results: Option<u64>,
        start_index: Option<u64>,
        #[serde(rename = "Resources", default)]
        resources: Vec<User>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct User {
        id: String,
        user_name: Option<String>,
        #[serde(default)]
        emails: Vec<Email>,
        active: Option<bool>,
        #[serde(default)]
        entitlements: Vec<Valued>,
        #[serde(default)]
        roles: Vec<Valued>,
    }

    #[derive(Deserialize)]
    struct Email {
        value: Option<String>,
        primary: Option<bool>,
    }

    #[derive(Deserialize)]
    struct Valued {
        value: Option<String>,
    }

    pub async fn list_users(
        port: u16,
        prefix: &str,
        token: &str,
        cursor: Option<&str>,
    ) -> Result<AccountPage> {
        let start: u64 = cursor.map_or(Ok(1), str::parse)?;
        let target = format!("{prefix}/Users?startIndex={start}&count=100");
        let auth = format!("Bearer {token}");
        let body = get(
            port,
            &target,
            &[
                ("authorization", &auth),
                ("accept", "application/scim+json"),
            ],
        )
        .await?;
        let doc: ListResponse = serde_json::from_slice(&body)?;
        let start = doc.start_index.unwrap_or(start).max(1);
        let next = start + doc.resources.len() as u64;
        let more = !doc.resources.is_empty() && doc.total_results.is_some_and(|t| next <= t);
        let accounts = doc
            .resources
            .into_iter()
            .map(|r| {
                let email = r
                    .emails
                    .iter()
                    .find(|e| e.primary == Some(true))
                    .or_else(|| r.emails.first())
                    .and_then(|e| e.value.clone());
                let mut subscriptions: Vec<String> =
                    r.entitlements.into_iter().filter_map(|v| v.value).collect();
                subscriptions.extend(r.roles.into_iter().filter_map(|v| v.value));
                Account {
                    principal: email
                        .or_else(|| r.user_name.clone())
                        .unwrap_or_else(|| r.id.clone()),
                    display_name: None,
                    active: r.active.unwrap_or(true),
                    subscriptions,
                    created_at: None,
                    last_active_at: None,
                    attributes: r
                        .user_name
                        .map(|u| vec![("user-name".to_string(), u)])
                        .unwrap_or_default(),
                    id: r.id,
                }
            })
            .collect();
        Ok(AccountPage {
            accounts,
            next_cursor: more.then(|| next.to_string()),
        })
    }
}
