//! A native Rust SmartRecruiters client: the benchmark's yardstick.
//!
//! It does what the wasm connector does for `list-users` (same request, same
//! JSON decoding, same mapping to accounts, a fresh connection per request
//! like the host's transport) without the sandbox, so the benchmark can
//! report what the sandbox costs. It is not used by the product.

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use seatwarden::{Account, AccountPage};
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

/// One page of `GET /user-api/v201804/users`.
pub async fn list_users(port: u16, token: &str, cursor: Option<&str>) -> Result<AccountPage> {
    let mut target = "/user-api/v201804/users?limit=100".to_string();
    if let Some(cursor) = cursor {
        target.push_str("&pageId=");
        target.push_str(cursor);
    }
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let request = http::Request::get(target)
        .header("host", format!("127.0.0.1:{port}"))
        .header("x-smarttoken", token)
        .header("accept", "application/json")
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        bail!("HTTP {status}");
    }
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
