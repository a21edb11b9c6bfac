//! The SmartRecruiters connector.
//!
//! Users come from the Users API (`/user-api/v201804/users`, cursor paging on
//! `nextPageId`), activity from the Audit API
//! (`/audit-api/v201910/audit-events`), deactivation and reactivation from
//! `DELETE`/`PUT .../users/{id}/activation`. The host authenticates every
//! request with `X-SmartToken`; this code never sees the key. See
//! `shared/vendors/vendor-apis.md` §1 for the sources behind each request.

use seatwarden_sdk::http::{Method, Request, Response, encode_component, error_for_status};
use seatwarden_sdk::{
    Account, AccountPage, Activity, ActivityPage, AuthScheme, Capabilities, ConnectorError,
    Descriptor, Guest, Settings, Timestamp, Validated, json, time,
};
use serde::Deserialize;

/// Page size for both APIs: the vendor's maximum.
const PAGE_SIZE: u32 = 100;
const USERS: &str = "/user-api/v201804/users";
const AUDIT: &str = "/audit-api/v201910/audit-events";

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditPage {
    next_page_id: Option<String>,
    #[serde(default)]
    content: Vec<AuditEvent>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditEvent {
    event_name: String,
    event_date: String,
    author: Option<Author>,
}

#[derive(Deserialize)]
struct Author {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

/// Events by a user that do not show the user using a seat.
const NOT_ACTIVITY: [&str; 1] = ["USER_AUTHENTICATION_INVALID_CREDENTIALS"];

struct SmartRecruiters;

impl Guest for SmartRecruiters {
    fn describe() -> Descriptor {
        Descriptor {
            name: "smartrecruiters".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "SmartRecruiters".into(),
            summary: "Users API v201804 (accounts, activation) and Audit API v201910 (sign-ins and user actions)".into(),
            capabilities: Capabilities::ACTIVITY | Capabilities::DEACTIVATE | Capabilities::REACTIVATE,
            auth: AuthScheme::ApiKeyHeader("X-SmartToken".into()),
            default_hosts: vec!["https://api.smartrecruiters.com".into()],
            default_base_url: "https://api.smartrecruiters.com".into(),
            regions: vec![],
            options: vec![],
        }
    }

    fn validate(settings: Settings) -> Result<Validated, ConnectorError> {
        let users = get(&format!("{}{USERS}?limit=1", settings.base_url))?;
        json::decode::<UsersPage>(&users, "a SmartRecruiters users page")?;
        seatwarden_sdk::activity_optional(audit_page(&settings, 0, None, 1))?;
        seatwarden_sdk::credential_account(key_owner(&settings))
    }

    fn list_users(
        settings: Settings,
        cursor: Option<String>,
    ) -> Result<AccountPage, ConnectorError> {
        let mut url = format!("{}{USERS}?limit={PAGE_SIZE}", settings.base_url);
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&pageId={}", encode_component(cursor)));
        }
        let page: UsersPage = json::decode(&get(&url)?, "a SmartRecruiters users page")?;
        let next_cursor = next(page.next_page_id, page.content.is_empty());
        Ok(AccountPage {
            accounts: page.content.into_iter().map(to_account).collect(),
            next_cursor,
        })
    }

    fn get_activity(
        settings: Settings,
        since: Timestamp,
        cursor: Option<String>,
    ) -> Result<ActivityPage, ConnectorError> {
        let page = audit_page(&settings, since, cursor.as_deref(), PAGE_SIZE)?;
        let next_cursor = next(page.next_page_id, page.content.is_empty());
        let mut events = Vec::with_capacity(page.content.len());
        for event in page.content {
            let Some(Author {
                kind,
                id: Some(author),
            }) = event.author
            else {
                continue;
            };
            if kind != "USER" || NOT_ACTIVITY.contains(&event.event_name.as_str()) {
                continue;
            }
            let at = time::parse_millis(&event.event_date).ok_or_else(|| {
                ConnectorError::InvalidResponse(format!(
                    "audit event date {:?} is not ISO-8601",
                    event.event_date
                ))
            })?;
            events.push(Activity {
                account_id: author,
                at,
                kind: event.event_name,
            });
        }
        Ok(ActivityPage {
            events,
            next_cursor,
        })
    }

    fn deactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        set_activation(&settings, &account_id, false)
    }

    fn reactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        set_activation(&settings, &account_id, true)
    }
}

/// The id of the user the key or token acts as: `GET /users/me` (needs the
/// `user_me_read` scope under OAuth; a company API key may have no user).
fn key_owner(settings: &Settings) -> Result<String, ConnectorError> {
    #[derive(Deserialize)]
    struct Me {
        id: String,
    }
    let me: Me = json::decode(
        &get(&format!("{}{USERS}/me", settings.base_url))?,
        "a SmartRecruiters user",
    )?;
    Ok(me.id)
}

fn get(url: &str) -> Result<Response, ConnectorError> {
    checked(
        Request::new(Method::Get, url)
            .header("accept", "application/json")
            .send()?,
    )
}

/// The SDK's status mapping, plus SmartRecruiters' rate-limit headers: the
/// limits are per second, so an exhausted `X-RateLimit-Remaining` without a
/// `Retry-After` means "wait about a second".
fn checked(response: Response) -> Result<Response, ConnectorError> {
    if response.status == 429 && response.header("retry-after").is_none() {
        let exhausted = response
            .header("x-ratelimit-remaining")
            .is_some_and(|r| r.trim() == "0")
            || response
                .header("x-ratelimit-concurrent-remaining")
                .is_some_and(|r| r.trim() == "0");
        return Err(ConnectorError::RateLimited(exhausted.then_some(1000)));
    }
    error_for_status(response)
}

/// A cursor is over when it is missing or empty, or the page was empty.
fn next(cursor: Option<String>, empty_page: bool) -> Option<String> {
    cursor.filter(|c| !c.trim().is_empty() && !empty_page)
}

fn audit_page(
    settings: &Settings,
    since: Timestamp,
    cursor: Option<&str>,
    limit: u32,
) -> Result<AuditPage, ConnectorError> {
    // `eventDateAfter` is exclusive; the contract's `since` is inclusive,
    // and dates carry milliseconds: ask from one millisecond earlier.
    let mut url = format!(
        "{}{AUDIT}?limit={limit}&eventDateAfter={}",
        settings.base_url,
        encode_component(&time::format_millis(since.saturating_sub(1)))
    );
    if let Some(cursor) = cursor {
        url.push_str(&format!("&nextPageId={}", encode_component(cursor)));
    }
    let response = Request::new(Method::Get, url)
        .header("accept", "application/json")
        .send()?;
    if response.status == 403 {
        return Err(ConnectorError::Unsupported(
            "the SmartRecruiters Audit API answered 403: it needs the ADMINISTRATOR role, the audit_events_read scope \
             and the SmartRecruit + SmartConnect plans; activity falls back to what list-users reports"
                .into(),
        ));
    }
    json::decode(&checked(response)?, "a SmartRecruiters audit events page")
}

fn set_activation(
    settings: &Settings,
    account_id: &str,
    active: bool,
) -> Result<(), ConnectorError> {
    if account_id.is_empty() {
        return Err(ConnectorError::NotFound("empty account id".into()));
    }
    let url = format!(
        "{}{USERS}/{}/activation",
        settings.base_url,
        encode_component(account_id)
    );
    let method = if active { Method::Put } else { Method::Delete };
    let response = Request::new(method, url).send()?;
    match response.status {
        200..=299 => Ok(()),
        // The vendor does not document what a repeated call returns; if it
        // refuses, the account is checked, and already being in the wanted
        // state is a success.
        400 | 409 | 422 => {
            let user = get(&format!(
                "{}{USERS}/{}",
                settings.base_url,
                encode_component(account_id)
            ))?;
            let user: User = json::decode(&user, "a SmartRecruiters user")?;
            if user.active == active {
                Ok(())
            } else {
                checked(response).map(|_| ())
            }
        }
        _ => checked(response).map(|_| ()),
    }
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
        attributes.push(("role".into(), role.clone()));
    }
    let optional = [
        ("sso-identifier", user.sso_identifier),
        ("sso-login-mode", user.sso_login_mode),
        ("updated-on", user.updated_on),
        ("external-data", user.external_data),
    ];
    attributes.extend(
        optional
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v))),
    );
    if !user.access_groups.is_empty() {
        let groups: Vec<String> = user.access_groups.into_iter().map(|g| g.id).collect();
        attributes.push(("access-groups".into(), groups.join(",")));
    }
    if role.as_deref() == Some("ADMINISTRATOR") {
        attributes.push(("admin".into(), "true".into()));
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

impl seatwarden_sdk::About for SmartRecruiters {
    fn links() -> Vec<(String, String)> {
        vec![
            (
                "Users API reference".into(),
                "https://developers.smartrecruiters.com/reference/users".into(),
            ),
            (
                "Audit API (activity)".into(),
                "https://developers.smartrecruiters.com/reference/auditget-1".into(),
            ),
            (
                "Creating an API key".into(),
                "https://developers.smartrecruiters.com/docs/authentication-api-key".into(),
            ),
        ]
    }
}

/// SmartRecruiters publishes 10 requests per second per API credential, and
/// reports a user's system role id as the subscription: the built-in roles
/// are below (custom roles need a tenant's mapping). See the vendor
/// reference, §1.3 and §1.5.
impl seatwarden_sdk::Vendor for SmartRecruiters {
    fn rate_limit() -> Option<seatwarden_sdk::RequestRate> {
        Some(seatwarden_sdk::RequestRate {
            requests: 10,
            per_seconds: 1,
        })
    }

    fn subscription_models() -> Vec<seatwarden_sdk::SubscriptionModel> {
        [
            ("EMPLOYEE", "Employee"),
            ("RESTRICTED", "Restricted"),
            ("STANDARD", "Standard"),
            ("EXTENDED", "Extended"),
            ("ADMINISTRATOR", "Administrator"),
        ]
        .into_iter()
        .map(|(identifier, edition)| seatwarden_sdk::SubscriptionModel {
            identifier: identifier.into(),
            publisher: "SmartRecruiters".into(),
            product: "SmartRecruiters".into(),
            edition: edition.into(),
        })
        .collect()
    }
}

seatwarden_sdk::export_connector!(SmartRecruiters, About, Vendor);
