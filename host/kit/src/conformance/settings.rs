//! The settings file of `seatwarden connector test`.
//!
//! An author points the kit at a vendor with the same keys an operator
//! writes under `[connections.<name>]` (so what passes here configures the
//! same way in production), plus a `[conformance]` table for what only the
//! kit needs: which account it may deactivate and reactivate, how far back
//! to read activity, when a listing counts as endless. The connection table
//! is checked by the configuration's own parser; its errors name this file
//! and the `connection.` key.

use seatwarden_config::{Config, ConfigError, ConnectionConfig};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// What the conformance run needs besides the connector.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The connection to test through, as the configuration would build it.
    pub connection: ConnectionConfig,
    /// The file they came from, for errors.
    pub path: PathBuf,
    /// The `[conformance]` table; its defaults when the file has none.
    pub plan: Plan,
}

/// The `[conformance]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// An active test account the kit may deactivate and reactivate; the
    /// write checks are skipped without one.
    #[serde(default)]
    pub write_account: Option<String>,
    /// How many days back `get-activity` is read from.
    #[serde(default = "default_activity_days")]
    pub activity_days: u32,
    /// A listing longer than this many pages fails as endless.
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            write_account: None,
            activity_days: default_activity_days(),
            max_pages: default_max_pages(),
        }
    }
}

fn default_activity_days() -> u32 {
    30
}

fn default_max_pages() -> u32 {
    1_000
}

/// The name the connection gets inside the configuration parser.
const UNDER_TEST: &str = "under-test";

/// Reads `path`; `component` is the connector under test.
pub fn load(path: &Path, component: &Path) -> Result<Settings, ConfigError> {
    let err = |key: &str, problem: String, fix: &str| ConfigError {
        file: path.to_path_buf(),
        key: key.to_string(),
        problem,
        fix: fix.to_string(),
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        err(
            "",
            format!("cannot read the settings: {e}"),
            "pass --settings <file> (see docs/writing-a-connector.md)",
        )
    })?;
    let mut table: toml::Table = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| {
                format!(
                    " (line {})",
                    text[..s.start.min(text.len())].matches('\n').count() + 1
                )
            })
            .unwrap_or_default();
        err("", format!("{}{line}", e.message()), "fix the TOML syntax")
    })?;
    let plan = match table.remove("conformance") {
        Some(value) => value.try_into::<Plan>().map_err(|e| {
            err(
                "conformance",
                e.message().to_string(),
                "it takes write_account, activity_days and max_pages",
            )
        })?,
        None => Plan::default(),
    };
    if plan.max_pages == 0 || plan.activity_days == 0 {
        return Err(err(
            "conformance",
            format!(
                "max_pages ({}) and activity_days ({}) must be at least 1",
                plan.max_pages, plan.activity_days
            ),
            "leave them out for the defaults (1000 pages, 30 days)",
        ));
    }
    let Some(toml::Value::Table(mut connection)) = table.remove("connection") else {
        return Err(err(
            "connection",
            "no [connection] table".into(),
            "add one with the keys of a [connections.<name>] table: base_url, credential, options...",
        ));
    };
    if let Some(key) = table.keys().next() {
        return Err(err(
            key,
            format!("unknown table or key {key:?}"),
            "the settings take [connection] and [conformance]",
        ));
    }
    for reserved in ["tenant", "connector", "sha256"] {
        if connection.contains_key(reserved) {
            return Err(err(
                &format!("connection.{reserved}"),
                format!("{reserved} is not a setting here"),
                "the connector under test is the file given on the command line",
            ));
        }
    }
    connection.insert("tenant".into(), "conformance".into());
    let component = std::path::absolute(component).unwrap_or_else(|_| component.to_path_buf());
    connection.insert("connector".into(), component.display().to_string().into());
    let mut tenants = toml::Table::new();
    tenants.insert("conformance".into(), toml::Table::new().into());
    let mut connections = toml::Table::new();
    connections.insert(UNDER_TEST.into(), connection.into());
    let mut document = toml::Table::new();
    document.insert("tenants".into(), tenants.into());
    document.insert("connections".into(), connections.into());
    let document = toml::to_string(&document).expect("a TOML table serialises");
    let prefix = format!("connections.{UNDER_TEST}");
    let mut config = Config::parse(&document, path).map_err(|mut e| {
        e.key = e.key.replacen(&prefix, "connection", 1);
        // Line numbers refer to the rewritten document, not the file.
        if let Some(at) = e.problem.find(" (line ") {
            e.problem.truncate(at);
        }
        e
    })?;
    let connection = config
        .connections
        .remove(UNDER_TEST)
        .expect("the parser keeps the one connection it was given");
    Ok(Settings {
        connection,
        path: path.to_path_buf(),
        plan,
    })
}
