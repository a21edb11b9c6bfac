//! The Okta connector (Management API): one Okta app as a source of seats.
//!
//! A connection names one app instance (option `app-id`, `0oa…`). Its
//! accounts are the people assigned to that app, from
//! `GET /api/v1/apps/{appId}/users?expand=user` (paged by the `next` Link
//! header); each says whether the assignment is direct (`scope` `USER`) or
//! through a group (`GROUP`, with the group Okta names in `_links.group`).
//! Activity is the app's successful single sign-ons from the System Log
//! (`GET /api/v1/logs`, `user.authentication.sso` with the app as target),
//! which Okta keeps for 90 days. Reclaiming removes a direct assignment
//! (`DELETE /api/v1/apps/{appId}/users/{userId}`) after re-reading it; a
//! group assignment is never removed here, because a group can grant
//! several apps: the account carries `granted-by-group` and the host tells
//! an administrator which group to remove the person from.
//!
//! The host authenticates with `Authorization: SSWS <token>` (contract
//! 0.2.3's `auth` interface); this code never sees the token. See
//! `shared/vendors/idp-apis.md` §1 and the official OpenAPI subset beside it.

use seatwarden_sdk::http::{Method, Request, Response, Url, encode_component, excerpt};
use seatwarden_sdk::{
    Account, AccountPage, Activity, ActivityPage, AuthScheme, Capabilities, ConnectorError,
    Descriptor, Guest, NamedScheme, OptionSpec, PrefixedToken, Scheme, Settings, Timestamp,
    Validated, json, log, time,
};
use serde::Deserialize;

/// App users per page (`limit`: Okta allows 1 to 500).
const USERS_PER_PAGE: u32 = 500;
/// System Log events per page (`limit`: 0 to 1000).
const EVENTS_PER_PAGE: u32 = 1000;
/// How long Okta keeps System Log events.
const LOG_RETENTION_DAYS: i64 = 90;
/// The wait asked for when Okta's 429 carries no usable reset time.
const DEFAULT_RATE_LIMIT_WAIT_MS: u32 = 60_000;
/// The longest wait a reset time may ask for (Okta's windows are a minute).
const MAX_RATE_LIMIT_WAIT_MS: i64 = 5 * 60_000;

/// The option naming the app.
const APP_ID: &str = "app-id";
/// The option choosing which identifier is the account's principal.
const PRINCIPAL: &str = "principal";
/// The option naming the subscription every assignment consumes.
const SUBSCRIPTION: &str = "subscription";
/// The subscription reported when the connection names none.
const DEFAULT_SUBSCRIPTION: &str = "app-assignment";

/// `GET /api/v1/apps/{appId}/users` element (`AppUser`).
#[derive(Deserialize)]
struct AppUser {
    id: String,
    scope: Option<String>,
    status: Option<String>,
    created: Option<String>,
    credentials: Option<AppUserCredentials>,
    #[serde(rename = "_embedded")]
    embedded: Option<Embedded>,
    #[serde(rename = "_links")]
    links: Option<AppUserLinks>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppUserCredentials {
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
    profile: Option<UserProfile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserProfile {
    login: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct AppUserLinks {
    group: Option<Link>,
}

#[derive(Deserialize)]
struct Link {
    href: Option<String>,
    name: Option<String>,
}

/// `GET /api/v1/apps` element, as far as validation reads it.
#[derive(Deserialize)]
struct App {
    id: String,
    label: Option<String>,
    status: Option<String>,
}

/// `GET /api/v1/logs` element (`LogEvent`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogEvent {
    published: Option<String>,
    event_type: Option<String>,
    actor: Option<LogActor>,
    outcome: Option<LogOutcome>,
}

#[derive(Deserialize)]
struct LogActor {
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct LogOutcome {
    result: Option<String>,
}

/// Okta's error body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    error_code: Option<String>,
    error_summary: Option<String>,
    error_id: Option<String>,
}

/// `GET /api/v1/users/me`.
#[derive(Deserialize)]
struct Me {
    id: String,
}

struct Okta;

impl Guest for Okta {
    fn describe() -> Descriptor {
        Descriptor {
            name: "okta".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "Okta".into(),
            summary: "Management API: one app's assigned users (direct or by group), its SSO sign-ins from the System Log, removal of direct assignments".into(),
            capabilities: Capabilities::ACTIVITY | Capabilities::DEACTIVATE,
            // What a host older than contract 0.2.3 falls back to: the
            // operator sets `api-key:authorization` and a secret that
            // starts with `SSWS `. Newer hosts use `schemes` below.
            auth: AuthScheme::OperatorChoice,
            default_hosts: vec![
                "https://*.okta.com".into(),
                "https://*.oktapreview.com".into(),
                "https://*.okta-emea.com".into(),
            ],
            default_base_url: String::new(),
            regions: vec![],
            options: vec![
                OptionSpec {
                    name: APP_ID.into(),
                    description: "The Okta app instance whose assignments are the seats, e.g. 0oa1gjh63g214q0Hq0g4 (Applications > the app > its URL)".into(),
                    required: true,
                },
                OptionSpec {
                    name: PRINCIPAL.into(),
                    description: "Which identifier names the person: app-username (default: the user name the app receives), login or email".into(),
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
        let app_id = app_id(&settings)?;
        // The app exists (and is active): `okta.apps.read`.
        let apps: Vec<App> = json::decode(
            &get(
                &format!(
                    "{}/api/v1/apps?filter={}&limit=1",
                    settings.base_url,
                    encode_component(&format!("id eq \"{app_id}\""))
                ),
                "okta.apps.read",
            )?,
            "an Okta apps list",
        )?;
        let Some(app) = apps.into_iter().find(|a| a.id == app_id) else {
            return Err(ConnectorError::NotFound(format!(
                "Okta has no app {app_id:?}: check the connection's app-id option against Applications in the Okta admin console (the id starts with 0oa)"
            )));
        };
        if app.status.as_deref() != Some("ACTIVE") {
            log::warn(&format!(
                "the Okta app {app_id} ({}) is {}: nobody can sign in to it through Okta",
                app.label.as_deref().unwrap_or("no label"),
                app.status.as_deref().unwrap_or("of unknown status")
            ));
        }
        // Its assignments, with the embedded users: `okta.apps.read` and
        // `okta.users.read`.
        let users = get(
            &format!(
                "{}/api/v1/apps/{}/users?limit=1&expand=user",
                settings.base_url,
                encode_component(app_id)
            ),
            "okta.apps.read",
        )?;
        json::decode::<Vec<AppUser>>(&users, "an Okta app users list")?;
        // Its sign-ins: `okta.logs.read`. Without it there is no activity,
        // and reclaiming on assignments alone would be guessing: fail.
        let logs = get(
            &format!(
                "{}/api/v1/logs?limit=1&filter={}",
                settings.base_url,
                encode_component(&sso_filter(app_id))
            ),
            "okta.logs.read",
        )?;
        json::decode::<Vec<serde_json::Value>>(&logs, "an Okta System Log page")?;
        seatwarden_sdk::credential_account(token_owner(&settings))
    }

    fn list_users(
        settings: Settings,
        cursor: Option<String>,
    ) -> Result<AccountPage, ConnectorError> {
        let app_id = app_id(&settings)?;
        let url = match cursor {
            None => format!(
                "{}/api/v1/apps/{}/users?limit={USERS_PER_PAGE}&expand=user",
                settings.base_url,
                encode_component(app_id)
            ),
            Some(next) => same_origin(&settings, next)?,
        };
        let response = get(&url, "okta.apps.read")?;
        let users: Vec<AppUser> = json::decode(&response, "an Okta app users list")?;
        let next_cursor = next_link(&response).filter(|next| *next != url);
        let principal = principal_choice(&settings)?;
        let subscription = seatwarden_sdk::option(&settings, SUBSCRIPTION)
            .unwrap_or(DEFAULT_SUBSCRIPTION)
            .to_string();
        Ok(AccountPage {
            accounts: users
                .into_iter()
                .map(|user| to_account(user, principal, &subscription))
                .collect(),
            next_cursor,
        })
    }

    fn get_activity(
        settings: Settings,
        since: Timestamp,
        cursor: Option<String>,
    ) -> Result<ActivityPage, ConnectorError> {
        let app_id = app_id(&settings)?;
        let (url, response) = match cursor {
            Some(next) => {
                let url = same_origin(&settings, next)?;
                let response = get(&url, "okta.logs.read")?;
                (url, response)
            }
            None => first_log_page(&settings, app_id, since)?,
        };
        let events: Vec<LogEvent> = json::decode(&response, "an Okta System Log page")?;
        // A polling query (no `until`) always has a `next` link, even after
        // an empty page: the stream is drained when a page comes back empty.
        let next_cursor = if events.is_empty() {
            None
        } else {
            next_link(&response).filter(|next| *next != url)
        };
        let mut activity = Vec::with_capacity(events.len());
        for event in events {
            // The filter asked for these; a vendor that sends others anyway
            // is not trusted with them.
            if event.event_type.as_deref() != Some("user.authentication.sso")
                || event.outcome.as_ref().and_then(|o| o.result.as_deref()) != Some("SUCCESS")
            {
                continue;
            }
            let Some(actor) = event.actor.filter(|a| a.kind.as_deref() == Some("User")) else {
                continue;
            };
            let Some(account_id) = actor.id else {
                continue;
            };
            let Some(at) = event.published.as_deref().and_then(time::parse_millis) else {
                return Err(ConnectorError::InvalidResponse(format!(
                    "an Okta System Log event for user {account_id} has no readable published time"
                )));
            };
            activity.push(Activity {
                account_id,
                at,
                kind: "user.authentication.sso".into(),
            });
        }
        Ok(ActivityPage {
            events: activity,
            next_cursor,
        })
    }

    fn deactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        let app_id = app_id(&settings)?;
        if !plain_id(&account_id) {
            return Err(ConnectorError::NotFound(format!(
                "{account_id:?} is not an Okta user id"
            )));
        }
        let url = format!(
            "{}/api/v1/apps/{}/users/{account_id}",
            settings.base_url,
            encode_component(app_id)
        );
        // Re-read the assignment just before removing it: only a direct one
        // may go, and one already gone is done.
        let current = Request::new(Method::Get, &url)
            .header("accept", "application/json")
            .send()?;
        if current.status == 404 {
            return Ok(());
        }
        let user: AppUser = json::decode(&checked(current, "okta.apps.read")?, "an Okta app user")?;
        if user.scope.as_deref() == Some("GROUP") {
            return Err(ConnectorError::Unsupported(format!(
                "Okta user {account_id} has the app through {}; Seatwarden never removes a group assignment (a group can grant several apps): remove the person from that group in Okta",
                group_name(&user)
            )));
        }
        let response = Request::new(Method::Delete, &url).send()?;
        match response.status {
            200..=299 | 404 => Ok(()),
            403 if error_code(&response).as_deref() == Some("E0000046") => {
                Err(ConnectorError::Unsupported(format!(
                    "Okta refused to remove user {account_id}'s direct assignment because a group also grants the app (E0000046): remove the person from that group in Okta"
                )))
            }
            _ => checked(response, "okta.apps.manage").map(|_| ()),
        }
    }

    fn reactivate_user(_settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        Err(ConnectorError::Unsupported(format!(
            "re-assigning the app to Okta user {account_id} is not implemented: assign it again in the Okta admin console"
        )))
    }
}

/// Which identifier an account's principal is.
#[derive(Clone, Copy)]
enum PrincipalChoice {
    AppUserName,
    Login,
    Email,
}

fn principal_choice(settings: &Settings) -> Result<PrincipalChoice, ConnectorError> {
    match seatwarden_sdk::option(settings, PRINCIPAL) {
        None | Some("app-username") => Ok(PrincipalChoice::AppUserName),
        Some("login") => Ok(PrincipalChoice::Login),
        Some("email") => Ok(PrincipalChoice::Email),
        Some(other) => Err(ConnectorError::Config(format!(
            "option principal = {other:?} is not one of app-username, login, email"
        ))),
    }
}

fn app_id(settings: &Settings) -> Result<&str, ConnectorError> {
    match seatwarden_sdk::option(settings, APP_ID) {
        Some(id) if plain_id(id) => Ok(id),
        Some(id) => Err(ConnectorError::Config(format!(
            "option app-id = {id:?} is not an Okta app id (letters and digits, e.g. 0oa1gjh63g214q0Hq0g4)"
        ))),
        None => Err(ConnectorError::Config(
            "the connection needs option app-id: the Okta app whose assignments are the seats"
                .into(),
        )),
    }
}

/// Okta ids are short runs of letters and digits; anything else never
/// reaches a URL path.
fn plain_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric())
}

fn sso_filter(app_id: &str) -> String {
    format!(
        "eventType eq \"user.authentication.sso\" and target.id eq \"{app_id}\" and outcome.result eq \"SUCCESS\""
    )
}

/// The first System Log page at or after `since`, as a polling query
/// (oldest first, no `until`). Okta keeps 90 days: a `since` further back
/// is moved to the start of what Okta keeps, by Okta's own clock (its
/// `Date` header), and said in the log, so the operator knows the sign-ins
/// before it were not seen rather than absent.
fn first_log_page(
    settings: &Settings,
    app_id: &str,
    since: Timestamp,
) -> Result<(String, Response), ConnectorError> {
    let url_from = |from: Timestamp| {
        format!(
            "{}/api/v1/logs?since={}&sortOrder=ASCENDING&limit={EVENTS_PER_PAGE}&filter={}",
            settings.base_url,
            encode_component(&time::format_millis(from)),
            encode_component(&sso_filter(app_id))
        )
    };
    let url = url_from(since);
    let response = Request::new(Method::Get, &url)
        .header("accept", "application/json")
        .send()?;
    let kept_from = time::log_kept_from(&response, LOG_RETENTION_DAYS);
    match kept_from {
        Some(kept_from) if since < kept_from => {
            log::warn(&format!(
                "Okta keeps sign-ins for {LOG_RETENTION_DAYS} days: activity asked from {} is read from {}; sign-ins before that cannot be seen",
                time::format_millis(since),
                time::format_millis(kept_from)
            ));
            // Okta refuses a `since` more than 180 days back (400
            // E0000053); within that it answers with what it keeps.
            if response.status == 400 {
                let url = url_from(kept_from);
                let response = get(&url, "okta.logs.read")?;
                return Ok((url, response));
            }
            Ok((url, checked(response, "okta.logs.read")?))
        }
        _ => Ok((url, checked(response, "okta.logs.read")?)),
    }
}

/// Okta's clock, from the response's `Date` header.
fn okta_now(response: &Response) -> Option<i64> {
    response.header("date").and_then(time::parse_http_date)
}

/// The whole URL of the `next` Link header, if any (Okta may send several
/// `Link` headers, one per relation).
fn next_link(response: &Response) -> Option<String> {
    response
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("link"))
        .flat_map(|(_, value)| value.split(','))
        .find_map(|link| {
            let mut parts = link.split(';');
            let target = parts.next()?.trim();
            let is_next = parts.any(|p| {
                let p = p.trim();
                p == "rel=\"next\"" || p == "rel=next"
            });
            let url = target.strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| url.to_string())
        })
}

/// A `next` link (stored as the cursor) must stay on the connection's
/// origin: the host would refuse another destination anyway, but a link
/// elsewhere means the answer cannot be trusted, and says so.
fn same_origin(settings: &Settings, next: String) -> Result<String, ConnectorError> {
    let inside = match (Url::parse(&settings.base_url), Url::parse(&next)) {
        (Ok(base), Ok(link)) => {
            // The link names a path itself (not just `?query` on the origin).
            let scheme = if link.https { "https://" } else { "http://" };
            base.https == link.https
                && base.authority == link.authority
                && next[scheme.len() + link.authority.len()..].starts_with('/')
        }
        _ => false,
    };
    if inside {
        Ok(next)
    } else {
        Err(ConnectorError::InvalidResponse(format!(
            "Okta's next link {:?} does not point into the connection's base URL {}",
            excerpt(next.as_bytes()),
            settings.base_url
        )))
    }
}

/// The id of the admin whose API token this is: `GET /api/v1/users/me`.
fn token_owner(settings: &Settings) -> Result<String, ConnectorError> {
    let me: Me = json::decode(
        &get(
            &format!("{}/api/v1/users/me", settings.base_url),
            "okta.users.read",
        )?,
        "an Okta user",
    )?;
    Ok(me.id)
}

fn get(url: &str, scope: &str) -> Result<Response, ConnectorError> {
    checked(
        Request::new(Method::Get, url)
            .header("accept", "application/json")
            .send()?,
        scope,
    )
}

fn error_code(response: &Response) -> Option<String> {
    serde_json::from_slice::<ErrorBody>(&response.body)
        .ok()
        .and_then(|b| b.error_code)
}

/// Maps Okta's statuses and `{errorCode, errorSummary, errorId}` bodies.
/// `scope` is the OAuth scope the call needs, named when Okta refuses it.
fn checked(response: Response, scope: &str) -> Result<Response, ConnectorError> {
    if (200..300).contains(&response.status) {
        return Ok(response);
    }
    let body: Option<ErrorBody> = serde_json::from_slice(&response.body).ok();
    let text = match &body {
        Some(ErrorBody {
            error_code,
            error_summary,
            error_id,
        }) => format!(
            "Okta error {} (HTTP {}): {} [errorId {}]",
            error_code.as_deref().unwrap_or("?"),
            response.status,
            excerpt(error_summary.as_deref().unwrap_or("no summary").as_bytes()),
            excerpt(error_id.as_deref().unwrap_or("-").as_bytes())
        ),
        None => format!("HTTP {}: {}", response.status, excerpt(&response.body)),
    };
    Err(match response.status {
        429 => ConnectorError::RateLimited(Some(rate_limit_wait(&response))),
        401 => ConnectorError::Unauthorized(format!(
            "{text}. Check the API token (Security > API > Tokens); a token stops working when its admin is deactivated or it is unused for 30 days"
        )),
        403 => {
            let needed = missing_scope(&response).unwrap_or_else(|| scope.to_string());
            ConnectorError::Forbidden(format!(
                "{text}. The credential lacks the permission {needed}: grant that scope to the service app, or use an API token of an admin whose role can read it"
            ))
        }
        404 => ConnectorError::NotFound(text),
        500..=599 => ConnectorError::Unavailable(text),
        400 => ConnectorError::Config(text),
        _ => ConnectorError::InvalidResponse(text),
    })
}

/// The scope named in a 403's `WWW-Authenticate: Bearer
/// error="insufficient_scope", scope="okta.logs.read"`, if it names one.
fn missing_scope(response: &Response) -> Option<String> {
    let header = response.header("www-authenticate")?;
    let start = header.find("scope=\"")? + "scope=\"".len();
    let rest = &header[start..];
    let scope = &rest[..rest.find('"')?];
    (!scope.is_empty()
        && scope.len() <= 64
        && scope
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_'))
    .then(|| scope.to_string())
}

/// How long Okta asks to wait: a `Retry-After`, else until `X-Rate-Limit-Reset` (epoch seconds)
/// by Okta's own clock (`Date`), at least a second, at most five minutes.
fn rate_limit_wait(response: &Response) -> u32 {
    // Okta does not document `Retry-After`; a proxy in front of it may
    // send one, and it is the more direct answer.
    if let Some(ms) = seatwarden_sdk::http::retry_after_ms(response) {
        return ms;
    }
    let reset = response
        .header("x-rate-limit-reset")
        .and_then(|r| r.trim().parse::<i64>().ok());
    match (reset, okta_now(response)) {
        (Some(reset), Some(now)) => {
            (reset.saturating_mul(1000) - now).clamp(1000, MAX_RATE_LIMIT_WAIT_MS) as u32
        }
        _ => DEFAULT_RATE_LIMIT_WAIT_MS,
    }
}

/// The group an app user holds the app through, as Okta names it.
fn group_name(user: &AppUser) -> String {
    let link = user.links.as_ref().and_then(|l| l.group.as_ref());
    let name = link.and_then(|g| g.name.clone()).filter(|n| !n.is_empty());
    let id = link
        .and_then(|g| g.href.as_deref())
        .and_then(|href| href.rsplit('/').next())
        .filter(|id| plain_id(id))
        .map(str::to_string);
    match (name, id) {
        (Some(name), Some(id)) => format!("group {name} ({id})"),
        (Some(name), None) => format!("group {name}"),
        (None, Some(id)) => format!("group {id}"),
        (None, None) => "a group Okta does not name".into(),
    }
}

fn to_account(user: AppUser, principal: PrincipalChoice, subscription: &str) -> Account {
    let okta_user = user.embedded.as_ref().and_then(|e| e.user.as_ref());
    let profile = okta_user.and_then(|u| u.profile.as_ref());
    let login = profile.and_then(|p| p.login.clone());
    let email = profile.and_then(|p| p.email.clone());
    let app_user_name = user.credentials.as_ref().and_then(|c| c.user_name.clone());
    let chosen = match principal {
        PrincipalChoice::AppUserName => app_user_name.clone().or(login.clone()),
        PrincipalChoice::Login => login.clone(),
        PrincipalChoice::Email => email.clone(),
    };
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
    let person_status = okta_user.and_then(|u| u.status.clone());
    let holds_seat = !matches!(
        status.as_str(),
        "DEPROVISIONED" | "INACTIVE" | "REVOKED" | "SUSPENDED" | "UNASSIGNED"
    ) && !matches!(
        person_status.as_deref(),
        Some("DEPROVISIONED" | "SUSPENDED")
    );
    let by_group = user.scope.as_deref() == Some("GROUP");
    let mut attributes = vec![
        (
            "assignment".into(),
            if by_group { "group" } else { "direct" }.into(),
        ),
        ("app-user-status".into(), status),
    ];
    if by_group {
        attributes.push(("granted-by-group".into(), group_name(&user)));
    }
    if let Some(status) = person_status {
        attributes.push(("okta-status".into(), status));
    }
    for (name, value) in [
        ("login", login),
        ("email", email),
        ("app-username", app_user_name),
    ] {
        if let Some(value) = value {
            attributes.push((name.into(), value));
        }
    }
    // Okta's `lastLogin` is the last sign-in to Okta itself, not to this
    // app: kept as a fact, never as the account's activity.
    if let Some(last) = okta_user.and_then(|u| u.last_login.clone()) {
        attributes.push(("okta-last-login".into(), last));
    }
    Account {
        principal: chosen.unwrap_or_else(|| user.id.clone()),
        id: user.id,
        display_name,
        active: holds_seat,
        subscriptions: vec![subscription.to_string()],
        created_at: user.created.as_deref().and_then(time::parse_millis),
        last_active_at: None,
        attributes,
    }
}

impl seatwarden_sdk::About for Okta {
    fn links() -> Vec<(String, String)> {
        vec![
            (
                "List all assigned users of an app".into(),
                "https://developer.okta.com/docs/api/openapi/okta-management/management/tag/ApplicationUsers/".into(),
            ),
            (
                "System Log query".into(),
                "https://developer.okta.com/docs/reference/system-log-query/".into(),
            ),
            (
                "Create an API token".into(),
                "https://developer.okta.com/docs/guides/create-an-api-token/".into(),
            ),
        ]
    }
}

/// Okta no longer publishes per-endpoint limits; the last published
/// default for `/api/v1/apps*`, the bucket the listing uses, was 100
/// requests a minute (the System Log's 120). The host stays under it.
impl seatwarden_sdk::Vendor for Okta {
    fn rate_limit() -> Option<seatwarden_sdk::RequestRate> {
        Some(seatwarden_sdk::RequestRate {
            requests: 100,
            per_seconds: 60,
        })
    }

    fn subscription_models() -> Vec<seatwarden_sdk::SubscriptionModel> {
        Vec::new()
    }
}

/// Okta takes an API token as `Authorization: SSWS <token>`. (OAuth 2.0
/// service apps need `private_key_jwt` client authentication for Okta's
/// scopes, which the host does not do yet.)
impl seatwarden_sdk::Auth for Okta {
    fn schemes() -> Vec<NamedScheme> {
        vec![NamedScheme {
            name: "ssws".into(),
            scheme: Scheme::PrefixedToken(PrefixedToken {
                header: "authorization".into(),
                prefix: "SSWS".into(),
            }),
            description: "an Okta API token (Security > API > Tokens) of an admin who can read apps, users and the System Log".into(),
        }]
    }
}

/// Apps per page of `GET /api/v1/apps` (Okta's maximum).
const APPS_PER_PAGE: u32 = 200;

/// The org's apps, for the discovery table; the host counts each one's
/// assignments through `list-users` with `app-id` set to it.
impl seatwarden_sdk::IdentityProvider for Okta {
    fn app_option() -> String {
        APP_ID.into()
    }

    fn list_applications(
        settings: Settings,
        cursor: Option<String>,
    ) -> Result<seatwarden_sdk::ApplicationPage, ConnectorError> {
        let url = match cursor {
            None => format!("{}/api/v1/apps?limit={APPS_PER_PAGE}", settings.base_url),
            Some(next) => same_origin(&settings, next)?,
        };
        let response = get(&url, "okta.apps.read")?;
        let apps: Vec<App> = json::decode(&response, "an Okta apps list")?;
        let next_cursor = next_link(&response).filter(|next| *next != url);
        Ok(seatwarden_sdk::ApplicationPage {
            applications: apps
                .into_iter()
                .filter(|app| plain_id(&app.id))
                .map(|app| seatwarden_sdk::Application {
                    label: app.label.unwrap_or_else(|| app.id.clone()),
                    active: app.status.as_deref() == Some("ACTIVE"),
                    id: app.id,
                })
                .collect(),
            next_cursor,
        })
    }
}

seatwarden_sdk::export_connector!(Okta, About, Vendor, Auth, IdentityProvider);
