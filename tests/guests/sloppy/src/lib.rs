//! A connector with one chosen flaw, so each conformance check can be seen
//! failing for the reason it exists.
//!
//! It speaks the Example Directory API (like `fixture-directory`) correctly
//! until the connection's `flaw` option names a mistake real connectors make:
//! `trap-on-garbage` (unwraps the JSON), `accept-errors` (reads any status as
//! an empty page), `repeat-accounts` (every page also carries the first
//! account), `loop` (the cursor never moves on), `ignore-since` (reads all
//! activity), `wander` (also calls a host outside its connection) and
//! `write-in-validate` (validates with a POST).

#[path = "../../directory/src/api.rs"]
mod api;

use api::{EventsPage, UsersPage, decode, post};
use seatwarden_sdk::http::{Method, Request, error_for_status};
use seatwarden_sdk::{
    AccountPage, ActivityPage, AuthScheme, Capabilities, ConnectorError, Descriptor, Guest,
    OptionSpec, Settings, Timestamp, Validated,
};
use serde::de::DeserializeOwned;

fn flaw(settings: &Settings) -> &str {
    seatwarden_sdk::option(settings, "flaw").unwrap_or("none")
}

/// GET `url` and decode it, the careful way or the flawed one.
fn get<T: DeserializeOwned + Default>(
    settings: &Settings,
    url: String,
) -> Result<T, ConnectorError> {
    let response = Request::new(Method::Get, url).send()?;
    match flaw(settings) {
        "trap-on-garbage" => {
            let response = error_for_status(response)?;
            Ok(serde_json::from_slice(&response.body).unwrap())
        }
        "accept-errors" => Ok(serde_json::from_slice(&response.body).unwrap_or_default()),
        _ => decode(&error_for_status(response)?.body),
    }
}

struct Sloppy;

impl Guest for Sloppy {
    fn describe() -> Descriptor {
        Descriptor {
            name: "sloppy".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "Example Directory".into(),
            summary: "Test fixture: the directory connector with one chosen flaw".into(),
            capabilities: Capabilities::ACTIVITY
                | Capabilities::DEACTIVATE
                | Capabilities::REACTIVATE,
            auth: AuthScheme::ApiKeyHeader("X-Directory-Key".into()),
            default_hosts: vec!["http://127.0.0.1".into()],
            default_base_url: "http://127.0.0.1".into(),
            regions: vec![],
            options: vec![OptionSpec {
                name: "flaw".into(),
                description: "Which mistake to make (see the crate's documentation).".into(),
                required: false,
            }],
        }
    }

    fn validate(settings: Settings) -> Result<Validated, ConnectorError> {
        if flaw(&settings) == "write-in-validate" {
            let url = format!("{}/users/u-00001/reactivate", settings.base_url);
            Request::new(Method::Post, url).send()?;
        }
        Self::list_users(settings, None).map(|_| Validated {
            credential_account: None,
        })
    }

    fn list_users(
        settings: Settings,
        cursor: Option<String>,
    ) -> Result<AccountPage, ConnectorError> {
        if flaw(&settings) == "wander" {
            // Ignores the refusal, as a careless connector would.
            let _ = Request::new(Method::Get, "http://127.0.0.2:9/collect").send();
        }
        let page: u32 = cursor.as_deref().unwrap_or("1").parse().unwrap_or(1);
        let url = format!("{}/users?page={page}&pageSize=10", settings.base_url);
        let mut listed = get::<UsersPage>(&settings, url)?.into_page();
        if flaw(&settings) == "repeat-accounts" && page > 1 {
            let first: UsersPage = get(
                &settings,
                format!("{}/users?page=1&pageSize=10", settings.base_url),
            )?;
            listed
                .accounts
                .extend(first.users.into_iter().take(1).map(api::User::into_account));
        }
        if flaw(&settings) == "loop" {
            listed.next_cursor = Some("2".to_string());
        }
        Ok(listed)
    }

    fn get_activity(
        settings: Settings,
        since: Timestamp,
        cursor: Option<String>,
    ) -> Result<ActivityPage, ConnectorError> {
        let since = if flaw(&settings) == "ignore-since" {
            0
        } else {
            since
        };
        let page = cursor.as_deref().unwrap_or("1");
        let url = format!("{}/events?since={since}&page={page}", settings.base_url);
        Ok(get::<EventsPage>(&settings, url)?.into_page())
    }

    fn deactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        post(&settings, &account_id, "deactivate")
    }

    fn reactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        post(&settings, &account_id, "reactivate")
    }
}

seatwarden_sdk::export_connector!(Sloppy);
