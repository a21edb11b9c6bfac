//! The `seatwarden` command line.
//!
//! A thin layer: it parses arguments with clap, builds a [`Runtime`], and
//! prints results for people (tables) or programs (`--json`). All behaviour
//! lives in the library so tests exercise the same code the binary runs.

use crate::app::{ProfileContext, open_profile};
use crate::config::Config;
use crate::descriptor::Descriptor;
use crate::runtime::{Runtime, RuntimeConfig, default_cache_dir};
use crate::storage::{StoredSubscription, Stream};
use crate::sync::{ActivityOutcome, Progress, Sync, SyncOptions, now_ms};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::io::IsTerminal;
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
    /// The configuration file.
    #[arg(
        long,
        global = true,
        env = "SEATWARDEN_CONFIG",
        default_value = "seatwarden.toml"
    )]
    config: PathBuf,
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
    /// Download a profile's subscriptions and activity into the database.
    Sync {
        #[arg(long)]
        profile: String,
    },
    /// List a profile's stored subscriptions.
    Subscriptions {
        #[arg(long)]
        profile: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Include accounts that disappeared from the vendor.
        #[arg(long)]
        all: bool,
    },
    /// Deactivate one account at the vendor through the connector.
    Deactivate {
        #[arg(long)]
        profile: String,
        /// The account's vendor id or principal (e-mail).
        account: String,
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
    let cache_dir = if cli.no_cache {
        None
    } else {
        cli.cache_dir.or_else(default_cache_dir)
    };
    let config = RuntimeConfig {
        cache_dir: cache_dir.clone(),
        ..RuntimeConfig::default()
    };
    match cli.command {
        Command::Sync { profile } => {
            let settings = Config::load(&cli.config)?;
            let ctx = open_profile(&settings, &profile, cache_dir).await?;
            sync(&ctx).await
        }
        Command::Subscriptions { profile, json, all } => {
            let settings = Config::load(&cli.config)?;
            let ctx = open_profile(&settings, &profile, cache_dir).await?;
            let rows: Vec<StoredSubscription> = ctx
                .storage
                .subscriptions(ctx.profile_id)
                .await?
                .into_iter()
                .filter(|s| all || s.gone_at.is_none())
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("{}", subscriptions_table(&rows));
            }
            Ok(())
        }
        Command::Deactivate { profile, account } => {
            let settings = Config::load(&cli.config)?;
            let ctx = open_profile(&settings, &profile, cache_dir).await?;
            deactivate(&ctx, &account).await
        }
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

async fn sync(ctx: &ProfileContext) -> Result<()> {
    let options = SyncOptions {
        download_activity: ctx.profile.download_activity,
        activity_window_days: ctx.profile.activity_from_days,
        ..SyncOptions::default()
    };
    let sync = Sync {
        storage: &ctx.storage,
        connector: &ctx.connector,
        connection: &ctx.connection,
        profile: ctx.profile_id,
        options,
    };
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .expect("valid template"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let counts = std::sync::Mutex::new([(0usize, 0usize); 2]);
    let name = ctx.profile.name.clone();
    let progress = |event: Progress| match event {
        Progress::Page { stream, items } => {
            let mut counts = counts.lock().expect("progress counts");
            let slot = &mut counts[usize::from(stream == Stream::Activity)];
            slot.0 += 1;
            slot.1 += items;
            let [(up, ui), (ap, ai)] = *counts;
            let line = format!(
                "{name}: users {ui} accounts in {up} pages; activity {ai} events in {ap} pages"
            );
            match &bar {
                Some(bar) => bar.set_message(line),
                None => eprintln!("{line}"),
            }
        }
        Progress::Retry { wait, reason, .. } => {
            let line = format!("{name}: retrying in {} ms: {reason}", wait.as_millis());
            match &bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
    };
    let report = sync.run(&progress).await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = report?;
    let resumed = if report.resumed {
        " (resumed an interrupted run)"
    } else {
        ""
    };
    println!(
        "profile {}: {} accounts in {} pages{resumed}; {} gone since the last sync",
        ctx.profile.name, report.accounts, report.pages, report.gone
    );
    match report.activity {
        ActivityOutcome::Pulled {
            events,
            pages,
            activity_updates,
        } => {
            println!(
                "activity: {events} events in {pages} pages; {activity_updates} last-activity updates"
            )
        }
        ActivityOutcome::Unsupported(why) => println!("activity: not available ({why})"),
        ActivityOutcome::Skipped => println!("activity: not downloaded for this profile"),
    }
    Ok(())
}

async fn deactivate(ctx: &ProfileContext, account: &str) -> Result<()> {
    let stored = ctx
        .storage
        .find_subscription(ctx.profile_id, account)
        .await?;
    let id = stored
        .as_ref()
        .map_or(account, |s| s.account_id.as_str())
        .to_string();
    let started = now_ms();
    match ctx.connector.deactivate_user(&ctx.connection, &id).await {
        Ok(()) => {
            ctx.storage.set_active(ctx.profile_id, &id, false).await?;
            let who = stored.as_ref().map_or(id.clone(), |s| {
                format!("{} ({})", s.principal, s.account_id)
            });
            ctx.storage
                .record_job(
                    ctx.profile_id,
                    "deactivate",
                    "succeeded",
                    started,
                    now_ms(),
                    &format!("deactivated {who}"),
                )
                .await?;
            println!("deactivated {who} in profile {}", ctx.profile.name);
            Ok(())
        }
        Err(err) => {
            ctx.storage
                .record_job(
                    ctx.profile_id,
                    "deactivate",
                    "failed",
                    started,
                    now_ms(),
                    &err.to_string(),
                )
                .await?;
            Err(err).context(format!(
                "deactivating {account} in profile {}",
                ctx.profile.name
            ))
        }
    }
}

/// Stored subscriptions as a table, for people.
pub fn subscriptions_table(rows: &[StoredSubscription]) -> String {
    let date = |ms: Option<i64>| {
        ms.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
            .map_or_else(
                || "never".to_string(),
                |t| t.strftime("%Y-%m-%d").to_string(),
            )
    };
    let mut table = vec![[
        "principal".to_string(),
        "account id".into(),
        "active".into(),
        "subscriptions".into(),
        "last active".into(),
        "source".into(),
        "status".into(),
    ]];
    for s in rows {
        table.push([
            s.principal.clone(),
            s.account_id.clone(),
            if s.active { "yes" } else { "no" }.into(),
            s.identifiers.join(","),
            date(s.last_active_at),
            s.last_active_source.clone().unwrap_or_default(),
            if s.gone_at.is_some() {
                "gone".into()
            } else {
                "present".into()
            },
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|i| {
            table
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out: Vec<String> = table
        .iter()
        .map(|row| {
            row.iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        })
        .collect();
    out.push(format!("{} subscriptions", rows.len()));
    out.join("\n")
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
        "regions": d.regions.iter().map(|(n, u)| serde_json::json!({"name": n, "base_url": u})).collect::<Vec<_>>(),
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
    for (name, url) in &d.regions {
        rows.push(("region", format!("{name}: {url}")));
    }
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
