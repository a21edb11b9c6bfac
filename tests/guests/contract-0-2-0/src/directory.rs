//! The directory connector's logic as the frozen-contract fixtures share
//! it: `contract-0-2-0` and `contract-0-2-1` each compile it against their
//! own frozen copy of the WIT (`crate::bindings`), so what differs between
//! them is only the contract they were built for.

use crate::bindings::exports::seatwarden::connector::connector_api::Guest;
use crate::bindings::seatwarden::connector::types::{
    Account, AccountPage, ActivityPage, AuthScheme, Capabilities, ConnectorError, Descriptor,
    Settings, Timestamp, Validated,
};
use crate::http::{Method, Request, error_for_status, excerpt};
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
    active: bool,
    role: String,
    last_login: Option<i64>,
}

pub struct Directory;

impl Guest for Directory {
    fn describe() -> Descriptor {
        Descriptor {
            name: crate::NAME.into(),
            version: crate::VERSION.into(),
            vendor: "Example Directory".into(),
            summary: crate::SUMMARY.into(),
            capabilities: Capabilities::DEACTIVATE | Capabilities::REACTIVATE,
            auth: AuthScheme::ApiKeyHeader("X-Directory-Key".into()),
            default_hosts: vec!["http://127.0.0.1".into()],
            default_base_url: "http://127.0.0.1".into(),
            regions: vec![],
            options: vec![],
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
        let url = format!("{}/users?page={page}", settings.base_url);
        let response = error_for_status(Request::new(Method::Get, url).send()?)?;
        let parsed: UsersPage = serde_json::from_slice(&response.body).map_err(|err| {
            ConnectorError::InvalidResponse(format!("{err}: {}", excerpt(&response.body)))
        })?;
        Ok(AccountPage {
            accounts: parsed
                .users
                .into_iter()
                .map(|user| Account {
                    id: user.id,
                    principal: user.email,
                    display_name: None,
                    active: user.active,
                    subscriptions: vec![user.role],
                    created_at: None,
                    last_active_at: user.last_login,
                    attributes: vec![],
                })
                .collect(),
            next_cursor: parsed.next_page.map(|n| n.to_string()),
        })
    }

    fn get_activity(
        _settings: Settings,
        _since: Timestamp,
        _cursor: Option<String>,
    ) -> Result<ActivityPage, ConnectorError> {
        Err(ConnectorError::Unsupported(
            "no activity in this fixture".into(),
        ))
    }

    fn deactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        post(&settings, &account_id, "deactivate")
    }

    fn reactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        post(&settings, &account_id, "reactivate")
    }
}

fn post(settings: &Settings, account_id: &str, action: &str) -> Result<(), ConnectorError> {
    let url = format!("{}/users/{account_id}/{action}", settings.base_url);
    error_for_status(Request::new(Method::Post, url).send()?)?;
    Ok(())
}
