//! A hostile connector: one component, many misbehaviours.
//!
//! The `scenario` option picks what `list-users` (a read call) does; the host
//! tests assert that the sandbox contains each one. Observations the guest can
//! make itself (what it read, what the host refused) come back as attributes
//! of a single account, so the tests can assert on them. `deactivate-user`
//! sends a DELETE to `url`, which the host must allow in a write call (or,
//! with the `method` option, any method, for the method-policy tests).
//!
//! Scenarios that attack what the host *stores* rather than what it lets
//! out (oversized fields, cursors that never end, impossible timestamps,
//! text with terminal escapes, echoed secrets) return pages shaped for that
//! attack instead of observations.

use seatwarden_sdk::http::{HttpError, Method, Request, Response};
use seatwarden_sdk::{
    Account, AccountPage, ActivityPage, AuthScheme, Capabilities, ConnectorError, Descriptor,
    Guest, Settings, Timestamp, Validated, option,
};

struct Hostile;

impl Guest for Hostile {
    fn describe() -> Descriptor {
        Descriptor {
            name: "hostile".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            vendor: "Hostile Test Vendor".into(),
            summary: "Test fixture that tries to escape the sandbox".into(),
            capabilities: Capabilities::DEACTIVATE | Capabilities::ACTIVITY,
            auth: AuthScheme::ApiKeyHeader("X-SmartToken".into()),
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
        let url = option(&settings, "url")
            .unwrap_or(&settings.base_url)
            .to_string();
        let scenario = option(&settings, "scenario").unwrap_or("");
        if let Some(page) = pages::accounts(scenario, &settings, cursor.as_deref()) {
            return page;
        }
        let observations = match scenario {
            "infinite-loop" => infinite_loop(),
            "memory-bomb" => memory_bomb(),
            "panic" => panic!("hostile fixture panicked on purpose: code 42"),
            "fetch" => fetch(Method::Get, &url),
            "delete" => fetch(Method::Delete, &url),
            "follow-redirect" => follow_redirect(&url),
            "burst" => burst(&url, option(&settings, "count").unwrap_or("50")),
            "set-credentials" => set_credentials(&url),
            "env-and-files" => env_and_files(option(&settings, "socket").unwrap_or("127.0.0.1:80")),
            "log-flood" => log_flood(),
            "host-cpu" => host_cpu(
                option(&settings, "count").unwrap_or("40"),
                option(&settings, "size").unwrap_or("48"),
            ),
            "raw" => raw::request(&settings),
            "stderr" => {
                eprintln!("hostile fixture wrote this to stderr");
                Err(ConnectorError::Unavailable(
                    "failed after writing to stderr".into(),
                ))
            }
            other => Err(ConnectorError::Config(format!(
                "unknown scenario {other:?}"
            ))),
        }?;
        Ok(AccountPage {
            accounts: vec![Account {
                id: "observations".into(),
                principal: "hostile@example.com".into(),
                display_name: None,
                active: true,
                subscriptions: vec![],
                created_at: None,
                last_active_at: None,
                attributes: observations,
            }],
            next_cursor: None,
        })
    }

    fn get_activity(
        settings: Settings,
        since: Timestamp,
        cursor: Option<String>,
    ) -> Result<ActivityPage, ConnectorError> {
        let scenario = option(&settings, "scenario").unwrap_or("");
        pages::activity(scenario, since, cursor.as_deref())
            .unwrap_or_else(|| Err(ConnectorError::Unsupported("no activity".into())))
    }

    fn deactivate_user(settings: Settings, _account_id: String) -> Result<(), ConnectorError> {
        if option(&settings, "method").is_some() {
            let seen = raw::request(&settings)?;
            let (key, value) = &seen[0];
            return match key.as_str() {
                "status" if value.starts_with("200") => Ok(()),
                _ => Err(ConnectorError::Unavailable(format!("{key}: {value}"))),
            };
        }
        let url = option(&settings, "url")
            .unwrap_or(&settings.base_url)
            .to_string();
        let response = Request::new(Method::Delete, url).send()?;
        if response.status == 204 || response.status == 200 {
            Ok(())
        } else {
            Err(ConnectorError::Unavailable(format!(
                "status {}",
                response.status
            )))
        }
    }

    fn reactivate_user(_settings: Settings, _account_id: String) -> Result<(), ConnectorError> {
        Err(ConnectorError::Unsupported("no reactivation".into()))
    }
}

type Observations = Result<Vec<(String, String)>, ConnectorError>;

fn infinite_loop() -> Observations {
    let mut counter: u64 = 0;
    loop {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}

fn memory_bomb() -> Observations {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1024 * 1024];
        chunk[0] = hoard.len() as u8;
        hoard.push(std::hint::black_box(chunk));
    }
}

fn describe_result(result: &Result<Response, HttpError>) -> (String, String) {
    match result {
        Ok(response) => (
            "status".into(),
            format!("{} {}", response.status, response.body_excerpt()),
        ),
        Err(err) => ("error".into(), err.to_string()),
    }
}

fn fetch(method: Method, url: &str) -> Observations {
    let result = Request::new(method, url).send();
    Ok(vec![describe_result(&result)])
}

fn follow_redirect(url: &str) -> Observations {
    let first = Request::new(Method::Get, url).send();
    let mut observations = vec![describe_result(&first)];
    if let Ok(response) = &first
        && let Some(location) = response.header("location")
    {
        let second = Request::new(Method::Get, location).send();
        let (key, value) = describe_result(&second);
        observations.push((format!("redirect-{key}"), value));
    }
    Ok(observations)
}

fn burst(url: &str, count: &str) -> Observations {
    let count: u32 = count.parse().unwrap_or(50);
    let (mut ok, mut denied, mut other) = (0, 0, 0);
    for _ in 0..count {
        match Request::new(Method::Get, url).send() {
            Ok(_) => ok += 1,
            Err(HttpError::Denied(_)) => denied += 1,
            Err(_) => other += 1,
        }
    }
    Ok(vec![
        ("ok".into(), ok.to_string()),
        ("denied".into(), denied.to_string()),
        ("other".into(), other.to_string()),
    ])
}

fn set_credentials(url: &str) -> Observations {
    let mut observations = Vec::new();
    for (name, value) in [
        ("Authorization", "Bearer stolen-by-guest"),
        ("X-SmartToken", "guest-chosen-token"),
        ("proxy-authorization", "Basic Z3Vlc3Q6Z3Vlc3Q="),
    ] {
        let result = Request::new(Method::Get, url).header(name, value).send();
        let (key, value) = describe_result(&result);
        observations.push((format!("{}-{key}", name.to_ascii_lowercase()), value));
    }
    Ok(observations)
}

/// `socket` is an address the test listens on, so a refusal cannot be
/// mistaken for "nothing listens there".
fn env_and_files(socket: &str) -> Observations {
    let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    let args: Vec<String> = std::env::args().collect();
    let root = match std::fs::read_dir("/") {
        Ok(entries) => format!("listed {} entries", entries.count()),
        Err(err) => format!("error: {err}"),
    };
    let passwd = match std::fs::read("/etc/passwd") {
        Ok(bytes) => format!("read {} bytes", bytes.len()),
        Err(err) => format!("error: {err}"),
    };
    let cwd = match std::env::current_dir() {
        Ok(dir) => dir.display().to_string(),
        Err(err) => format!("error: {err}"),
    };
    let socket = match std::net::TcpStream::connect(socket) {
        Ok(_) => "connected".to_string(),
        Err(err) => format!("error: {err}"),
    };
    Ok(vec![
        ("env-count".into(), vars.len().to_string()),
        ("env-names".into(), vars.join(",")),
        ("args-count".into(), args.len().to_string()),
        ("read-dir-root".into(), root),
        ("read-etc-passwd".into(), passwd),
        ("current-dir".into(), cwd),
        ("tcp-connect".into(), socket),
    ])
}

fn log_flood() -> Observations {
    let line = "x".repeat(10_000);
    for _ in 0..100_000 {
        seatwarden_sdk::log::info(&line);
    }
    Ok(vec![("logged".into(), "100000".into())])
}

/// Spends its time in host calls rather than in guest code: each `log` call
/// makes the host copy and check a string of `size` MiB, while the guest
/// only loops. Guest code alone would stay far inside any CPU budget.
fn host_cpu(count: &str, size: &str) -> Observations {
    let count: u32 = count.parse().unwrap_or(40);
    let size: usize = size.parse().unwrap_or(48);
    let line = "y".repeat(size * 1024 * 1024);
    for _ in 0..count {
        log(Level::Trace, &line);
    }
    Ok(vec![("logged".into(), count.to_string())])
}

use seatwarden_sdk::bindings::seatwarden::connector::log::{Level, log};

mod pages;
mod raw;

/// The vendor terms an attacker would declare: a rate a thousand times the
/// host's default, to turn the host into a request cannon through its
/// credential, and models that are far too many, repeated, empty, overlong
/// or full of terminal escapes and bidi overrides, to flood or rewrite
/// what operators read in inspect and reports.
impl seatwarden_sdk::Vendor for Hostile {
    fn rate_limit() -> Option<seatwarden_sdk::RequestRate> {
        Some(seatwarden_sdk::RequestRate {
            requests: 20_000,
            per_seconds: 1,
        })
    }

    fn subscription_models() -> Vec<seatwarden_sdk::SubscriptionModel> {
        let model = |identifier: &str, edition: &str| seatwarden_sdk::SubscriptionModel {
            identifier: identifier.into(),
            publisher: "Hostile".into(),
            product: "Hostile".into(),
            edition: edition.into(),
        };
        let mut models = vec![
            model("SEAT", "Seat"),
            model("SEAT", "Seat again, cheaper"),
            model("ESCAPE", "\u{1b}[2J\u{1b}[31mowned"),
            model("BIDI", "Admin\u{202e}resU"),
            model("", "no identifier"),
            model("LONG", &"x".repeat(10_000)),
        ];
        models.extend((0..2_000).map(|i| model(&format!("ROLE-{i}"), "Role")));
        models
    }
}

seatwarden_sdk::export_connector!(Hostile, Vendor);
