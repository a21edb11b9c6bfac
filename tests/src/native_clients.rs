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
    get_with_headers(port, target, headers)
        .await
        .map(|(_, body)| body)
}

/// [`get`], with the response's headers.
async fn get_with_headers(
    port: u16,
    target: &str,
    headers: &[(&str, &str)],
) -> Result<(http::HeaderMap, bytes::Bytes)> {
    let mut sender = connection(port).await?;
    let mut request = http::Request::get(target).header("host", format!("127.0.0.1:{port}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new())?)
        .await?;
    let status = response.status();
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    IDLE.lock().unwrap().push((port, sender));
    if !status.is_success() {
        bail!("HTTP {status}");
    }
    Ok((parts.headers, body))
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

/// Okta: `GET /api/v1/apps/{appId}/users?limit=500&expand=user`, paged by
/// the `next` Link header, mapped as the Okta connector maps it (default
/// options: the app user name as principal, `app-assignment`).
pub mod okta {
    use super::*;

    #[derive(Deserialize)]
    struct AppUser {
        id: String,
        scope: Option<String>,
        status: Option<String>,
        created: Option<String>,
        credentials: Option<Credentials>,
        #[serde(rename = "_embedded")]
        embedded: Option<Embedded>,
        #[serde(rename = "_links")]
        links: Option<Links>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Credentials {
        user_name: Option<String>,
    }

    #[derive(Deserialize)]
    struct Embedded {
        user: Option<User>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct User {
        status: Option<String>,
        last_login: Option<String>,
        profile: Option<Profile>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Profile {
        login: Option<String>,
        email: Option<String>,
        first_name: Option<String>,
        last_name: Option<String>,
        display_name: Option<String>,
    }

    #[derive(Deserialize)]
    struct Links {
        group: Option<Link>,
    }

    #[derive(Deserialize)]
    struct Link {
        href: Option<String>,
        name: Option<String>,
    }

    /// One page; `cursor` is the previous page's `next` link.
    pub async fn list_users(
        port: u16,
        token: &str,
        app_id: &str,
        cursor: Option<&str>,
    ) -> Result<AccountPage> {
        let target = match cursor {
            Some(next) => next
                .split_once("://")
                .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
                .context("a next link without a path")?,
            None => format!("/api/v1/apps/{app_id}/users?limit=500&expand=user"),
        };
        let auth = format!("SSWS {token}");
        let (headers, body) = get_with_headers(
            port,
            &target,
            &[("authorization", &auth), ("accept", "application/json")],
        )
        .await?;
        let users: Vec<AppUser> = serde_json::from_slice(&body).context("an app users page")?;
        let next = headers
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find_map(|link| {
                let (url, rel) = link.split_once(';')?;
                (rel.trim() == "rel=\"next\"").then(|| {
                    url.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string()
                })
            });
        Ok(AccountPage {
            accounts: users.into_iter().map(to_account).collect(),
            next_cursor: next,
        })
    }

    fn to_account(user: AppUser) -> Account {
        let person = user.embedded.as_ref().and_then(|e| e.user.as_ref());
        let profile = person.and_then(|u| u.profile.as_ref());
        let login = profile.and_then(|p| p.login.clone());
        let email = profile.and_then(|p| p.email.clone());
        let app_user_name = user.credentials.as_ref().and_then(|c| c.user_name.clone());
        let display_name = profile.and_then(|p| {
            p.display_name
                .clone()
                .filter(|n| !n.is_empty())
                .or_else(|| {
                    let joined = [p.first_name.as_deref(), p.last_name.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ");
                    (!joined.is_empty()).then_some(joined)
                })
        });
        let status = user.status.clone().unwrap_or_else(|| "ACTIVE".into());
        let person_status = person.and_then(|u| u.status.clone());
        let active = !matches!(
            status.as_str(),
            "DEPROVISIONED" | "INACTIVE" | "REVOKED" | "SUSPENDED" | "UNASSIGNED"
        ) && !matches!(
            person_status.as_deref(),
            Some("DEPROVISIONED" | "SUSPENDED")
        );
        let by_group = user.scope.as_deref() == Some("GROUP");
        let mut attributes = vec![
            (
                "assignment".to_string(),
                if by_group { "group" } else { "direct" }.to_string(),
            ),
            ("app-user-status".to_string(), status),
        ];
        if by_group {
            let link = user.links.as_ref().and_then(|l| l.group.as_ref());
            let name = link.and_then(|g| g.name.clone()).filter(|n| !n.is_empty());
            let id = link
                .and_then(|g| g.href.as_deref())
                .and_then(|h| h.rsplit('/').next())
                .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))
                .map(str::to_string);
            let group = match (name, id) {
                (Some(name), Some(id)) => format!("group {name} ({id})"),
                (Some(name), None) => format!("group {name}"),
                (None, Some(id)) => format!("group {id}"),
                (None, None) => "a group Okta does not name".into(),
            };
            attributes.push(("granted-by-group".to_string(), group));
        }
        if let Some(status) = person_status {
            attributes.push(("okta-status".to_string(), status));
        }
        for (name, value) in [
            ("login", login.clone()),
            ("email", email),
            ("app-username", app_user_name.clone()),
        ] {
            if let Some(value) = value {
                attributes.push((name.to_string(), value));
            }
        }
        if let Some(last) = person.and_then(|u| u.last_login.clone()) {
            attributes.push(("okta-last-login".to_string(), last));
        }
        Account {
            principal: app_user_name.or(login).unwrap_or_else(|| user.id.clone()),
            id: user.id,
            display_name,
            active,
            subscriptions: vec!["app-assignment".to_string()],
            created_at: user
                .created
                .as_deref()
                .and_then(crate::smartrecruiters_fake::parse_iso),
            last_active_at: None,
            attributes,
        }
    }
}

pub mod entra {
    //! What the Entra connector's `list-users` does, natively: the service
    //! principal by appId, its `appRoleAssignedTo` pages (User rows looked up
    //! fifteen ids at a time), then each assigned group's members.
    use super::*;

    #[derive(Deserialize)]
    struct Page<T> {
        #[serde(default = "Vec::new")]
        value: Vec<T>,
        #[serde(rename = "@odata.nextLink")]
        next_link: Option<String>,
    }

    #[derive(Deserialize)]
    struct ServicePrincipal {
        id: String,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Assignment {
        principal_type: Option<String>,
        principal_id: Option<String>,
        principal_display_name: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct User {
        id: String,
        user_principal_name: Option<String>,
        mail: Option<String>,
        display_name: Option<String>,
        account_enabled: Option<bool>,
        created_date_time: Option<String>,
    }

    /// The connector's cursor, field for field.
    #[derive(serde::Serialize, Deserialize, Default)]
    struct Position {
        sp: String,
        phase: String,
        next: Option<String>,
        groups: Vec<(String, String)>,
        group: usize,
    }

    const USER_FIELDS: &str =
        "id,userPrincipalName,mail,displayName,accountEnabled,createdDateTime";

    fn path_of(link: &str) -> Result<String> {
        link.split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
            .context("a next link without a path")
    }

    /// One page; `bearer` is an access token the fake accepts.
    pub async fn list_users(
        port: u16,
        bearer: &str,
        app_id: &str,
        cursor: Option<&str>,
    ) -> Result<AccountPage> {
        let auth = format!("Bearer {bearer}");
        let headers = [
            ("authorization", auth.as_str()),
            ("accept", "application/json"),
        ];
        let mut position = match cursor {
            Some(text) => serde_json::from_str(text).context("a cursor of this client")?,
            None => {
                let body = get(
                    port,
                    &format!(
                        "/v1.0/servicePrincipals(appId='{app_id}')?$select=id,appId,displayName,accountEnabled"
                    ),
                    &headers,
                )
                .await?;
                let sp: ServicePrincipal =
                    serde_json::from_slice(&body).context("a servicePrincipal")?;
                Position {
                    sp: sp.id,
                    phase: "direct".into(),
                    ..Position::default()
                }
            }
        };
        let accounts = if position.phase == "direct" {
            let target = match position.next.take() {
                Some(next) => path_of(&next)?,
                None => format!(
                    "/v1.0/servicePrincipals/{}/appRoleAssignedTo?$top=100",
                    position.sp
                ),
            };
            let page: Page<Assignment> =
                serde_json::from_slice(&get(port, &target, &headers).await?)
                    .context("an appRoleAssignment page")?;
            position.next = page.next_link;
            let mut users: Vec<String> = Vec::new();
            for row in page.value {
                let Some(id) = row.principal_id else { continue };
                match row.principal_type.as_deref() {
                    Some("User") if !users.contains(&id) => users.push(id),
                    Some("Group") if !position.groups.iter().any(|(g, _)| *g == id) => {
                        let name: String = row
                            .principal_display_name
                            .unwrap_or_default()
                            .chars()
                            .take(64)
                            .collect();
                        position.groups.push((id, name));
                    }
                    _ => {}
                }
            }
            let mut accounts = Vec::with_capacity(users.len());
            for chunk in users.chunks(15) {
                let list = chunk
                    .iter()
                    .map(|id| format!("'{id}'"))
                    .collect::<Vec<_>>()
                    .join(",");
                let target = format!(
                    "/v1.0/users?$select={USER_FIELDS}&$filter={}",
                    crate::smartrecruiters_fake::percent_encode(&format!("id in ({list})"))
                );
                let page: Page<User> = serde_json::from_slice(&get(port, &target, &headers).await?)
                    .context("a users page")?;
                accounts.extend(
                    page.value
                        .into_iter()
                        .filter(|u| chunk.contains(&u.id))
                        .map(|u| to_account(u, None)),
                );
            }
            accounts
        } else {
            let (group_id, group_name) = position
                .groups
                .get(position.group)
                .cloned()
                .context("cursor past the last group")?;
            let target = match position.next.take() {
                Some(next) => path_of(&next)?,
                None => format!(
                    "/v1.0/groups/{group_id}/members/microsoft.graph.user?$select={USER_FIELDS}&$top=999"
                ),
            };
            let page: Page<User> = serde_json::from_slice(&get(port, &target, &headers).await?)
                .context("a group members page")?;
            position.next = page.next_link;
            let group = if group_name.is_empty() {
                format!("group {group_id}")
            } else {
                format!("group {group_name} ({group_id})")
            };
            page.value
                .into_iter()
                .map(|u| to_account(u, Some(&group)))
                .collect()
        };
        let next = if position.next.is_some() {
            Some(position)
        } else if position.phase == "direct" && !position.groups.is_empty() {
            Some(Position {
                phase: "groups".into(),
                group: 0,
                ..position
            })
        } else if position.phase == "groups" && position.group + 1 < position.groups.len() {
            Some(Position {
                group: position.group + 1,
                ..position
            })
        } else {
            None
        };
        Ok(AccountPage {
            accounts,
            next_cursor: next.map(|p| serde_json::to_string(&p).expect("a position serializes")),
        })
    }

    fn to_account(user: User, group: Option<&str>) -> Account {
        let upn = user.user_principal_name.clone();
        let mut attributes = vec![(
            "assignment".to_string(),
            if group.is_some() { "group" } else { "direct" }.to_string(),
        )];
        if let Some(group) = group {
            attributes.push(("granted-by-group".into(), group.to_string()));
        }
        if let Some(upn) = &upn {
            attributes.push(("upn".into(), upn.clone()));
        }
        if let Some(mail) = &user.mail {
            attributes.push(("mail".into(), mail.clone()));
        }
        Account {
            principal: upn.unwrap_or_else(|| user.id.clone()),
            display_name: user.display_name.filter(|n| !n.is_empty()),
            active: user.account_enabled != Some(false),
            subscriptions: vec!["app-assignment".to_string()],
            created_at: user
                .created_date_time
                .as_deref()
                .and_then(crate::smartrecruiters_fake::parse_iso),
            last_active_at: None,
            attributes,
            id: user.id,
        }
    }
}
