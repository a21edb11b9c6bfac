//! `seatwarden report ...`: picks the report and the output format; the
//! figures and their rendering live in `crate::reports`.

use crate::app::App;
use crate::reports::{self, OutputFormat};
use crate::storage::TenantId;
use anyhow::Result;
use clap::{Args, Subcommand};
use std::io::Write;

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Subscription identifiers with no software model, with the profiles
    /// and number of active subscriptions using each. Map them with
    /// [[models]] in the configuration, then `seatwarden apply`.
    Unrecognized(Format),
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
    fn output(&self) -> OutputFormat {
        match (self.json, self.csv) {
            (true, _) => OutputFormat::Json,
            (_, true) => OutputFormat::Csv,
            _ => OutputFormat::Table,
        }
    }
}

pub async fn run(
    app: &App,
    tenant: TenantId,
    tenant_name: &str,
    command: ReportCommand,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        ReportCommand::Unrecognized(format) => {
            let rows = reports::unrecognized(&app.storage, tenant).await?;
            if format.output() == OutputFormat::Table {
                writeln!(out, "tenant {tenant_name}:")?;
            }
            reports::write_unrecognized(&rows, format.output(), &mut out)
        }
    }
}
