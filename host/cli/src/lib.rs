//! The `seatwarden` command line.
//!
//! A thin layer: it parses arguments with clap, opens the [`App`], and
//! prints results for people (tables) or programs (`--json`). All behaviour
//! lives in the library so tests exercise the same code the binary runs.

use seatwarden_app::wiring::{App, ProfileContext};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use seatwarden_app::on_demand::{self, ReclaimResult};
use seatwarden_app::profiles::Profiles;
use seatwarden_app::scheduler::{JobOutcome, JobResult, Scheduler, SchedulerOptions};
use seatwarden_app::sync::{ActivityOutcome, Progress};
use seatwarden_config::Config;
use seatwarden_domain::candidate_state::Decision;
use seatwarden_sandbox::runtime::default_cache_dir;
use seatwarden_store::{
    ActivityFrom, AuditCheck, Candidate, CandidateState, JobRun, ProfileRecord, ProfileSettings,
    StoredSubscription, Stream, TenantId, Trigger,
};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

mod connector;
mod console;
mod entitlements;
mod migrate;
mod report;
mod token;

use seatwarden_app::output::{self, date_time};
use seatwarden_app::{say, say_err};

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
    /// The database, instead of the configuration's `database`: a SQLite
    /// file, or postgres://user@host:port/database. Prefer the variable: a
    /// password on the command line is visible to every user of the machine.
    #[arg(
        long,
        global = true,
        env = "SEATWARDEN_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    database_url: Option<String>,
    /// The tenant to act for (may be left out when the configuration has one).
    #[arg(long, global = true, env = "SEATWARDEN_TENANT")]
    tenant: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with connector components.
    Connector {
        #[command(subcommand)]
        command: connector::ConnectorCommand,
    },
    /// Create or update the database's profiles from the configuration file
    /// (every tenant, or --tenant's); prints what changed. Idempotent.
    Apply,
    /// Integration profiles: create, list, show, validate, publish, unpublish, delete.
    Profile {
        #[command(subcommand)]
        command: ProfileCommand,
    },
    /// Download a profile's subscriptions and activity now (a manual job).
    /// Drafts may be synced; a profile whose last validation failed may not.
    Sync {
        #[arg(long)]
        profile: String,
        /// The vendor's listing is the truth: mark every account it leaves
        /// out gone, even more than `limits.max_gone_percent` of them.
        #[arg(long)]
        accept_gone: bool,
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
        /// Deactivate it even though it is excluded or protected (an
        /// administrator, a service account, listed as protected), giving
        /// the reason; recorded in the audit log. The account the
        /// profile's credentials act as is never deactivated.
        #[arg(long = "override", value_name = "REASON")]
        override_reason: Option<String>,
    },
    /// Undo a reclamation: reactivate the candidate's account through the
    /// connector (within the vendor's window, e.g. Smartsheet's 30 days).
    Reactivate {
        /// The reclaimed candidate's id (see `candidates list --all`).
        candidate: i64,
    },
    /// Job results, newest first, with a status line per profile.
    Jobs {
        /// Only this profile's jobs.
        #[arg(long)]
        profile: Option<String>,
        /// Only failed or interrupted jobs.
        #[arg(long)]
        failed: bool,
        /// How many jobs to show.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Removal candidates: list them, or refresh them from the stored
    /// subscriptions now.
    Candidates {
        #[command(subcommand)]
        command: CandidatesCommand,
    },
    /// The tenant's exclusions as `apply` stored them (switched-off ones
    /// too): what the candidate refreshes spare.
    Exclusions,
    /// Identity providers: the applications people sign in to through one.
    Idp {
        #[command(subcommand)]
        command: IdpCommand,
    },
    /// The tenant's entitlements: rights bought per software model, with
    /// unit cost and term. Lists them, or adds and removes ones kept in
    /// the database rather than the configuration.
    Entitlements {
        #[command(subcommand)]
        command: Option<entitlements::EntitlementsCommand>,
    },
    /// The tenant's audit log: check its hash chain, or export it.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Reconcile the tenant now: rights owned against rights used per
    /// software model, kept as a run for the trend, printed like
    /// `report compliance`.
    Reconcile {
        #[command(flatten)]
        format: report::Format,
    },
    /// Reports over the tenant's subscriptions (table, --json or --csv).
    Report {
        #[command(subcommand)]
        command: report::ReportCommand,
    },
    /// The web console: make a one-time sign-in token for a person.
    Console {
        #[command(subcommand)]
        command: console::ConsoleCommand,
    },
    /// API tokens: make one (shown once), list them, revoke one.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// Bring the database's schema to this seatwarden's version (every
    /// command that writes does this too), or, with --from and --to, move
    /// a SQLite installation to an empty PostgreSQL database.
    Migrate {
        /// The SQLite file to move, e.g. sqlite:/var/lib/seatwarden/seatwarden.db.
        #[arg(long, requires = "to", value_name = "FILE")]
        from: Option<String>,
        /// The empty PostgreSQL database to move it to, e.g.
        /// postgres://seatwarden@db.internal/seatwarden.
        #[arg(long, requires = "from", value_name = "URL")]
        to: Option<String>,
    },
    /// Run the published profiles' schedules, and the HTTP API when
    /// --listen is given, until SIGTERM or Ctrl-C.
    Serve {
        /// Run the jobs that are due now, then exit.
        #[arg(long, conflicts_with_all = ["listen", "no_scheduler"])]
        once: bool,
        /// Serve the HTTP API (`/api/v1`) on this address, e.g. 127.0.0.1:8080.
        #[arg(long, env = "SEATWARDEN_LISTEN", value_name = "ADDRESS")]
        listen: Option<std::net::SocketAddr>,
        /// Do not serve the API, even if SEATWARDEN_LISTEN is set.
        #[arg(long)]
        no_listen: bool,
        /// Serve the API only; run no jobs (an API-only node).
        #[arg(long, requires = "listen")]
        no_scheduler: bool,
    },
}

#[derive(Debug, Subcommand)]
enum IdpCommand {
    /// The identity provider's applications, how many people are assigned
    /// to each (counted through the connector, so it reads every
    /// assignment), and which of the tenant's profiles already read it.
    Apps {
        /// A profile of the identity provider's connector (e.g. an Okta
        /// profile); its connection is used for every application.
        #[arg(long)]
        profile: String,
        #[command(flatten)]
        format: report::Format,
    },
}

#[derive(Debug, Subcommand)]
enum CandidatesCommand {
    /// A profile's candidates with the evidence for each (open ones unless --all).
    List {
        #[arg(long)]
        profile: String,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// One candidate: its evidence, dates and history.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Approve reclaiming a candidate (also retries one that needs
    /// attention); the next reclaim run deactivates it.
    Approve(DecideArgs),
    /// Turn down the reclamation a user asked to avoid: they keep the seat.
    Reject(DecideArgs),
    /// Record the user's answer "keep": a manager approves or rejects next.
    Keep(DecideArgs),
    /// Record the user's answer "release": the seat may be reclaimed.
    Release(DecideArgs),
    /// Drop a candidate without reclaiming it.
    Skip(DecideArgs),
    /// Run the profile's rule over its stored subscriptions now.
    Refresh {
        #[arg(long)]
        profile: String,
    },
    /// Deactivate the profile's ready candidates: a dry run that prints who
    /// and why, unless --apply.
    Reclaim {
        #[arg(long)]
        profile: String,
        /// Deactivate for real.
        #[arg(long)]
        apply: bool,
    },
}

#[derive(Debug, Args)]
struct DecideArgs {
    /// The candidate's id (see `candidates list`).
    id: i64,
    /// Why, for the audit log.
    #[arg(long)]
    reason: Option<String>,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; fails naming the first entry that does not
    /// match, and prints the head hash to keep elsewhere.
    Verify,
    /// Write every entry as JSON lines (with its hashes) to a file or stdout.
    Export {
        /// The file to write [default: stdout].
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum ProfileCommand {
    /// Create a draft profile on one of the tenant's connections.
    Create(CreateArgs),
    /// The tenant's profiles.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One profile: settings, validation, jobs.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Check the connection through the connector (read-only) and record it.
    Validate { name: String },
    /// Publish a validated profile: its jobs start running under `serve`.
    Publish { name: String },
    /// Back to draft: its jobs are removed.
    Unpublish { name: String },
    /// Delete a profile and its data (its audit entries stay).
    Delete {
        name: String,
        /// Confirm without a prompt.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
struct CreateArgs {
    name: String,
    /// The connection (from the configuration) the profile uses.
    #[arg(long)]
    connection: String,
    /// Do not download activity.
    #[arg(long)]
    no_activity: bool,
    /// Deactivate reclaimed accounts (without it: report only).
    #[arg(long)]
    reclaim: bool,
    /// Analyze activity from this day (YYYY-MM-DD, at most 60 days back).
    #[arg(long, conflicts_with = "activity_from_days")]
    activity_from: Option<jiff::civil::Date>,
    /// Analyze activity from this many days back (1 to 60) [default: 60].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=60))]
    activity_from_days: Option<u32>,
    /// Cron expression for the subscriptions job [default: the scheduler's].
    #[arg(long)]
    subscriptions_schedule: Option<String>,
    /// Cron expression for the activity job [default: the scheduler's].
    #[arg(long)]
    activity_schedule: Option<String>,
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let cache_dir = if cli.no_cache {
        None
    } else {
        cli.cache_dir.clone().or_else(default_cache_dir)
    };
    if let Command::Connector { command } = &cli.command {
        return connector::run(command, cache_dir).await;
    }
    if let Command::Migrate {
        from: Some(from),
        to: Some(to),
    } = &cli.command
    {
        return migrate::copy(from, to).await;
    }
    let mut settings = Config::load(&cli.config)?;
    if let Some(url) = &cli.database_url {
        let here = std::env::current_dir().context("reading the current folder")?;
        settings.database = seatwarden_config::Database::parse(url, &here).map_err(|problem| {
            anyhow::anyhow!("SEATWARDEN_DATABASE_URL / --database-url: {problem}")
        })?;
    }
    if let Command::Migrate { .. } = &cli.command {
        return migrate::migrate(&settings.database).await;
    }
    let database = settings.database.clone();
    run_loaded(cli, settings, cache_dir)
        .await
        .map_err(|err| seatwarden_store::explain_database_error(err, &database))
}

/// Whether a command only reads the database (it is then opened
/// read-only: no migration, no accidental write).
fn reads_only(command: &Command) -> bool {
    match command {
        Command::Jobs { .. } | Command::Subscriptions { .. } | Command::Audit { .. } => true,
        Command::Report { command } => command.reads_only(),
        _ => false,
    }
}

async fn run_loaded(cli: Cli, settings: Config, cache_dir: Option<PathBuf>) -> Result<()> {
    let app = Arc::new(if reads_only(&cli.command) {
        App::open_read_only(settings, cache_dir).await?
    } else {
        App::open(settings, cache_dir).await?
    });
    let actor = format!("cli:{}", os_user());
    match cli.command {
        Command::Connector { .. } | Command::Migrate { .. } => unreachable!("handled above"),
        Command::Apply => {
            let tenants: Vec<String> = match &cli.tenant {
                Some(name) => vec![app.config.tenant(Some(name))?.name.clone()],
                None => app.config.tenants.keys().cloned().collect(),
            };
            for tenant in tenants {
                let (tenant_name, tenant_id) = app.tenant(Some(&tenant)).await?;
                let profiles = Profiles {
                    app: &app,
                    tenant: tenant_id,
                    tenant_name: tenant_name.clone(),
                    actor: "apply".into(),
                };
                let report = profiles.apply().await?;
                crate::say!("tenant {tenant_name}:");
                if report.is_empty() {
                    crate::say!("  (no profiles)");
                }
                for line in report {
                    crate::say!("  {line}");
                }
            }
            Ok(())
        }
        Command::Profile { command } => {
            let (tenant_name, tenant_id) = app.tenant(cli.tenant.as_deref()).await?;
            let profiles = Profiles {
                app: &app,
                tenant: tenant_id,
                tenant_name,
                actor,
            };
            profile_command(&profiles, command).await
        }
        Command::Sync {
            profile,
            accept_gone,
        } => {
            let (tenant_name, tenant_id) = app.tenant(cli.tenant.as_deref()).await?;
            let ctx = app.open_profile(tenant_id, &tenant_name, &profile).await?;
            sync(&app, &ctx, accept_gone).await
        }
        Command::Subscriptions { profile, json, all } => {
            let (tenant_name, tenant_id) = app.tenant(cli.tenant.as_deref()).await?;
            let record = app.find_profile(tenant_id, &tenant_name, &profile).await?;
            let rows: Vec<StoredSubscription> = app
                .storage
                .subscriptions(record.id)
                .await?
                .into_iter()
                .filter(|s| all || s.gone_at.is_none())
                .collect();
            if json {
                crate::say!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                crate::say!("{}", subscriptions_table(&rows));
            }
            Ok(())
        }
        Command::Deactivate {
            profile,
            account,
            override_reason,
        } => {
            let (tenant_name, tenant_id) = app.tenant(cli.tenant.as_deref()).await?;
            let ctx = app.open_profile(tenant_id, &tenant_name, &profile).await?;
            let done = seatwarden_app::manual::deactivate(
                &app,
                &ctx.record,
                &ctx.connected.connector,
                &ctx.connected.connection,
                seatwarden_app::manual::Request {
                    account: &account,
                    override_reason: override_reason.as_deref(),
                    actor: &actor,
                },
            )
            .await?;
            crate::say!("{done} in profile {}", ctx.record.name);
            Ok(())
        }
        Command::Reactivate { candidate } => {
            let (tenant_name, tenant_id) = app.tenant(cli.tenant.as_deref()).await?;
            reactivate(&app, tenant_id, &tenant_name, &actor, candidate).await
        }
        Command::Jobs {
            profile,
            failed,
            limit,
            json,
        } => {
            let (tenant_name, tenant_id) = app.tenant(cli.tenant.as_deref()).await?;
            jobs(
                &app,
                tenant_id,
                &tenant_name,
                profile.as_deref(),
                failed,
                limit,
                json,
            )
            .await
        }
        Command::Candidates { command } => {
            let (tenant_name, tenant_id) = app.tenant(cli.tenant.as_deref()).await?;
            candidates(&app, tenant_id, &tenant_name, &actor, command).await
        }
        Command::Entitlements { command } => {
            let (tenant_name, tenant_id) = app.tenant(cli.tenant.as_deref()).await?;
            entitlements::run(&app, tenant_id, &tenant_name, &actor, command).await
        }
        Command::Idp {
            command: IdpCommand::Apps { profile, format },
        } => {
            let (tenant_name, tenant_id) = app.tenant(cli.tenant.as_deref()).await?;
            let rows =
                seatwarden_app::discovery::applications(&app, tenant_id, &tenant_name, &profile)
                    .await?;
            let mut out = output::stdout();
            seatwarden_app::discovery::write(&rows, format.output(), &mut out)
        }
        Command::Exclusions => {
            let (tenant_name, tenant_id) = app.tenant(cli.tenant.as_deref()).await?;
            let stored = app.storage.exclusions(tenant_id).await?;
            if stored.is_empty() {
                crate::say!(
                    "tenant {tenant_name}: no exclusions (add [[exclusions]] to the configuration, then run seatwarden apply)"
                );
            }
            for exclusion in stored {
                let state = if exclusion.is_active() { "on " } else { "off" };
                crate::say!("{state}  {}", exclusion.describe());
            }
            Ok(())
        }
        Command::Audit { command } => {
            let (tenant_name, tenant_id) = app.tenant(cli.tenant.as_deref()).await?;
            audit(&app, tenant_id, &tenant_name, command).await
        }
        Command::Reconcile { format } => {
            let (tenant_name, tenant_id) = app.tenant(cli.tenant.as_deref()).await?;
            report::reconcile(&app, tenant_id, &tenant_name, format).await
        }
        Command::Report { command } => {
            let (tenant_name, tenant_id) = app.tenant(cli.tenant.as_deref()).await?;
            report::run(&app, tenant_id, &tenant_name, command).await
        }
        Command::Token { command } => {
            token::run(&app, cli.tenant.as_deref(), &actor, command).await
        }
        Command::Console { command } => {
            console::run(&app, cli.tenant.as_deref(), &actor, command).await
        }
        Command::Serve {
            once,
            listen,
            no_listen,
            no_scheduler,
        } => {
            let mode = ServeMode {
                once,
                api: listen.filter(|_| !no_listen),
                scheduler: !no_scheduler,
            };
            serve(app, mode).await
        }
    }
}

async fn candidates(
    app: &App,
    tenant: TenantId,
    tenant_name: &str,
    actor: &str,
    command: CandidatesCommand,
) -> Result<()> {
    let decide = |decision, args| decide(app, tenant, tenant_name, actor, decision, args);
    match command {
        CandidatesCommand::Approve(args) => decide(Decision::Approve, args).await,
        CandidatesCommand::Reject(args) => decide(Decision::Reject, args).await,
        CandidatesCommand::Keep(args) => decide(Decision::Keep, args).await,
        CandidatesCommand::Release(args) => decide(Decision::Release, args).await,
        CandidatesCommand::Skip(args) => decide(Decision::Skip, args).await,
        CandidatesCommand::Show { id, json } => {
            let (profile, c) = on_demand::find_candidate(app, tenant, tenant_name, id).await?;
            let history = app.storage.candidate_history(tenant, id).await?;
            if json {
                let value = serde_json::json!({
                    "profile": profile,
                    "candidate": c,
                    "history": history,
                });
                crate::say!("{}", serde_json::to_string_pretty(&value)?);
                return Ok(());
            }
            crate::say!("{}", show_candidate(&profile, &c));
            crate::say!("history:");
            for e in &history {
                crate::say!(
                    "  #{} {} {} {}: {}",
                    e.id,
                    date_time(e.at),
                    e.actor,
                    e.action,
                    e.detail
                );
            }
            Ok(())
        }
        CandidatesCommand::Refresh { profile } => {
            let record = app.find_profile(tenant, tenant_name, &profile).await?;
            let refreshed = seatwarden_app::reclamation::refresh(
                app,
                &record,
                Trigger::Manual,
                actor,
                app.now(),
            )
            .await?;
            crate::say!("profile {profile}: {}", refreshed.summary);
            for (by, count) in &refreshed.report.excluded {
                crate::say!("  excluded by {by}: {count}");
            }
            Ok(())
        }
        CandidatesCommand::Reclaim { profile, apply } => {
            let ctx = app.open_profile(tenant, tenant_name, &profile).await?;
            let reclaimed = on_demand::reclaim(app, &ctx, actor, apply).await?;
            let plan = &reclaimed.plan;
            for c in &plan.deactivate {
                crate::say!(
                    "{} {} ({}): {} {} days, rule v{} ({} days)",
                    if apply {
                        "deactivate"
                    } else {
                        "would deactivate"
                    },
                    c.principal,
                    c.account_id,
                    c.reason,
                    c.days_inactive,
                    c.rule_version,
                    c.threshold_days
                );
            }
            let outcome = match reclaimed.result {
                ReclaimResult::Done(outcome) => outcome,
                // Recorded; the candidates it would have touched are listed
                // above the error.
                ReclaimResult::Refused(err) => return Err(err),
                ReclaimResult::DryRun => {
                    crate::say!(
                        "dry run: {} of {} active accounts would be deactivated (limit {}); nothing was changed. Pass --apply to do it.",
                        plan.deactivate.len(),
                        plan.active_accounts,
                        plan.limit
                    );
                    return Ok(());
                }
            };
            crate::say!(
                "deactivated {}; {} need attention",
                outcome.deactivated.len(),
                outcome.failed.len()
            );
            for (who, why) in &outcome.failed {
                crate::say!("  attention required: {who}: {why}");
            }
            Ok(())
        }
        CandidatesCommand::List { profile, all, json } => {
            let record = app.find_profile(tenant, tenant_name, &profile).await?;
            let list = app.storage.candidates(record.id, all).await?;
            if json {
                crate::say!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            let mut rows = vec![header(&[
                "id",
                "principal",
                "state",
                "why",
                "days",
                "last active",
                "source",
                "rule",
            ])];
            for c in &list {
                rows.push(vec![
                    c.id.to_string(),
                    c.principal.clone(),
                    c.state.as_str().into(),
                    c.reason.clone(),
                    c.days_inactive.to_string(),
                    c.last_active_at.map_or_else(|| "never".into(), date_time),
                    c.last_active_source.clone().unwrap_or_default(),
                    format!("v{} ({} days)", c.rule_version, c.threshold_days),
                ]);
            }
            crate::say!("{}", table(&rows));
            crate::say!(
                "{} candidates in profile {profile}{}",
                list.len(),
                if record.settings.reclaim {
                    ""
                } else {
                    " (report only: reclaim is off)"
                }
            );
            Ok(())
        }
    }
}

/// Applies an administrator's decision (or the user's answer given to one)
/// to a candidate.
async fn decide(
    app: &App,
    tenant: TenantId,
    tenant_name: &str,
    actor: &str,
    decision: Decision,
    args: DecideArgs,
) -> Result<()> {
    let decided = on_demand::decide(
        app,
        tenant,
        tenant_name,
        actor,
        args.id,
        decision,
        args.reason.as_deref(),
    )
    .await?;
    let c = &decided.candidate;
    crate::say!(
        "candidate {} ({}): {} -> {}",
        c.id,
        c.principal,
        c.state,
        decided.state
    );
    if decided.state == CandidateState::AwaitingRevocation {
        match &decided.report_only {
            Some(why) => crate::say!("nothing will be deactivated: {why}"),
            None => crate::say!(
                "the next reclaim run deactivates it (`seatwarden candidates reclaim --profile {}`)",
                decided.profile
            ),
        }
    }
    Ok(())
}

fn show_candidate(profile: &str, c: &Candidate) -> String {
    let when = |at: Option<i64>| at.map_or_else(|| "-".to_string(), date_time);
    let lines = [
        format!("candidate {} in profile {profile}", c.id),
        format!("account:        {} ({})", c.principal, c.account_id),
        format!("state:          {}", c.state),
        format!(
            "why:            {} for {} days (rule v{}, threshold {} days)",
            c.reason, c.days_inactive, c.rule_version, c.threshold_days
        ),
        format!(
            "last active:    {}{}",
            c.last_active_at.map_or_else(|| "never".into(), date_time),
            c.last_active_source
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        ),
        format!("opened:         {}", date_time(c.created_at)),
        format!("user notified:  {}", when(c.notified_at)),
        format!("reclaim after:  {}", when(c.reclaim_after)),
        format!("deactivated:    {}", when(c.deactivated_at)),
        format!("reactivated:    {}", when(c.reactivated_at)),
        format!(
            "last change:    {}",
            c.close_reason.as_deref().unwrap_or("-")
        ),
    ];
    lines.join("\n")
}

/// `seatwarden reactivate`: undoes a reclamation.
async fn reactivate(
    app: &App,
    tenant: TenantId,
    tenant_name: &str,
    actor: &str,
    id: i64,
) -> Result<()> {
    let (profile, c) = on_demand::reactivate(app, tenant, tenant_name, actor, id).await?;
    crate::say!(
        "reactivated {} ({}) in profile {profile}; its grace period starts again",
        c.principal,
        c.account_id
    );
    Ok(())
}

async fn audit(
    app: &App,
    tenant: TenantId,
    tenant_name: &str,
    command: AuditCommand,
) -> Result<()> {
    match command {
        AuditCommand::Verify => match app.storage.verify_audit(tenant).await? {
            AuditCheck::Intact { entries, head } => {
                crate::say!(
                    "audit log of tenant {tenant_name}: intact, {entries} entries; head {head}"
                );
                crate::say!(
                    "(keep the head hash outside this database to detect a cut-off tail later)"
                );
                Ok(())
            }
            AuditCheck::Broken { entry, reason } => bail!(
                "audit log of tenant {tenant_name} is broken at entry {entry}: {reason}; entries from there on cannot be trusted. Compare with an earlier export or backup"
            ),
        },
        AuditCommand::Export { out } => {
            let entries = app.storage.audit_entries(tenant).await?;
            let mut text = String::new();
            for entry in &entries {
                text.push_str(&serde_json::to_string(entry)?);
                text.push('\n');
            }
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    crate::say_err!(
                        "wrote {} audit entries to {}",
                        entries.len(),
                        path.display()
                    );
                }
                None => output::text(&text),
            }
            Ok(())
        }
    }
}

async fn profile_command(profiles: &Profiles<'_>, command: ProfileCommand) -> Result<()> {
    match command {
        ProfileCommand::Create(args) => {
            let activity_from = match (args.activity_from, args.activity_from_days) {
                (Some(date), _) => ActivityFrom::Date(date),
                (None, Some(days)) => ActivityFrom::DaysBack(days),
                (None, None) => ActivityFrom::DaysBack(60),
            };
            for cron in [&args.subscriptions_schedule, &args.activity_schedule]
                .into_iter()
                .flatten()
            {
                seatwarden_domain::cron::CronSchedule::parse(cron).map_err(anyhow::Error::msg)?;
            }
            let settings = ProfileSettings {
                connection: args.connection,
                download_activity: !args.no_activity,
                reclaim: args.reclaim,
                activity_from,
                subscriptions_cron: args.subscriptions_schedule,
                activity_cron: args.activity_schedule,
            };
            let record = profiles
                .create(&args.name, &settings, seatwarden_store::Source::Cli)
                .await?;
            crate::say!(
                "created profile {} (draft) on connection {} with connector {}@{}; next: seatwarden profile validate {}",
                record.name,
                record.settings.connection,
                record.connector.name,
                record.connector.version,
                record.name
            );
            Ok(())
        }
        ProfileCommand::List { json } => {
            let list = profiles.app.storage.profiles(profiles.tenant).await?;
            if json {
                crate::say!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            let mut rows = vec![header(&[
                "profile",
                "status",
                "connection",
                "connector",
                "activity",
                "reclaim",
                "validated",
            ])];
            for p in &list {
                rows.push(vec![
                    p.name.clone(),
                    p.status.as_str().into(),
                    p.settings.connection.clone(),
                    format!("{}@{}", p.connector.name, p.connector.version),
                    yes_no(p.settings.download_activity).into(),
                    if p.settings.reclaim {
                        "yes"
                    } else {
                        "report only"
                    }
                    .into(),
                    validation_text(p),
                ]);
            }
            crate::say!("{}", table(&rows));
            crate::say!("{} profiles in tenant {}", list.len(), profiles.tenant_name);
            Ok(())
        }
        ProfileCommand::Show { name, json } => {
            let record = profiles.get(&name).await?;
            let jobs = profiles.app.storage.scheduled_jobs(record.id).await?;
            if json {
                crate::say!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "profile": record,
                        "scheduled_jobs": jobs,
                    }))?
                );
                return Ok(());
            }
            crate::say!("{}", show_profile(&record, &jobs));
            Ok(())
        }
        ProfileCommand::Validate { name } => {
            let validation = profiles.validate(&name).await?;
            if validation.passed {
                crate::say!("profile {name}: validation passed: {}", validation.detail);
                Ok(())
            } else {
                bail!("profile {name}: validation failed: {}", validation.detail)
            }
        }
        ProfileCommand::Publish { name } => {
            let jobs = profiles.publish(&name).await?;
            crate::say!("published profile {name}; its jobs:");
            for job in jobs {
                crate::say!(
                    "  {} at \"{}\" ({}), first run due now",
                    job.kind,
                    job.cron,
                    job.time_zone
                );
            }
            Ok(())
        }
        ProfileCommand::Unpublish { name } => {
            profiles.unpublish(&name).await?;
            crate::say!("profile {name} is a draft again; its jobs were removed");
            Ok(())
        }
        ProfileCommand::Delete { name, yes } => {
            let confirmed = yes || confirm(&name)?;
            profiles.delete(&name, confirmed).await?;
            crate::say!("deleted profile {name}; its audit entries are kept");
            Ok(())
        }
    }
}

/// On a terminal, asks for the profile's name to be typed back.
fn confirm(name: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprint!(
        "This deletes profile {name} with its subscriptions, jobs and job results. Type its name to confirm: "
    );
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(answer.trim() == name)
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn validation_text(p: &ProfileRecord) -> String {
    match &p.validation {
        None => "never".into(),
        Some(v) if v.passed => format!("passed {}", date_time(v.at)),
        Some(v) => format!("FAILED {}", date_time(v.at)),
    }
}

fn show_profile(p: &ProfileRecord, jobs: &[seatwarden_store::ScheduledJob]) -> String {
    let mut rows: Vec<(String, String)> = vec![
        ("profile".into(), p.name.clone()),
        ("tenant".into(), p.tenant_name.clone()),
        ("status".into(), p.status.as_str().into()),
        ("connection".into(), p.settings.connection.clone()),
        (
            "connector".into(),
            format!(
                "{}@{} (sha256 {})",
                p.connector.name, p.connector.version, p.connector.digest
            ),
        ),
        ("base URL".into(), p.connector.base_url.clone()),
        ("download subscriptions".into(), "yes (always)".into()),
        (
            "download activity".into(),
            yes_no(p.settings.download_activity).into(),
        ),
        (
            "reclaim subscriptions".into(),
            if p.settings.reclaim {
                "yes".into()
            } else {
                "no (report only)".into()
            },
        ),
        (
            "analyze activity from".into(),
            p.settings.activity_from.to_string(),
        ),
        ("validation".into(), validation_text(p)),
    ];
    if let Some(v) = &p.validation {
        rows.push(("validation detail".into(), v.detail.clone()));
    }
    if let Some(at) = p.published_at {
        rows.push(("published".into(), date_time(at)));
    }
    for job in jobs {
        rows.push((
            format!("job {}", job.kind),
            format!(
                "\"{}\" ({}), next {}{}",
                job.cron,
                job.time_zone,
                date_time(job.next_due_at),
                job.last_run_at
                    .map(|at| format!(", last {}", date_time(at)))
                    .unwrap_or_default()
            ),
        ));
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<width$}  {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

async fn jobs(
    app: &App,
    tenant: TenantId,
    tenant_name: &str,
    profile: Option<&str>,
    failed: bool,
    limit: i64,
    json: bool,
) -> Result<()> {
    let profile_id = match profile {
        Some(name) => Some(app.find_profile(tenant, tenant_name, name).await?.id),
        None => None,
    };
    let runs = app
        .storage
        .tenant_job_runs(tenant, profile_id, failed, limit)
        .await?;
    if json {
        crate::say!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(());
    }
    // A status line per profile: the latest run of each kind, so a failing
    // profile stands out before the detail.
    let recent = app
        .storage
        .tenant_job_runs(tenant, profile_id, false, 10_000)
        .await?;
    let mut status: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    let mut seen = std::collections::HashSet::new();
    // Profiles with a successful sync newer than the run at hand (`recent`
    // is newest first).
    let mut synced_since = std::collections::HashSet::new();
    for run in &recent {
        let sync_kind = matches!(run.kind.as_str(), "subscriptions" | "activity");
        if seen.insert((run.profile.as_str(), run.kind.as_str())) {
            // A failed one-off action (a deactivation, a validation) says
            // nothing about the profile's health once a later sync has
            // succeeded: it stays in the table, not in the status line.
            let one_off = !sync_kind && run.kind != "candidates";
            let mark = if run.status == "succeeded" || run.status == "running" {
                run.status.clone()
            } else if one_off && synced_since.contains(run.profile.as_str()) {
                format!("{} before the last sync", run.status)
            } else {
                run.status.to_uppercase()
            };
            status
                .entry(run.profile.as_str())
                .or_default()
                .push(format!("{} {mark}", run.kind));
        }
        if sync_kind && run.status == "succeeded" {
            synced_since.insert(run.profile.as_str());
        }
    }
    for (profile, kinds) in &status {
        let failing = kinds
            .iter()
            .any(|k| k.contains("FAILED") || k.contains("INTERRUPTED"));
        crate::say!(
            "{} {profile}: {}",
            if failing { "!!" } else { "ok" },
            kinds.join(", ")
        );
    }
    if !status.is_empty() {
        crate::say!();
    }
    crate::say!("{}", jobs_table(&runs));
    Ok(())
}

/// Job runs as a table, for people.
pub fn jobs_table(runs: &[JobRun]) -> String {
    let mut rows = vec![header(&[
        "id", "profile", "state", "kind", "trigger", "started", "took", "outcome", "pages",
        "items", "new", "updated", "gone", "error",
    ])];
    for run in runs {
        let took = run
            .finished_at
            .map(|end| format!("{:.1}s", (end - run.started_at) as f64 / 1000.0))
            .unwrap_or_else(|| "-".into());
        let error = match (&run.error_kind, &run.detail) {
            (Some(kind), Some(detail)) => format!("{kind}: {}", truncate(detail, 80)),
            (Some(kind), None) => kind.clone(),
            _ => String::new(),
        };
        // An attempt that resumed an earlier one names it: the earlier
        // attempt's own outcome stays in its row.
        let outcome = match run.resumes {
            Some(earlier) => format!("{} (resumes #{earlier})", run.status),
            None => run.status.clone(),
        };
        rows.push(vec![
            run.id.to_string(),
            run.profile.clone(),
            run.profile_status.clone().unwrap_or_else(|| "-".into()),
            run.kind.clone(),
            run.trigger.clone(),
            date_time(run.started_at),
            took,
            outcome,
            run.pages.to_string(),
            run.items.to_string(),
            run.created.to_string(),
            run.updated.to_string(),
            run.gone.to_string(),
            error,
        ]);
    }
    format!("{}\n{} jobs", table(&rows), runs.len())
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// A table's header row.
fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// Rows as left-aligned columns two spaces apart; the first row is the
/// header.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|row| {
            row.iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What `serve` runs.
struct ServeMode {
    /// Run the due jobs once, then exit.
    once: bool,
    /// Serve the API on this address.
    api: Option<std::net::SocketAddr>,
    /// Run the scheduler (off: an API-only node).
    scheduler: bool,
}

async fn serve(app: Arc<App>, mode: ServeMode) -> Result<()> {
    let once = mode.once;
    let scheduler = Scheduler::new(app.clone(), SchedulerOptions::default());
    let print = |outcome: &JobOutcome| {
        let result = match &outcome.result {
            JobResult::Succeeded(detail) => format!("succeeded: {detail}"),
            JobResult::Failed { kind, message } => format!("FAILED ({kind}): {message}"),
            JobResult::Interrupted => "interrupted by shutdown; resumes at its cursor".into(),
            JobResult::Skipped(why) => format!("skipped: {why}"),
        };
        crate::say!(
            "{} {}/{} {}: {result}",
            date_time(app.now()),
            outcome.tenant,
            outcome.profile,
            outcome.kind.as_str()
        );
    };
    let token = scheduler.shutdown_token();
    let signals = tokio::spawn(async move {
        shutdown_signal().await;
        crate::say_err!("seatwarden serve: stopping; running jobs stop after their current page");
        token.cancel();
    });
    // The answer-link pages, while the scheduler runs (not for --once).
    let listen = app
        .config
        .notifications
        .as_ref()
        .and_then(|n| n.listen)
        .filter(|_| !once);
    let answers = match listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("notifications.listen: cannot listen on {address}"))?;
            crate::say_err!("seatwarden serve: answer links served on http://{address}/answer");
            if !address.ip().is_loopback() {
                crate::say_err!(
                    "seatwarden serve: warning: notifications.listen {address} is reachable beyond this machine and speaks plain http; the links act for whoever holds them, so serve them only through a TLS-terminating proxy at the https answer_url"
                );
            }
            let stop = scheduler.shutdown_token();
            Some(tokio::spawn(seatwarden_app::answers::serve(
                app.clone(),
                listener,
                async move { stop.cancelled().await },
            )))
        }
        None => None,
    };
    let api = match mode.api {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("--listen: cannot listen on {address}"))?;
            let bound = listener.local_addr()?;
            crate::say_err!(
                "seatwarden serve: API on http://{bound}/api/v1 (contract at /api/v1/openapi.json), console on http://{bound}/console"
            );
            if !bound.ip().is_loopback() {
                crate::say_err!(
                    "seatwarden serve: warning: {bound} is reachable beyond this machine and speaks plain http; bearer tokens cross it in clear, so put a TLS-terminating proxy in front"
                );
            }
            Some(tokio::spawn(seatwarden_server::serve(
                listener,
                app.clone(),
                scheduler.shutdown_token(),
            )))
        }
        None => None,
    };
    let result = if once {
        scheduler
            .run_due()
            .await
            .map(|outcomes| outcomes.iter().for_each(print))
    } else if !mode.scheduler {
        crate::say_err!(
            "seatwarden serve: API only (--no-scheduler): no jobs run here; Ctrl-C or SIGTERM stops"
        );
        scheduler.shutdown_token().cancelled().await;
        Ok(())
    } else {
        let published = app.storage.published_profiles().await?;
        crate::say_err!(
            "seatwarden serve: {} published profiles, up to {} jobs at once, schedules in {}; Ctrl-C or SIGTERM stops gracefully",
            published.len(),
            app.config.scheduler.max_concurrent_jobs,
            app.config.scheduler.zone_name()
        );
        scheduler.serve(&print).await
    };
    signals.abort();
    scheduler.shutdown_token().cancel();
    if let Some(answers) = answers {
        answers.await.context("the answer-link server")??;
    }
    if let Some(api) = api {
        api.await.context("the API server")??;
    }
    result
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

async fn sync(app: &App, ctx: &ProfileContext, accept_gone: bool) -> Result<()> {
    let cancel = tokio_util::sync::CancellationToken::new();
    let interrupt = tokio::spawn({
        let cancel = cancel.clone();
        async move {
            shutdown_signal().await;
            cancel.cancel();
        }
    });
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
    let name = ctx.record.name.clone();
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
                Some(bar) => bar.set_message(output::escape(&line).into_owned()),
                None => crate::say_err!("{line}"),
            }
        }
        Progress::Retry { wait, reason, .. } => {
            let line = format!("{name}: retrying in {} ms: {reason}", wait.as_millis());
            match &bar {
                Some(bar) => bar.println(output::escape(&line)),
                None => crate::say_err!("{line}"),
            }
        }
    };
    let done = on_demand::sync(
        app,
        ctx,
        on_demand::SyncRequest {
            accept_gone,
            cancel,
            progress: &progress,
        },
    )
    .await;
    interrupt.abort();
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let done = done?;
    if let Some(err) = &done.lease_not_returned {
        crate::say_err!(
            "warning: could not give back the lease of profile {}: {err}; it runs out within {}",
            ctx.record.name,
            humantime_serde::re::humantime::format_duration(app.config.scheduler.lease)
        );
    }
    let report = done.report;
    let resumed = if report.resumed {
        " (resumed an interrupted run)"
    } else {
        ""
    };
    let discarded = report.discarded.describe();
    crate::say!(
        "profile {}: {} accounts in {} pages{resumed}; {} gone since the last sync{}",
        ctx.record.name,
        report.accounts,
        report.pages,
        report.gone,
        if discarded.is_empty() {
            String::new()
        } else {
            format!("; {discarded}")
        }
    );
    match report.activity {
        activity @ ActivityOutcome::Pulled { .. } => {
            crate::say!("activity: {}", activity.pulled_summary())
        }
        ActivityOutcome::Unsupported(why) => crate::say!("activity: not available ({why})"),
        ActivityOutcome::Skipped => crate::say!("activity: not downloaded for this profile"),
    }
    Ok(())
}

/// Who runs this command, for audit entries: the name of the process's
/// user id in `/etc/passwd` (not `$USER`, which containers leave unset and
/// anyone can set), else `uid:N`.
fn os_user() -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return "unknown".into();
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let id: u32 = fields.nth(1)?.parse().ok()?;
            (id == uid).then(|| name.to_string())
        })
        .next()
        .unwrap_or_else(|| format!("uid:{uid}"))
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
    let mut table_rows = vec![header(&[
        "principal",
        "account id",
        "active",
        "subscriptions",
        "last active",
        "source",
        "status",
    ])];
    for s in rows {
        table_rows.push(vec![
            s.principal.clone(),
            s.account_id.clone(),
            yes_no(s.active).into(),
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
    format!("{}\n{} subscriptions", table(&table_rows), rows.len())
}
