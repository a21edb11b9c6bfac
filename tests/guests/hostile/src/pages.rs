//! Pages shaped to hurt what the host keeps: oversized fields, cursors that
//! cycle or never end, impossible timestamps, terminal escapes and secrets
//! echoed into text. Each scenario is named by the `scenario` option;
//! `None` means the scenario is not one of these.

use seatwarden_sdk::{
    Account, AccountPage, Activity, ActivityPage, ConnectorError, Settings, Timestamp, option,
};

type Page<T> = Option<Result<T, ConnectorError>>;

fn account(id: &str) -> Account {
    Account {
        id: id.into(),
        principal: format!("{id}@example.com"),
        display_name: None,
        active: true,
        subscriptions: vec!["seat".into()],
        created_at: None,
        last_active_at: None,
        attributes: vec![],
    }
}

fn size(settings: &Settings) -> usize {
    option(settings, "size")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100 * 1024 * 1024)
}

/// The next cursor of a listing that goes A -> B -> A -> ...
fn cycle(cursor: Option<&str>) -> String {
    match cursor {
        Some("A") => "B".into(),
        _ => "A".into(),
    }
}

/// The next cursor of a listing that never ends: 1, 2, 3, ...
fn endless(cursor: Option<&str>) -> String {
    let n: u64 = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
    (n + 1).to_string()
}

/// `list-users` pages for the storage attacks.
pub fn accounts(scenario: &str, settings: &Settings, cursor: Option<&str>) -> Page<AccountPage> {
    let one = |account: Account, next: Option<String>| {
        Some(Ok(AccountPage {
            accounts: vec![account],
            next_cursor: next,
        }))
    };
    match scenario {
        // One field of `size` bytes; `field` says which.
        "long-field" => {
            let big = "z".repeat(size(settings));
            let mut acct = account("long");
            let mut next = None;
            match option(settings, "field").unwrap_or("attribute-value") {
                "id" => acct.id = big,
                "principal" => acct.principal = big,
                "display-name" => acct.display_name = Some(big),
                "subscription" => acct.subscriptions = vec![big],
                "attribute-name" => acct.attributes = vec![(big, "v".into())],
                "cursor" => next = Some(big),
                "subscriptions-count" => {
                    acct.subscriptions = (0..size(settings)).map(|i| format!("s{i}")).collect()
                }
                "accounts-count" => {
                    return Some(Ok(AccountPage {
                        accounts: (0..size(settings))
                            .map(|i| account(&format!("u{i}")))
                            .collect(),
                        next_cursor: None,
                    }));
                }
                _ => acct.attributes = vec![("bio".into(), big)],
            }
            one(acct, next)
        }
        // Every page a new account, the cursor going A, B, A, B, ...
        "cycle" => one(
            account(&format!("c{}", cursor.unwrap_or("0"))),
            Some(cycle(cursor)),
        ),
        // A new cursor every time, forever.
        "endless" => {
            let next = endless(cursor);
            one(account(&format!("e{next}")), Some(next))
        }
        // The same two accounts on every page while the cursor advances: a
        // server that ignores the paging parameter.
        "same-page" => {
            let next = endless(cursor);
            Some(Ok(AccountPage {
                accounts: vec![account("r1"), account("r2")],
                next_cursor: Some(next),
            }))
        }
        // Timestamps no vendor can mean.
        "timestamps" => {
            let mut far = account("far-future");
            far.last_active_at = Some(i64::MAX);
            far.created_at = Some(i64::MIN);
            let mut y9999 = account("year-9999");
            y9999.last_active_at = Some(253_402_300_799_000);
            let mut old = account("stale");
            old.created_at = Some(1_600_000_000_000);
            Some(Ok(AccountPage {
                accounts: vec![far, y9999, old],
                next_cursor: None,
            }))
        }
        // Principal, name, subscription and attribute carrying terminal
        // escapes and bidi controls.
        "escapes" => {
            let mut acct = account("esc\u{1b}[2J");
            acct.principal = "\u{1b}[2J\u{1b}[32mvalidation passed\u{1b}[0m@example.com".into();
            acct.display_name = Some("=HYPERLINK(\"http://evil.example\")".into());
            acct.subscriptions = vec!["seat\u{202e}txt.exe".into()];
            acct.last_active_at = Some(1_600_000_000_000);
            one(acct, None)
        }
        // The `echo` option's text (what a vendor echoed) in every field
        // a vendor controls.
        "echo-fields" => {
            let echo = option(settings, "echo").unwrap_or_default().to_string();
            let mut acct = account("echo");
            acct.display_name = Some(format!("name {echo}"));
            acct.attributes = vec![("note".into(), format!("vendor said {echo}"))];
            one(acct, None)
        }
        // The vendor's error body, echoed back in the error, the log and stderr.
        "echo-error" => {
            let echo = option(settings, "echo").unwrap_or_default().to_string();
            seatwarden_sdk::log::warn(&format!("vendor answered: {echo}"));
            eprintln!("vendor answered: {echo}");
            Some(Err(ConnectorError::Forbidden(format!(
                "vendor said: {echo}"
            ))))
        }
        // An error message of `size` bytes.
        "huge-error" => Some(Err(ConnectorError::Unavailable("e".repeat(size(settings))))),
        _ => None,
    }
}

/// `get-activity` pages for the storage attacks.
pub fn activity(scenario: &str, since: Timestamp, cursor: Option<&str>) -> Page<ActivityPage> {
    let event = |at: Timestamp| Activity {
        account_id: "stale".into(),
        at,
        kind: "LOGIN".into(),
    };
    match scenario {
        "cycle" => Some(Ok(ActivityPage {
            events: vec![event(since)],
            next_cursor: Some(cycle(cursor)),
        })),
        "endless" => Some(Ok(ActivityPage {
            events: vec![event(since)],
            next_cursor: Some(endless(cursor)),
        })),
        // One event in the window, and four that cannot be true.
        "timestamps" => Some(Ok(ActivityPage {
            events: vec![
                event(i64::MAX),
                event(253_402_300_799_000),
                event(i64::MIN),
                event(since - 86_400_000),
                event(since + 1),
            ],
            next_cursor: None,
        })),
        _ => None,
    }
}
