//! Reports over a tenant's stored subscriptions: the identifiers with no
//! software model (here), the compliance position and savings of a
//! reconciliation run (`compliance`), the distribution of days since last
//! activity (`activity`) and spend by an attribute (`spend`).
//!
//! Each report is computed into plain rows and written by one function per
//! report in each format (terminal table, JSON, CSV with a header row), so
//! every format carries the same figures. Amounts are written as exact
//! decimal strings with their currency.

use anyhow::Result;
use seatwarden_domain::software_models::Catalog;
use seatwarden_store::{Storage, TenantId};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

pub mod activity;
pub mod compliance;
pub mod spend;

/// Writes `value` as indented JSON with a final newline.
pub(crate) fn write_json(value: &impl Serialize, out: &mut dyn Write) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// How a report is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// An aligned plain-text table for the terminal.
    Table,
    /// Indented JSON with a final newline.
    Json,
    /// CSV with a header row.
    Csv,
}

/// An identifier no model covers, and where it is used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unrecognized {
    /// The name of the connector whose subscriptions report the identifier.
    pub connector: String,
    /// The licence or seat identifier, exactly as the connector reports it.
    pub identifier: String,
    /// The profiles with active subscriptions carrying it, by name.
    pub profiles: Vec<String>,
    /// How many active subscriptions carry it.
    pub subscriptions: usize,
}

/// The tenant's unrecognized identifiers, most used first. Only active
/// subscriptions still at the vendor count.
pub async fn unrecognized(storage: &Storage, tenant: TenantId) -> Result<Vec<Unrecognized>> {
    let catalog = Catalog::new(
        storage.model_mappings(tenant).await?,
        storage.declared_models(tenant).await?,
    );
    let mut found: BTreeMap<(String, String), (BTreeSet<String>, usize)> = BTreeMap::new();
    for profile in storage.profiles(tenant).await? {
        let connector = &profile.connector.name;
        for subscription in storage.subscriptions(profile.id).await? {
            if !subscription.active || subscription.gone_at.is_some() {
                continue;
            }
            for identifier in &subscription.identifiers {
                if catalog.model(connector, identifier).is_none() {
                    let entry = found
                        .entry((connector.clone(), identifier.clone()))
                        .or_default();
                    entry.0.insert(profile.name.clone());
                    entry.1 += 1;
                }
            }
        }
    }
    let mut rows: Vec<Unrecognized> = found
        .into_iter()
        .map(
            |((connector, identifier), (profiles, subscriptions))| Unrecognized {
                connector,
                identifier,
                profiles: profiles.into_iter().collect(),
                subscriptions,
            },
        )
        .collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.subscriptions));
    Ok(rows)
}

/// Writes the unrecognized identifiers in `format`.
pub fn write_unrecognized(
    rows: &[Unrecognized],
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    match format {
        OutputFormat::Json => write_json(&rows, out)?,
        OutputFormat::Csv => {
            let mut csv = crate::output::SafeCsv::new(out);
            csv.write_record(["connector", "identifier", "subscriptions", "profiles"])?;
            for row in rows {
                csv.write_record([
                    row.connector.as_str(),
                    row.identifier.as_str(),
                    &row.subscriptions.to_string(),
                    &row.profiles.join(" "),
                ])?;
            }
            csv.flush()?;
        }
        OutputFormat::Table if rows.is_empty() => {
            writeln!(out, "every subscription identifier has a software model")?;
        }
        OutputFormat::Table => {
            writeln!(
                out,
                "{:<16} {:<32} {:>13}  PROFILES",
                "CONNECTOR", "IDENTIFIER", "SUBSCRIPTIONS"
            )?;
            for row in rows {
                writeln!(
                    out,
                    "{:<16} {:<32} {:>13}  {}",
                    row.connector,
                    row.identifier,
                    row.subscriptions,
                    row.profiles.join(", ")
                )?;
            }
            writeln!(
                out,
                "\nmap them with [[models]] in the configuration (tenant, connector, identifier, \
                 publisher, product, edition), then run seatwarden apply"
            )?;
        }
    }
    Ok(())
}
