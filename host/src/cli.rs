//! The `seatwarden` command line.
//!
//! A thin layer: it parses arguments with clap, builds a [`Runtime`], and
//! prints results for people (tables) or programs (`--json`). All behaviour
//! lives in the library so tests exercise the same code the binary runs.

use crate::descriptor::Descriptor;
use crate::runtime::{Runtime, RuntimeConfig, default_cache_dir};
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Seatwarden: find the SaaS seats nobody uses, through sandboxed connectors.
#[derive(Debug, Parser)]
#[command(name = "seatwarden", version, about)]
pub struct Cli {
    /// Directory for compiled connectors [default: $SEATWARDEN_CACHE_DIR, or ~/.cache/seatwarden].
    #[arg(long, global = true, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile connectors on every load instead of caching them.
    #[arg(long, global = true)]
    no_cache: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with connector components.
    Connector {
        #[command(subcommand)]
        command: ConnectorCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConnectorCommand {
    /// Load a connector in the sandbox and print its descriptor.
    Inspect {
        /// The connector component (.wasm).
        file: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let config = RuntimeConfig {
        cache_dir: if cli.no_cache {
            None
        } else {
            cli.cache_dir.or_else(default_cache_dir)
        },
        ..RuntimeConfig::default()
    };
    match cli.command {
        Command::Connector {
            command: ConnectorCommand::Inspect { file, json },
        } => {
            let runtime = Runtime::new(config)?;
            let connector = runtime.load_file(&file).await?;
            let text = if json {
                serde_json::to_string_pretty(&descriptor_json(
                    connector.descriptor(),
                    connector.digest(),
                ))?
            } else {
                descriptor_table(connector.descriptor(), connector.digest())
            };
            println!("{text}");
            Ok(())
        }
    }
}

/// The descriptor as JSON, for `connector inspect --json`.
pub fn descriptor_json(d: &Descriptor, digest: &str) -> serde_json::Value {
    serde_json::json!({
        "name": d.name,
        "version": d.version.to_string(),
        "vendor": d.vendor,
        "summary": d.summary,
        "capabilities": d.capabilities,
        "auth": d.auth.to_string(),
        "default_hosts": d.default_hosts.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "default_base_url": d.default_base_url,
        "options": d.options,
        "sha256": digest,
    })
}

/// The descriptor as an aligned table, for people.
pub fn descriptor_table(d: &Descriptor, digest: &str) -> String {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let mut rows = vec![
        ("connector", d.label()),
        ("vendor", d.vendor.clone()),
        ("summary", d.summary.clone()),
        (
            "capabilities",
            format!(
                "list-users: yes, activity: {}, deactivate: {}, reactivate: {}",
                yes_no(d.capabilities.activity),
                yes_no(d.capabilities.deactivate),
                yes_no(d.capabilities.reactivate)
            ),
        ),
        ("auth", d.auth.to_string()),
        (
            "default hosts",
            d.default_hosts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("default base URL", d.default_base_url.clone()),
    ];
    for option in &d.options {
        let required = if option.required {
            "required"
        } else {
            "optional"
        };
        rows.push((
            "option",
            format!("{} ({required}): {}", option.name, option.description),
        ));
    }
    rows.push(("sha256", digest.to_string()));
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<width$}  {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}
