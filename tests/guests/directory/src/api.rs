//! The Example Directory API as the fixture connectors read it: its JSON
//! shapes, their mapping onto the contract, and the write request.
//!
//! `fixture-directory` and `fixture-sloppy` are separate components, but the
//! flawed one must differ from the careful one only in its flaws, so both
//! compile this one file (`sloppy` includes it by path).

use seatwarden_sdk::http::{Method, Request, error_for_status, excerpt};
use seatwarden_sdk::{Account, AccountPage, Activity, ActivityPage, ConnectorError, Settings};
use serde::Deserialize;
use serde::de::DeserializeOwned;

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsersPage {
    pub users: Vec<User>,
    next_page: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    id: String,
    email: String,
    name: Option<String>,
    active: bool,
    role: String,
    last_login: Option<i64>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsPage {
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

/// A 2xx body decoded, or `invalid-response` quoting it.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ConnectorError> {
    serde_json::from_slice(body)
        .map_err(|err| ConnectorError::InvalidResponse(format!("{err}: {}", excerpt(body))))
}

impl UsersPage {
    pub fn into_page(self) -> AccountPage {
        AccountPage {
            accounts: self.users.into_iter().map(User::into_account).collect(),
            next_cursor: self.next_page.map(|n| n.to_string()),
        }
    }
}

impl User {
    pub fn into_account(self) -> Account {
        Account {
            id: self.id,
            principal: self.email,
            display_name: self.name,
            active: self.active,
            subscriptions: vec![self.role.clone()],
            created_at: None,
            last_active_at: self.last_login,
            attributes: vec![("role".into(), self.role)],
        }
    }
}

impl EventsPage {
    pub fn into_page(self) -> ActivityPage {
        ActivityPage {
            events: self
                .events
                .into_iter()
                .map(|e| Activity {
                    account_id: e.user_id,
                    at: e.at,
                    kind: e.r#type,
                })
                .collect(),
            next_cursor: self.next_page.map(|n| n.to_string()),
        }
    }
}

/// `POST {base}/users/{id}/{action}`; ids outside the vendor's alphabet are
/// `not-found` without a request.
pub fn post(settings: &Settings, account_id: &str, action: &str) -> Result<(), ConnectorError> {
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
