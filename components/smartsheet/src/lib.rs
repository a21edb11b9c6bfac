//! The Smartsheet connector (API 2.0).
//!
//! Users come from `GET /users?include=lastLogin&pageSize=100&page=N` (page
//! size stays at 100: above it Smartsheet drops `lastLogin`), activity from
//! the Event Reporting stream (`GET /events`, then `streamPosition` while
//! `moreAvailable`), writes from `POST /users/{id}/deactivate|reactivate`.
//! Ids are 64-bit and never pass through a float. The host authenticates
//! with `Authorization: Bearer`; this code never sees the token. See
//! `shared/vendors/vendor-apis.md` §2 and the official OpenAPI file.

use seatwarden_sdk::http::{Method, Request, Response, encode_component, excerpt};
use seatwarden_sdk::{
    Account, AccountPage, Activity, ActivityPage, AuthScheme, Capabilities, ConnectorError,
    Descriptor, Guest, Settings, Timestamp, Validated, json, time,
};
use serde::Deserialize;

/// Above 100 users per page Smartsheet omits `lastLogin`.
const PAGE_SIZE: u32 = 100;
/// Events per stream page (the API allows 1 to 10,000).
const EVENTS_PER_PAGE: u32 = 1000;
/// Smartsheet asks clients to wait at least 60 s after a rate-limit error.
const RATE_LIMIT_WAIT_MS: u32 = 60_000;

/// User ids of Smartsheet's own automation; their events are not people's.
const SYSTEM_USERS: [&str; 5] = [
    "3940654876256132",
    "6192454689941380",
    "5629504736520068",
    "7881304550205316",
    "3377704922834820",
];

/// A JSON id that may be a number (int64, beyond f64's exact range) or a
/// string, read straight into its decimal text without buffering.
struct Id(String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer or a string id")
            }
            fn visit_u64<E>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Id {
    fn into_string(self) -> String {
        self.0
    }
}

/// A date: ISO-8601 text, or epoch milliseconds with `numericDates`;
/// `None` inside when the text is not a date.
struct When(Option<i64>);

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = When;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a date-time string or epoch milliseconds")
            }
            fn visit_u64<E>(self, v: u64) -> Result<When, E> {
                Ok(When(i64::try_from(v).ok()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<When, E> {
                Ok(When(Some(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<When, E> {
                Ok(When(time::parse_millis(v)))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl When {
    fn millis(&self) -> Option<i64> {
        self.0
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsersPage {
    page_number: Option<u64>,
    page_size: Option<u64>,
    total_pages: Option<u64>,
    total_count: Option<u64>,
    #[serde(default)]
    data: Vec<User>,
}

impl UsersPage {
    /// Checks the page against what Smartsheet says of the whole listing:
    /// the page asked for, full unless last, and on the last page exactly
    /// the users `totalCount` leaves for it. Every page but the last holds
    /// `pageSize` users, so the count is checked without remembering the
    /// pages before. A listing that would repeat a page or fall short fails
    /// here, naming what Smartsheet claimed and what arrived.
    fn check(&self, asked: u64) -> Result<(), ConnectorError> {
        let claim = |what: String| {
            ConnectorError::InvalidResponse(format!(
                "Smartsheet's users listing does not add up: {what} (totalPages {}, totalCount {}, pageSize {})",
                shown(self.total_pages),
                shown(self.total_count),
                shown(self.page_size)
            ))
        };
        if let Some(answered) = self.page_number
            && answered != asked
        {
            return Err(claim(format!(
                "asked for page {asked}, it answered page {answered}"
            )));
        }
        let (Some(total_pages), Some(size)) = (self.total_pages, self.page_size) else {
            return Ok(());
        };
        let received = self.data.len() as u64;
        if received > size {
            return Err(claim(format!("page {asked} holds {received} users")));
        }
        if asked < total_pages && received < size {
            return Err(claim(format!(
                "page {asked} of {total_pages} holds {received} users, not a full page"
            )));
        }
        if asked == total_pages
            && let Some(total) = self.total_count
        {
            let expected = total.saturating_sub((total_pages - 1).saturating_mul(size));
            if received != expected {
                return Err(claim(format!(
                    "the last page, {asked}, holds {received} users where {expected} were due"
                )));
            }
        }
        Ok(())
    }
}

fn shown(value: Option<u64>) -> String {
    value.map_or_else(|| "absent".into(), |v| v.to_string())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: Id,
    email: Option<String>,
    name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    status: Option<String>,
    #[serde(default)]
    admin: bool,
    #[serde(default)]
    group_admin: bool,
    #[serde(default)]
    licensed_sheet_creator: bool,
    seat_type: Option<String>,
    last_login: Option<When>,
    is_internal: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventsPage {
    next_stream_position: Option<String>,
    #[serde(default)]
    more_available: bool,
    #[serde(default)]
    data: Vec<Event>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    object_type: Option<String>,
    action: Option<String>,
    user_id: Option<Id>,
    event_timestamp: Option<When>,
    #[serde(rename = "eventTimeStamp")]
    event_time_stamp: Option<When>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    error_code: Option<i64>,
    message: Option<String>,
    ref_id: Option<String>,
}

struct Smartsheet;

impl Guest for Smartsheet {
    fn describe() -> Descriptor {
        Descriptor {
            name: "smartsheet".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "Smartsheet".into(),
            summary: "API 2.0: users with last login, Event Reporting activity, deactivation and reactivation".into(),
            capabilities: Capabilities::ACTIVITY | Capabilities::DEACTIVATE | Capabilities::REACTIVATE,
            auth: AuthScheme::BearerToken,
            default_hosts: vec![
                "https://api.smartsheet.com".into(),
                "https://api.smartsheet.eu".into(),
                "https://api.smartsheetgov.com".into(),
                "https://api.smartsheet.au".into(),
            ],
            default_base_url: "https://api.smartsheet.com/2.0".into(),
            regions: vec![
                ("us".into(), "https://api.smartsheet.com/2.0".into()),
                ("eu".into(), "https://api.smartsheet.eu/2.0".into()),
                ("gov".into(), "https://api.smartsheetgov.com/2.0".into()),
                ("au".into(), "https://api.smartsheet.au/2.0".into()),
            ],
            options: vec![],
        }
    }

    fn validate(settings: Settings) -> Result<Validated, ConnectorError> {
        let page = get(&format!(
            "{}/users?include=lastLogin&pageSize=1&page=1",
            settings.base_url
        ))?;
        json::decode::<UsersPage>(&page, "a Smartsheet users page")?;
        seatwarden_sdk::activity_optional(events_page(&settings, 0, None, 1))?;
        seatwarden_sdk::credential_account(token_owner(&settings))
    }

    fn list_users(
        settings: Settings,
        cursor: Option<String>,
    ) -> Result<AccountPage, ConnectorError> {
        let page_number: u64 = match cursor.as_deref() {
            None => 1,
            Some(c) => c.parse().map_err(|_| {
                ConnectorError::Config(format!("cursor {c:?} is not a Smartsheet page number"))
            })?,
        };
        let url = format!(
            "{}/users?include=lastLogin&pageSize={PAGE_SIZE}&page={page_number}",
            settings.base_url
        );
        let page: UsersPage = json::decode(&get(&url)?, "a Smartsheet users page")?;
        page.check(page_number)?;
        let current = page_number;
        let more = page.total_pages.is_some_and(|total| current < total) && !page.data.is_empty();
        Ok(AccountPage {
            accounts: page.data.into_iter().map(to_account).collect(),
            next_cursor: more.then(|| (current + 1).to_string()),
        })
    }

    fn get_activity(
        settings: Settings,
        since: Timestamp,
        cursor: Option<String>,
    ) -> Result<ActivityPage, ConnectorError> {
        let page = events_page(&settings, since, cursor.as_deref(), EVENTS_PER_PAGE)?;
        let next_cursor = page.next_stream_position.filter(|position| {
            page.more_available
                && !position.is_empty()
                && Some(position.as_str()) != cursor.as_deref()
        });
        let mut events = Vec::with_capacity(page.data.len());
        for event in page.data {
            let Some(user) = event.user_id.map(Id::into_string) else {
                continue;
            };
            if SYSTEM_USERS.contains(&user.as_str()) {
                continue;
            }
            let Some(at) = event
                .event_timestamp
                .or(event.event_time_stamp)
                .and_then(|w| w.millis())
            else {
                return Err(ConnectorError::InvalidResponse(
                    "a Smartsheet event has no readable eventTimestamp".into(),
                ));
            };
            let kind = format!(
                "{}/{}",
                event.object_type.as_deref().unwrap_or("?"),
                event.action.as_deref().unwrap_or("?")
            );
            events.push(Activity {
                account_id: user,
                at,
                kind,
            });
        }
        Ok(ActivityPage {
            events,
            next_cursor,
        })
    }

    fn deactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        change(&settings, &account_id, "deactivate", "DEACTIVATED")
    }

    fn reactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        change(&settings, &account_id, "reactivate", "ACTIVE")
    }
}

/// The id of the user the access token belongs to: `GET /users/me`.
fn token_owner(settings: &Settings) -> Result<String, ConnectorError> {
    #[derive(Deserialize)]
    struct Me {
        id: Id,
    }
    let me: Me = json::decode(
        &get(&format!("{}/users/me", settings.base_url))?,
        "a Smartsheet user profile",
    )?;
    Ok(me.id.0)
}

fn get(url: &str) -> Result<Response, ConnectorError> {
    checked(
        Request::new(Method::Get, url)
            .header("accept", "application/json")
            .send()?,
    )
}

/// Maps Smartsheet's status codes and `{errorCode, message, refId}` bodies.
fn checked(response: Response) -> Result<Response, ConnectorError> {
    if (200..300).contains(&response.status) {
        return Ok(response);
    }
    let body: Option<ErrorBody> = serde_json::from_slice(&response.body).ok();
    let code = body.as_ref().and_then(|b| b.error_code);
    let text = match &body {
        Some(ErrorBody {
            error_code,
            message,
            ref_id,
        }) => format!(
            "Smartsheet error {} (HTTP {}): {} [refId {}]",
            error_code.map_or("?".to_string(), |c| c.to_string()),
            response.status,
            message.as_deref().unwrap_or("no message"),
            ref_id.as_deref().unwrap_or("-")
        ),
        None => format!("HTTP {}: {}", response.status, excerpt(&response.body)),
    };
    Err(match (response.status, code) {
        (429, _) | (_, Some(4003)) => ConnectorError::RateLimited(Some(RATE_LIMIT_WAIT_MS)),
        (_, Some(1359)) => ConnectorError::Unsupported(format!(
            "{text}. Smartsheet cannot deactivate accounts with a common ISP e-mail domain; remove the user from the organization instead"
        )),
        (401, _) => ConnectorError::Unauthorized(text),
        (403, _) => ConnectorError::Forbidden(text),
        (404, _) => ConnectorError::NotFound(text),
        (500..=599, _) => ConnectorError::Unavailable(text),
        _ => ConnectorError::InvalidResponse(text),
    })
}

fn events_page(
    settings: &Settings,
    since: Timestamp,
    cursor: Option<&str>,
    max: u32,
) -> Result<EventsPage, ConnectorError> {
    let url = match cursor {
        Some(position) => format!(
            "{}/events?streamPosition={}&maxCount={max}",
            settings.base_url,
            encode_component(position)
        ),
        None => format!(
            "{}/events?since={}&maxCount={max}",
            settings.base_url,
            encode_component(&time::format_millis(since))
        ),
    };
    let response = Request::new(Method::Get, url)
        .header("accept", "application/json")
        .send()?;
    if response.status == 403 {
        return Err(ConnectorError::Unsupported(format!(
            "Smartsheet answered 403 to GET /events: the Event Reporting premium add-on (and a System Admin token with \
             READ_EVENTS) is needed for activity; the profile keeps working on lastLogin alone ({})",
            excerpt(&response.body)
        )));
    }
    json::decode(&checked(response)?, "a Smartsheet events page")
}

/// Deactivates or reactivates; a refused call on an account already in the
/// wanted state is a success, so both are idempotent.
fn change(
    settings: &Settings,
    account_id: &str,
    action: &str,
    wanted: &str,
) -> Result<(), ConnectorError> {
    if account_id.is_empty() || !account_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(ConnectorError::NotFound(format!(
            "{account_id:?} is not a Smartsheet user id"
        )));
    }
    let url = format!("{}/users/{account_id}/{action}", settings.base_url);
    let response = Request::new(Method::Post, url).send()?;
    if (200..300).contains(&response.status) {
        return Ok(());
    }
    if response.status == 400 {
        let user = get(&format!("{}/users/{account_id}", settings.base_url))?;
        let user: User = json::decode(&user, "a Smartsheet user")?;
        if user.status.as_deref() == Some(wanted) {
            return Ok(());
        }
        if action == "reactivate" {
            let refused = checked(response)
                .err()
                .map(|e| format!("{e:?}"))
                .unwrap_or_default();
            return Err(ConnectorError::Unsupported(format!(
                "Smartsheet refused to reactivate user {account_id}: reactivation works only within 30 days of deactivation. {refused}"
            )));
        }
    }
    checked(response).map(|_| ())
}

fn to_account(user: User) -> Account {
    let id = user.id.into_string();
    let name = user.name.filter(|n| !n.is_empty()).or_else(|| {
        let joined = [user.first_name.as_deref(), user.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!joined.is_empty()).then_some(joined)
    });
    let status = user.status.unwrap_or_else(|| "ACTIVE".into());
    let seat = match (&user.seat_type, user.licensed_sheet_creator) {
        (Some(seat), _) => seat.clone(),
        (None, true) => "LICENSED_SHEET_CREATOR".into(),
        (None, false) => "FREE_COLLABORATOR".into(),
    };
    let mut attributes = vec![
        ("status".into(), status.clone()),
        ("seat-type".into(), seat.clone()),
        ("admin".into(), user.admin.to_string()),
        ("group-admin".into(), user.group_admin.to_string()),
        (
            "licensed-sheet-creator".into(),
            user.licensed_sheet_creator.to_string(),
        ),
    ];
    if let Some(internal) = user.is_internal {
        attributes.push(("internal".into(), internal.to_string()));
    }
    Account {
        principal: user.email.unwrap_or_else(|| id.clone()),
        id,
        display_name: name,
        active: matches!(status.as_str(), "ACTIVE" | "PENDING"),
        subscriptions: vec![seat],
        created_at: None,
        last_active_at: user.last_login.and_then(|w| w.millis()),
        attributes,
    }
}

impl seatwarden_sdk::About for Smartsheet {
    fn links() -> Vec<(String, String)> {
        vec![
            (
                "List users".into(),
                "https://developers.smartsheet.com/api/smartsheet/openapi/users/list-users".into(),
            ),
            (
                "Event Reporting".into(),
                "https://smartsheet-platform.github.io/event-reporting-docs/".into(),
            ),
            (
                "Seat types".into(),
                "https://help.smartsheet.com/articles/2483479-seat-types-user-subscription-model"
                    .into(),
            ),
        ]
    }
}

/// Smartsheet publishes 300 requests per minute per access token, and the
/// subscription is the User Subscription Model's seat type or, on legacy
/// plans, the licensed/free flag (see `seat` above). See the vendor
/// reference, §2.3 and §2.7.
impl seatwarden_sdk::Vendor for Smartsheet {
    fn rate_limit() -> Option<seatwarden_sdk::RequestRate> {
        Some(seatwarden_sdk::RequestRate {
            requests: 300,
            per_seconds: 60,
        })
    }

    fn subscription_models() -> Vec<seatwarden_sdk::SubscriptionModel> {
        [
            ("MEMBER", "Member"),
            ("PROVISIONAL_MEMBER", "Provisional Member"),
            ("GUEST", "Guest"),
            ("VIEWER", "Viewer"),
            ("CONTRIBUTOR", "Contributor"),
            ("LICENSED_SHEET_CREATOR", "Licensed User (legacy plan)"),
            ("FREE_COLLABORATOR", "Free Collaborator (legacy plan)"),
        ]
        .into_iter()
        .map(|(identifier, edition)| seatwarden_sdk::SubscriptionModel {
            identifier: identifier.into(),
            publisher: "Smartsheet".into(),
            product: "Smartsheet".into(),
            edition: edition.into(),
        })
        .collect()
    }
}

seatwarden_sdk::export_connector!(Smartsheet, About, Vendor);
