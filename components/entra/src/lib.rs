//! The Microsoft Entra ID connector (Microsoft Graph v1.0): one enterprise
//! app as a source of seats.
//!
//! A connection names the app by its Application (client) ID (option
//! `app-id`), the key sign-in logs use; the connector finds its service
//! principal (`GET /servicePrincipals(appId='…')`) for the assignments.
//! Accounts are the people assigned to it: direct `User` rows of
//! `GET /servicePrincipals/{id}/appRoleAssignedTo`, looked up in
//! `GET /users`, then the members of each assigned group
//! (`GET /groups/{id}/members/microsoft.graph.user`), which carry
//! `granted-by-group` and are never removed. Activity is the app's
//! successful sign-ins from `GET /auditLogs/signIns` (Entra keeps 30 days
//! with P1/P2). Reclaiming reads the person's own app-role assignments
//! (`GET /users/{id}/appRoleAssignments`) and deletes the direct ones of
//! this app.
//!
//! The host does OAuth 2.0 client credentials against the tenant's token
//! endpoint (`scope=https://graph.microsoft.com/.default`); this code never
//! sees a token. See `shared/vendors/idp-apis.md` §2 and the Graph subset.

use seatwarden_sdk::http::{Method, Request, Response, encode_component, excerpt};
use seatwarden_sdk::{
    Account, AccountPage, Activity, ActivityPage, AuthScheme, Capabilities, ConnectorError,
    Descriptor, Guest, OptionSpec, Settings, Timestamp, Validated, json, log, time,
};
use serde::{Deserialize, Serialize};

/// Assignment rows per page: at most 75 people, looked up in five
/// requests of fifteen, so a page (with the service principal's lookup on
/// the first) stays within the host's eight requests per call.
const ASSIGNMENTS_PER_PAGE: u32 = 75;
/// Direct assignments (one per app role) removed in one call.
const MAX_ROLES_REMOVED: usize = 6;
/// Group members per page (Graph's maximum for directory lists).
const MEMBERS_PER_PAGE: u32 = 999;
/// Sign-ins per page (Graph's maximum for sign-ins).
const SIGN_INS_PER_PAGE: u32 = 1000;
/// Ids per `id in (…)` lookup.
const IDS_PER_LOOKUP: usize = 15;
/// Assigned groups a cursor carries.
const MAX_GROUPS: usize = 60;
/// How long Entra keeps sign-ins (P1/P2).
const SIGN_IN_RETENTION_DAYS: i64 = 30;

const APP_ID: &str = "app-id";
const PRINCIPAL: &str = "principal";
const SUBSCRIPTION: &str = "subscription";
const DEFAULT_SUBSCRIPTION: &str = "app-assignment";
const USER_FIELDS: &str = "id,userPrincipalName,mail,displayName,accountEnabled,createdDateTime";

/// A Graph collection page.
#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServicePrincipal {
    id: String,
    display_name: Option<String>,
    account_enabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Assignment {
    id: String,
    principal_type: Option<String>,
    principal_id: Option<String>,
    principal_display_name: Option<String>,
    resource_id: Option<String>,
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignIn {
    user_id: Option<String>,
    app_id: Option<String>,
    created_date_time: Option<String>,
    status: Option<SignInStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignInStatus {
    error_code: Option<i64>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<GraphError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphError {
    code: Option<String>,
    message: Option<String>,
    inner_error: Option<InnerError>,
}

#[derive(Deserialize)]
struct InnerError {
    #[serde(rename = "request-id")]
    request_id: Option<String>,
}

/// Where a listing stands; the cursor the host stores, as JSON.
#[derive(Serialize, Deserialize, Default)]
struct Position {
    /// The service principal's object id, found once.
    sp: String,
    /// `direct` (assignment rows) or `groups` (members of assigned groups).
    phase: String,
    /// Graph's `@odata.nextLink` within the phase, if any.
    next: Option<String>,
    /// Assigned groups found so far: (id, name).
    groups: Vec<(String, String)>,
    /// In the `groups` phase, which group.
    group: usize,
}

struct Entra;

impl Guest for Entra {
    fn describe() -> Descriptor {
        Descriptor {
            name: "entra-id".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "Microsoft".into(),
            summary: "Entra ID via Microsoft Graph v1.0: one enterprise app's assigned people (direct or by group), its sign-ins, removal of direct app-role assignments".into(),
            capabilities: Capabilities::ACTIVITY | Capabilities::DEACTIVATE,
            auth: AuthScheme::Oauth2ClientCredentials,
            default_hosts: vec![
                "https://graph.microsoft.com".into(),
                "https://login.microsoftonline.com".into(),
            ],
            default_base_url: "https://graph.microsoft.com/v1.0".into(),
            regions: vec![],
            options: vec![
                OptionSpec {
                    name: APP_ID.into(),
                    description: "The enterprise app's Application (client) ID, a GUID (Enterprise applications > the app > Overview)".into(),
                    required: true,
                },
                OptionSpec {
                    name: PRINCIPAL.into(),
                    description: "Which identifier names the person: upn (default, userPrincipalName) or mail".into(),
                    required: false,
                },
                OptionSpec {
                    name: SUBSCRIPTION.into(),
                    description: "The subscription identifier every assignment consumes, for the tenant's [[models]] (default app-assignment)".into(),
                    required: false,
                },
            ],
        }
    }

    fn validate(settings: Settings) -> Result<Validated, ConnectorError> {
        let sp = service_principal(&settings)?;
        if sp.account_enabled == Some(false) {
            log::warn(&format!(
                "the enterprise app {} is disabled: nobody can sign in to it",
                sp.display_name.as_deref().unwrap_or("(no name)")
            ));
        }
        let base = &settings.base_url;
        get(
            &format!(
                "{base}/servicePrincipals/{}/appRoleAssignedTo?$top=1",
                sp.id
            ),
            "Application.Read.All",
        )?;
        get(&format!("{base}/users?$top=1&$select=id"), "User.Read.All")?;
        get(
            &format!(
                "{base}/auditLogs/signIns?$top=1&$filter={}",
                encode_component(&format!("appId eq '{}'", app_id(&settings)?))
            ),
            "AuditLog.Read.All",
        )?;
        // An app-only token acts as no user account.
        Ok(Validated {
            credential_account: None,
        })
    }

    fn list_users(
        settings: Settings,
        cursor: Option<String>,
    ) -> Result<AccountPage, ConnectorError> {
        let mut position = match cursor {
            None => Position {
                sp: service_principal(&settings)?.id,
                phase: "direct".into(),
                ..Position::default()
            },
            Some(text) => serde_json::from_str(&text).map_err(|_| {
                ConnectorError::Config(format!(
                    "cursor {:?} is not this connector's",
                    excerpt(text.as_bytes())
                ))
            })?,
        };
        let principal = principal_choice(&settings)?;
        let subscription = seatwarden_sdk::option(&settings, SUBSCRIPTION)
            .unwrap_or(DEFAULT_SUBSCRIPTION)
            .to_string();
        let base = settings.base_url.clone();
        let accounts = match position.phase.as_str() {
            "direct" => {
                let url = match position.next.take() {
                    Some(next) => same_origin(&settings, next)?,
                    None => format!(
                        "{base}/servicePrincipals/{}/appRoleAssignedTo?$top={ASSIGNMENTS_PER_PAGE}",
                        position.sp
                    ),
                };
                let page: Page<Assignment> = json::decode(
                    &get(&url, "Application.Read.All")?,
                    "a Graph appRoleAssignment page",
                )?;
                position.next = page.next_link;
                let mut users: Vec<String> = Vec::new();
                for row in page.value {
                    let Some(id) = row.principal_id.filter(|id| is_guid(id)) else {
                        continue;
                    };
                    match row.principal_type.as_deref() {
                        Some("User") if !users.contains(&id) => users.push(id),
                        Some("Group") if !position.groups.iter().any(|(g, _)| *g == id) => {
                            if position.groups.len() >= MAX_GROUPS {
                                return Err(ConnectorError::Unsupported(format!(
                                    "more than {MAX_GROUPS} groups are assigned to the app; assign fewer groups, or read the people through a group-level tool"
                                )));
                            }
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
                let found = lookup_users(&base, &users)?;
                found
                    .into_iter()
                    .map(|user| to_account(user, principal, &subscription, None))
                    .collect()
            }
            "groups" => {
                let Some((group_id, group_name)) = position.groups.get(position.group).cloned()
                else {
                    return Err(ConnectorError::Config("cursor past the last group".into()));
                };
                let url = match position.next.take() {
                    Some(next) => same_origin(&settings, next)?,
                    None => format!(
                        "{base}/groups/{group_id}/members/microsoft.graph.user?$select={USER_FIELDS}&$top={MEMBERS_PER_PAGE}"
                    ),
                };
                let page: Page<User> = json::decode(
                    &get(&url, "GroupMember.Read.All")?,
                    "a Graph group members page",
                )?;
                position.next = page.next_link;
                let group = if group_name.is_empty() {
                    format!("group {group_id}")
                } else {
                    format!("group {group_name} ({group_id})")
                };
                page.value
                    .into_iter()
                    .filter(|u| is_guid(&u.id))
                    .map(|user| to_account(user, principal, &subscription, Some(&group)))
                    .collect()
            }
            other => {
                return Err(ConnectorError::Config(format!(
                    "cursor phase {:?} is not this connector's",
                    excerpt(other.as_bytes())
                )));
            }
        };
        // Where the next page comes from: more of this phase, the first (or
        // next) group, or the end.
        let next_cursor = if position.next.is_some() {
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
            next_cursor: next_cursor
                .map(|p| serde_json::to_string(&p).expect("a position serializes")),
        })
    }

    fn get_activity(
        settings: Settings,
        since: Timestamp,
        cursor: Option<String>,
    ) -> Result<ActivityPage, ConnectorError> {
        let app_id = app_id(&settings)?.to_string();
        let response = match cursor {
            Some(next) => get(&same_origin(&settings, next)?, "AuditLog.Read.All")?,
            None => first_sign_in_page(&settings, &app_id, since)?,
        };
        let page: Page<SignIn> = json::decode(&response, "a Graph signIn page")?;
        let mut events = Vec::with_capacity(page.value.len());
        for sign_in in page.value {
            // `errorCode` 0 is a successful sign-in; the filter asked for
            // this app only, and what is not is not trusted.
            if sign_in.status.and_then(|s| s.error_code) != Some(0)
                || sign_in.app_id.as_deref() != Some(app_id.as_str())
            {
                continue;
            }
            let Some(user) = sign_in.user_id.filter(|id| is_guid(id)) else {
                continue;
            };
            let Some(at) = sign_in
                .created_date_time
                .as_deref()
                .and_then(time::parse_millis)
            else {
                return Err(ConnectorError::InvalidResponse(format!(
                    "a Graph sign-in of user {user} has no readable createdDateTime"
                )));
            };
            events.push(Activity {
                account_id: user,
                at,
                kind: "signIn".into(),
            });
        }
        Ok(ActivityPage {
            events,
            next_cursor: page.next_link,
        })
    }

    fn deactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        if !is_guid(&account_id) {
            return Err(ConnectorError::NotFound(format!(
                "{account_id:?} is not an Entra object id"
            )));
        }
        let sp = service_principal(&settings)?;
        let base = &settings.base_url;
        // The person's own assignments (a handful), not the app's (up to
        // every person in the tenant): the rows of this app are the direct
        // ones. A group's assignment is the group's row, never the
        // person's, so it is never among them; the listing marks people
        // who hold the app through a group and the host never asks to
        // remove them.
        let page: Page<Assignment> = json::decode(
            &get(
                &format!("{base}/users/{account_id}/appRoleAssignments"),
                "AppRoleAssignment.ReadWrite.All",
            )?,
            "a Graph appRoleAssignment page",
        )?;
        if page.next_link.is_some() {
            return Err(ConnectorError::Unsupported(format!(
                "user {account_id} holds more app roles than one page lists; remove the assignment in Entra ID"
            )));
        }
        let direct: Vec<String> = page
            .value
            .into_iter()
            .filter(|row| {
                row.resource_id.as_deref() == Some(sp.id.as_str())
                    && row.principal_type.as_deref() == Some("User")
                    && row.principal_id.as_deref() == Some(account_id.as_str())
            })
            .map(|row| row.id)
            .collect();
        if direct.len() > MAX_ROLES_REMOVED {
            return Err(ConnectorError::Unsupported(format!(
                "user {account_id} holds {} roles in the app, more than {MAX_ROLES_REMOVED} removed in one call; remove them in Entra ID",
                direct.len()
            )));
        }
        for assignment in &direct {
            // Assignment ids are base64url text; anything else never
            // reaches a URL.
            if assignment.is_empty()
                || assignment.len() > 128
                || !assignment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                continue;
            }
            let one = format!(
                "{base}/servicePrincipals/{}/appRoleAssignedTo/{}",
                sp.id,
                encode_component(assignment)
            );
            let response = Request::new(Method::Delete, &one).send()?;
            // Already gone: what was asked for is true.
            if response.status != 404 {
                checked(response, "AppRoleAssignment.ReadWrite.All")?;
            }
        }
        Ok(())
    }

    fn reactivate_user(_settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        Err(ConnectorError::Unsupported(format!(
            "re-assigning the app to user {account_id} is not implemented: assign it again in Entra ID"
        )))
    }
}

#[derive(Clone, Copy)]
enum PrincipalChoice {
    Upn,
    Mail,
}

fn principal_choice(settings: &Settings) -> Result<PrincipalChoice, ConnectorError> {
    match seatwarden_sdk::option(settings, PRINCIPAL) {
        None | Some("upn") => Ok(PrincipalChoice::Upn),
        Some("mail") => Ok(PrincipalChoice::Mail),
        Some(other) => Err(ConnectorError::Config(format!(
            "option principal = {other:?} is not one of upn, mail"
        ))),
    }
}

fn app_id(settings: &Settings) -> Result<&str, ConnectorError> {
    match seatwarden_sdk::option(settings, APP_ID) {
        Some(id) if is_guid(id) => Ok(id),
        Some(id) => Err(ConnectorError::Config(format!(
            "option app-id = {id:?} is not an Application (client) ID (a GUID such as 3290e3f7-d3ac-4165-bcef-cf4874fc4270)"
        ))),
        None => Err(ConnectorError::Config(
            "the connection needs option app-id: the enterprise app's Application (client) ID"
                .into(),
        )),
    }
}

/// Directory object ids are GUIDs; anything else never reaches a URL.
fn is_guid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The app's service principal, by its appId.
fn service_principal(settings: &Settings) -> Result<ServicePrincipal, ConnectorError> {
    let app = app_id(settings)?;
    let url = format!(
        "{}/servicePrincipals(appId='{app}')?$select=id,appId,displayName,accountEnabled",
        settings.base_url
    );
    let response = Request::new(Method::Get, &url)
        .header("accept", "application/json")
        .send()?;
    if response.status == 404 {
        return Err(ConnectorError::NotFound(format!(
            "Entra ID has no enterprise app with Application (client) ID {app}: check the connection's app-id option (Enterprise applications > the app > Overview)"
        )));
    }
    let sp: ServicePrincipal = json::decode(
        &checked(response, "Application.Read.All")?,
        "a Graph servicePrincipal",
    )?;
    if !is_guid(&sp.id) {
        return Err(ConnectorError::InvalidResponse(format!(
            "the service principal's id {:?} is not a directory object id",
            excerpt(sp.id.as_bytes())
        )));
    }
    Ok(sp)
}

/// The users with these ids (`$filter=id in (…)`, fifteen at a time).
fn lookup_users(base: &str, ids: &[String]) -> Result<Vec<User>, ConnectorError> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let list = chunk
            .iter()
            .map(|id| format!("'{id}'"))
            .collect::<Vec<_>>()
            .join(",");
        let url = format!(
            "{base}/users?$select={USER_FIELDS}&$filter={}",
            encode_component(&format!("id in ({list})"))
        );
        let page: Page<User> = json::decode(&get(&url, "User.Read.All")?, "a Graph users page")?;
        found.extend(page.value.into_iter().filter(|u| chunk.contains(&u.id)));
    }
    Ok(found)
}

/// The first sign-in page at or after `since`. Entra keeps 30 days (with
/// P1/P2): an earlier `since` is said in the log, by Graph's clock, and
/// asked again from what Entra keeps if Graph refuses it.
fn first_sign_in_page(
    settings: &Settings,
    app_id: &str,
    since: Timestamp,
) -> Result<Response, ConnectorError> {
    let url_from = |from: Timestamp| {
        format!(
            "{}/auditLogs/signIns?$top={SIGN_INS_PER_PAGE}&$filter={}",
            settings.base_url,
            encode_component(&format!(
                "appId eq '{app_id}' and createdDateTime ge {}",
                time::format_millis(from)
            ))
        )
    };
    // Low priority like every other read: Graph sheds it first under load
    // instead of throttling the tenant's interactive traffic.
    let response = Request::new(Method::Get, url_from(since))
        .header("accept", "application/json")
        .header("x-ms-throttle-priority", "low")
        .send()?;
    let kept_from = time::log_kept_from(&response, SIGN_IN_RETENTION_DAYS);
    match kept_from {
        Some(kept_from) if since < kept_from => {
            log::warn(&format!(
                "Entra ID keeps sign-ins for {SIGN_IN_RETENTION_DAYS} days: activity asked from {} is read from {}; sign-ins before that cannot be seen",
                time::format_millis(since),
                time::format_millis(kept_from)
            ));
            if response.status == 400 {
                return get(&url_from(kept_from), "AuditLog.Read.All");
            }
            checked(response, "AuditLog.Read.All")
        }
        _ => checked(response, "AuditLog.Read.All"),
    }
}

/// A next link (stored in the cursor) must stay on the connection's base
/// URL: Graph writes absolute links to itself.
fn same_origin(settings: &Settings, next: String) -> Result<String, ConnectorError> {
    let base = settings.base_url.trim_end_matches('/');
    if next.starts_with(&format!("{base}/")) {
        Ok(next)
    } else {
        Err(ConnectorError::InvalidResponse(format!(
            "Graph's next link {:?} does not point into the connection's base URL {base}",
            excerpt(next.as_bytes())
        )))
    }
}

fn get(url: &str, permission: &str) -> Result<Response, ConnectorError> {
    checked(
        Request::new(Method::Get, url)
            .header("accept", "application/json")
            .header("x-ms-throttle-priority", "low")
            .send()?,
        permission,
    )
}

/// Maps Graph's statuses and `{"error": {code, message, innerError}}`.
/// `permission` is the application permission the call needs, named when
/// Graph refuses it (Graph's own message names it when it can).
fn checked(response: Response, permission: &str) -> Result<Response, ConnectorError> {
    if (200..300).contains(&response.status) {
        return Ok(response);
    }
    let body = serde_json::from_slice::<ErrorBody>(&response.body)
        .ok()
        .and_then(|b| b.error);
    let text = match &body {
        Some(error) => format!(
            "Graph error {} (HTTP {}): {} [request-id {}]",
            excerpt(error.code.as_deref().unwrap_or("?").as_bytes()),
            response.status,
            excerpt(error.message.as_deref().unwrap_or("no message").as_bytes()),
            excerpt(
                error
                    .inner_error
                    .as_ref()
                    .and_then(|i| i.request_id.as_deref())
                    .unwrap_or("-")
                    .as_bytes()
            )
        ),
        None => format!("HTTP {}: {}", response.status, excerpt(&response.body)),
    };
    Err(match response.status {
        429 => ConnectorError::RateLimited(seatwarden_sdk::http::retry_after_ms(&response)),
        401 => ConnectorError::Unauthorized(format!(
            "{text}. Check the app registration's client secret or certificate and the tenant in the token URL"
        )),
        403 => {
            let named = body
                .as_ref()
                .and_then(|e| e.message.as_deref())
                .and_then(named_permission);
            let licence = body
                .as_ref()
                .and_then(|e| e.code.as_deref())
                .is_some_and(|c| c.contains("NonPremium") || c.contains("Premium"));
            if licence {
                ConnectorError::Unsupported(format!(
                    "{text}. Sign-in logs through Graph need Entra ID P1 or P2"
                ))
            } else {
                ConnectorError::Forbidden(format!(
                    "{text}. The app registration lacks the application permission {}: grant it and give admin consent",
                    named.unwrap_or_else(|| permission.to_string())
                ))
            }
        }
        404 => ConnectorError::NotFound(text),
        500..=599 => ConnectorError::Unavailable(text),
        400 => ConnectorError::Config(text),
        _ => ConnectorError::InvalidResponse(text),
    })
}

/// The permission in "Calling principal does not have required MSGraph
/// permissions AuditLog.Read.All".
fn named_permission(message: &str) -> Option<String> {
    let after = message.split("permissions ").nth(1)?;
    let name: String = after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    let name = name.trim_end_matches('.');
    (name.contains('.') && name.len() <= 64).then(|| name.to_string())
}

fn to_account(
    user: User,
    principal: PrincipalChoice,
    subscription: &str,
    group: Option<&str>,
) -> Account {
    let upn = user.user_principal_name.clone();
    let chosen = match principal {
        PrincipalChoice::Upn => upn.clone(),
        PrincipalChoice::Mail => user.mail.clone().or(upn.clone()),
    };
    let mut attributes = vec![(
        "assignment".to_string(),
        if group.is_some() { "group" } else { "direct" }.to_string(),
    )];
    if let Some(group) = group {
        attributes.push(("granted-by-group".into(), group.to_string()));
    }
    if let Some(upn) = upn {
        attributes.push(("upn".into(), upn));
    }
    if let Some(mail) = user.mail.clone() {
        attributes.push(("mail".into(), mail));
    }
    Account {
        principal: chosen.unwrap_or_else(|| user.id.clone()),
        display_name: user.display_name.filter(|n| !n.is_empty()),
        active: user.account_enabled != Some(false),
        subscriptions: vec![subscription.to_string()],
        created_at: user
            .created_date_time
            .as_deref()
            .and_then(time::parse_millis),
        // `signInActivity` is tenant-wide, not this app's: not activity here.
        last_active_at: None,
        attributes,
        id: user.id,
    }
}

impl seatwarden_sdk::About for Entra {
    fn links() -> Vec<(String, String)> {
        vec![
            (
                "List appRoleAssignedTo".into(),
                "https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignedto".into(),
            ),
            (
                "List signIns".into(),
                "https://learn.microsoft.com/graph/api/signin-list".into(),
            ),
            (
                "Client credentials".into(),
                "https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow".into(),
            ),
        ]
    }
}

/// Graph's directory reads allow thousands of resource units per 10 s per
/// app and tenant; its sign-in reports only 5 requests per 10 s, answered
/// with 429 and `Retry-After`, which the host honours. Declaring the
/// sign-in rate for every call would slow a 50,000-person listing to
/// hours, so the connector declares none (the host's default applies).
impl seatwarden_sdk::Vendor for Entra {
    fn rate_limit() -> Option<seatwarden_sdk::RequestRate> {
        None
    }

    fn subscription_models() -> Vec<seatwarden_sdk::SubscriptionModel> {
        Vec::new()
    }
}

/// Service principals per page of `GET /servicePrincipals` (Graph's maximum).
const APPS_PER_PAGE: u32 = 999;
/// The tag the Entra admin center's "Enterprise applications" list shows.
const ENTERPRISE_APP_TAG: &str = "WindowsAzureActiveDirectoryIntegratedApp";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListedApp {
    app_id: Option<String>,
    display_name: Option<String>,
    account_enabled: Option<bool>,
    service_principal_type: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

/// The tenant's enterprise apps, for the discovery table; the host counts
/// each one's assignments through `list-users` with `app-id` set to it.
/// Graph lists every service principal (Microsoft's own, managed
/// identities); only applications tagged as enterprise apps are kept,
/// client-side, as the admin center does.
impl seatwarden_sdk::IdentityProvider for Entra {
    fn app_option() -> String {
        APP_ID.into()
    }

    fn list_applications(
        settings: Settings,
        cursor: Option<String>,
    ) -> Result<seatwarden_sdk::ApplicationPage, ConnectorError> {
        let url = match cursor {
            None => format!(
                "{}/servicePrincipals?$select=id,appId,displayName,accountEnabled,servicePrincipalType,tags&$top={APPS_PER_PAGE}",
                settings.base_url
            ),
            Some(next) => same_origin(&settings, next)?,
        };
        let page: Page<ListedApp> = json::decode(
            &get(&url, "Application.Read.All")?,
            "a Graph servicePrincipal page",
        )?;
        Ok(seatwarden_sdk::ApplicationPage {
            applications: page
                .value
                .into_iter()
                .filter(|sp| {
                    sp.service_principal_type.as_deref() == Some("Application")
                        && sp.tags.iter().any(|t| t == ENTERPRISE_APP_TAG)
                })
                .filter_map(|sp| {
                    let id = sp.app_id.filter(|id| is_guid(id))?;
                    Some(seatwarden_sdk::Application {
                        label: sp
                            .display_name
                            .filter(|n| !n.is_empty())
                            .unwrap_or_else(|| id.clone()),
                        active: sp.account_enabled != Some(false),
                        id,
                    })
                })
                .collect(),
            next_cursor: page.next_link.filter(|next| *next != url),
        })
    }
}

seatwarden_sdk::export_connector!(Entra, About, Vendor, IdentityProvider);
