//! A well-behaved fixture connector for a tiny "Example Directory" API.
//!
//! It exists to prove the sandbox end to end: its requests carry no
//! credentials, the host injects `X-Directory-Key`, and the loopback server in
//! the tests rejects any request without it. The demo uses it too.
//!
//! API: `GET {base}/users?page=N` -> `{"users":[...], "nextPage": N|null}`,
//! `GET {base}/events?since=MS&page=N` -> `{"events":[...], "nextPage": N|null}`,
//! `POST {base}/users/{id}/deactivate` and `.../reactivate` -> 204. The
//! Python and JavaScript examples in `components/` implement the same API.

use seatwarden_sdk::http::{Method, Request, error_for_status, excerpt};
use seatwarden_sdk::{
    Account, AccountPage, Activity, ActivityPage, AuthScheme, Capabilities, ConnectorError,
    Descriptor, Guest, OptionSpec, Settings, Timestamp, Validated,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsersPage {
    users: Vec<User>,
    next_page: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    email: String,
    name: Option<String>,
    active: bool,
    role: String,
    last_login: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventsPage {
    events: Vec<Event>,
    next_page: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    user_id: String,
    at: i64,
    r#type: String,
}

struct Directory;

impl Guest for Directory {
    fn describe() -> Descriptor {
        Descriptor {
            name: "directory".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "Example Directory".into(),
            summary: "Test fixture: a minimal user directory API on loopback".into(),
            capabilities: Capabilities::ACTIVITY
                | Capabilities::DEACTIVATE
                | Capabilities::REACTIVATE,
            auth: AuthScheme::ApiKeyHeader("X-Directory-Key".into()),
            default_hosts: vec!["http://127.0.0.1".into()],
            default_base_url: "http://127.0.0.1".into(),
            regions: vec![],
            options: vec![OptionSpec {
                name: "page-size".into(),
                description: "Users per page, 1 to 100 (default 100).".into(),
                required: false,
            }],
        }
    }

    fn validate(settings: Settings) -> Result<Validated, ConnectorError> {
        Self::list_users(settings, None).map(|_| Validated {
            credential_account: None,
        })
    }

    fn list_users(
        settings: Settings,
        cursor: Option<String>,
    ) -> Result<AccountPage, ConnectorError> {
        let page = cursor.as_deref().unwrap_or("1");
        let size = seatwarden_sdk::option(&settings, "page-size").unwrap_or("100");
        let url = format!("{}/users?page={page}&pageSize={size}", settings.base_url);
        let response = error_for_status(Request::new(Method::Get, url).send()?)?;
        let parsed: UsersPage = serde_json::from_slice(&response.body).map_err(|err| {
            ConnectorError::InvalidResponse(format!("{err}: {}", excerpt(&response.body)))
        })?;
        Ok(AccountPage {
            accounts: parsed.users.into_iter().map(to_account).collect(),
            next_cursor: parsed.next_page.map(|n| n.to_string()),
        })
    }

    fn get_activity(
        settings: Settings,
        since: Timestamp,
        cursor: Option<String>,
    ) -> Result<ActivityPage, ConnectorError> {
        let page: u32 = match cursor.as_deref().map(str::parse) {
            None => 1,
            Some(Ok(page)) => page,
            Some(Err(_)) => return Err(ConnectorError::Config(format!("bad cursor {cursor:?}"))),
        };
        let url = format!("{}/events?since={since}&page={page}", settings.base_url);
        let response = error_for_status(Request::new(Method::Get, url).send()?)?;
        let parsed: EventsPage = serde_json::from_slice(&response.body).map_err(|err| {
            ConnectorError::InvalidResponse(format!("{err}: {}", excerpt(&response.body)))
        })?;
        Ok(ActivityPage {
            events: parsed
                .events
                .into_iter()
                .map(|e| Activity {
                    account_id: e.user_id,
                    at: e.at,
                    kind: e.r#type,
                })
                .collect(),
            next_cursor: parsed.next_page.map(|n| n.to_string()),
        })
    }

    fn deactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        post(&settings, &account_id, "deactivate")
    }

    fn reactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        post(&settings, &account_id, "reactivate")
    }
}

fn post(settings: &Settings, account_id: &str, action: &str) -> Result<(), ConnectorError> {
    if account_id.is_empty()
        || !account_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(ConnectorError::NotFound(format!(
            "no account {account_id:?}"
        )));
    }
    let url = format!("{}/users/{account_id}/{action}", settings.base_url);
    error_for_status(Request::new(Method::Post, url).send()?)?;
    Ok(())
}

fn to_account(user: User) -> Account {
    Account {
        id: user.id,
        principal: user.email,
        display_name: user.name,
        active: user.active,
        subscriptions: vec![user.role.clone()],
        created_at: None,
        last_active_at: user.last_login,
        attributes: vec![("role".into(), user.role)],
    }
}

seatwarden_sdk::export_connector!(Directory);
