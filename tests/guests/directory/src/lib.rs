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

mod api;

use api::{EventsPage, UsersPage, decode, post};
use seatwarden_sdk::http::{Method, Request, error_for_status};
use seatwarden_sdk::{
    AccountPage, ActivityPage, AuthScheme, Capabilities, ConnectorError, Descriptor, Guest,
    OptionSpec, Settings, Timestamp, Validated,
};

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
        Ok(decode::<UsersPage>(&response.body)?.into_page())
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
        Ok(decode::<EventsPage>(&response.body)?.into_page())
    }

    fn deactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        post(&settings, &account_id, "deactivate")
    }

    fn reactivate_user(settings: Settings, account_id: String) -> Result<(), ConnectorError> {
        post(&settings, &account_id, "reactivate")
    }
}

seatwarden_sdk::export_connector!(Directory);
