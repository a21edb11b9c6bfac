//! `seatwarden report ...` and `seatwarden reconcile`: pick the report and
//! the output format; the figures live in `seatwarden_app::reconciliation` and
//! their rendering in `seatwarden_app::reports`.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use seatwarden_app::reconciliation;
use seatwarden_app::reconciliation::Run;
use seatwarden_app::reports::compliance;
use seatwarden_app::reports::{self, OutputFormat, activity, spend};
use seatwarden_app::wiring::App;
use seatwarden_store::{TenantId, Trigger};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Subscription identifiers with no software model, with the profiles
    /// and number of active subscriptions using each. Map them with
    /// [[models]] in the configuration, then `seatwarden apply`.
    Unrecognized(Format),
    /// The licence position per software model and per profile: rights
    /// owned, used, available, true-up cost, over-licensed amount and
    /// potential savings, from the newest reconciliation run (one is run
    /// first if there is none, or with --fresh).
    Compliance(RunReport),
    /// Potential savings (open removal candidates) and actual savings
    /// (rights reclaimed) by month, from the newest reconciliation run.
    Savings(RunReport),
    /// Active accounts per profile by days since last activity (0-30,
    /// 30-60, 60-90, 90-120, 120+, never), as a bar chart.
    Activity {
        #[command(flatten)]
        format: Format,
        /// Also write the chart as an SVG file here.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
    /// The yearly cost of the rights in use grouped by a connector
    /// attribute, e.g. department or costCenter.
    Spend {
        /// The attribute to group by (name matched without regard to case).
        #[arg(long, value_name = "ATTRIBUTE")]
        by: String,
        #[command(flatten)]
        format: Format,
    },
}

/// A report over reconciliation runs.
#[derive(Debug, Args)]
pub struct RunReport {
    #[command(flatten)]
    format: Format,
    /// Reconcile now (the run is kept) instead of reading the newest run.
    #[arg(long, conflicts_with = "history")]
    fresh: bool,
    /// The totals of past runs, newest first: the trend.
    #[arg(long)]
    history: bool,
    /// How many past runs --history shows.
    #[arg(long, default_value_t = 20, requires = "history")]
    limit: i64,
}

/// How a report is printed: a table unless --json or --csv.
#[derive(Debug, Args)]
pub struct Format {
    /// Print JSON instead of a table.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV (header row first) instead of a table.
    #[arg(long)]
    csv: bool,
}

impl Format {
    /// The format asked for.
    pub(crate) fn output(&self) -> OutputFormat {
        match (self.json, self.csv) {
            (true, _) => OutputFormat::Json,
            (_, true) => OutputFormat::Csv,
            _ => OutputFormat::Table,
        }
    }
}

impl ReportCommand {
    /// Whether the report only reads stored data (compliance and savings
    /// reconcile, and keep the run, unless they show the history).
    pub fn reads_only(&self) -> bool {
        match self {
            ReportCommand::Compliance(report) | ReportCommand::Savings(report) => report.history,
            _ => true,
        }
    }
}

pub async fn run(
    app: &App,
    tenant: TenantId,
    tenant_name: &str,
    command: ReportCommand,
) -> Result<()> {
    let mut out = seatwarden_app::output::stdout();
    let zone = &app.config.scheduler.time_zone;
    let table_heading = |format: &Format, out: &mut dyn Write| -> Result<()> {
        if format.output() == OutputFormat::Table {
            writeln!(out, "tenant {tenant_name}:")?;
        }
        Ok(())
    };
    match command {
        ReportCommand::Unrecognized(format) => {
            let rows = reports::unrecognized(&app.storage, tenant).await?;
            table_heading(&format, &mut out)?;
            reports::write_unrecognized(&rows, format.output(), &mut out)
        }
        ReportCommand::Compliance(report) | ReportCommand::Savings(report) if report.history => {
            let runs = app
                .storage
                .reconciliation_runs(tenant, report.limit)
                .await?
                .iter()
                .map(Run::read)
                .collect::<Result<Vec<_>>>()?;
            table_heading(&report.format, &mut out)?;
            compliance::write_history(&runs, report.format.output(), &mut out)
        }
        ReportCommand::Compliance(report) => {
            let run = newest_run(app, tenant, report.fresh).await?;
            table_heading(&report.format, &mut out)?;
            compliance::write_compliance(&run, report.format.output(), &mut out)
        }
        ReportCommand::Savings(report) => {
            let run = newest_run(app, tenant, report.fresh).await?;
            table_heading(&report.format, &mut out)?;
            compliance::write_savings(&run, report.format.output(), &mut out)
        }
        ReportCommand::Activity { format, svg } => {
            let rows = activity::activity(&app.storage, tenant, app.now()).await?;
            table_heading(&format, &mut out)?;
            activity::write_activity(&rows, format.output(), &mut out)?;
            if let Some(path) = svg {
                let mut file = std::io::BufWriter::new(
                    std::fs::File::create(&path)
                        .with_context(|| format!("cannot create {}", path.display()))?,
                );
                activity::write_activity_svg(&rows, &mut file)?;
                file.flush()
                    .with_context(|| format!("cannot write {}", path.display()))?;
                if format.output() == OutputFormat::Table {
                    writeln!(out, "chart written to {}", path.display())?;
                }
            }
            Ok(())
        }
        ReportCommand::Spend { by, format } => {
            let today = reconciliation::day(app.now(), zone)?;
            let rows = reconciliation::spend_by(&app.storage, tenant, today, &by).await?;
            table_heading(&format, &mut out)?;
            spend::write_spend(&by, &rows, format.output(), &mut out)
        }
    }
}

/// The newest kept reconciliation run, or a new one when there is none or
/// `fresh` asks for it.
async fn newest_run(app: &App, tenant: TenantId, fresh: bool) -> Result<Run> {
    if !fresh && let Some(stored) = app.storage.reconciliation_runs(tenant, 1).await?.first() {
        return Run::read(stored);
    }
    reconcile_now(app, tenant).await
}

/// Reconciles the tenant now and keeps the run.
async fn reconcile_now(app: &App, tenant: TenantId) -> Result<Run> {
    reconciliation::run(app, tenant, Trigger::Manual).await
}

/// `seatwarden reconcile`: reconciles now, keeps the run, prints the
/// compliance position.
pub async fn reconcile(
    app: &App,
    tenant: TenantId,
    tenant_name: &str,
    format: Format,
) -> Result<()> {
    let run = reconcile_now(app, tenant).await?;
    let mut out = seatwarden_app::output::stdout();
    if format.output() == OutputFormat::Table {
        writeln!(out, "tenant {tenant_name}:")?;
    }
    compliance::write_compliance(&run, format.output(), &mut out)
}
