//! `seatwarden report spend --by ATTRIBUTE`: the yearly cost of the rights
//! in use grouped by a connector attribute (department, cost center, ...),
//! computed by `crate::reconciliation::spend_by`.

use super::OutputFormat;
use crate::reconciliation::Spend;
use anyhow::Result;
use std::io::Write;

const NOT_SET: &str = "(not set)";

/// Writes the spend rows in `format`; CSV has one row per value and currency.
pub fn write_spend(
    attribute: &str,
    rows: &[Spend],
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    match format {
        OutputFormat::Json => super::write_json(&rows, out)?,
        OutputFormat::Csv => {
            let mut csv = crate::output::SafeCsv::new(out);
            csv.write_record([
                attribute,
                "accounts",
                "currency",
                "annual_cost",
                "unpriced_rights",
            ])?;
            for row in rows {
                let value = row.value.as_deref().unwrap_or("");
                if row.annual_cost.is_empty() {
                    csv.write_record([
                        value,
                        &row.accounts.to_string(),
                        "",
                        "",
                        &row.unpriced_rights.to_string(),
                    ])?;
                }
                for money in &row.annual_cost {
                    csv.write_record([
                        value,
                        &row.accounts.to_string(),
                        &money.currency,
                        &money.amount.to_string(),
                        &row.unpriced_rights.to_string(),
                    ])?;
                }
            }
            csv.flush()?;
        }
        OutputFormat::Table => {
            if rows.is_empty() {
                writeln!(out, "no active accounts with a software model")?;
                return Ok(());
            }
            writeln!(
                out,
                "{:<32} {:>9}  {:<24} {:>8}",
                attribute.to_uppercase(),
                "ACCOUNTS",
                "ANNUAL COST",
                "UNPRICED"
            )?;
            for row in rows {
                let cost = if row.annual_cost.is_empty() {
                    "-".to_string()
                } else {
                    row.annual_cost
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" + ")
                };
                writeln!(
                    out,
                    "{:<32} {:>9}  {:<24} {:>8}",
                    row.value.as_deref().unwrap_or(NOT_SET),
                    row.accounts,
                    cost,
                    row.unpriced_rights
                )?;
            }
            if rows.iter().all(|r| r.value.is_none()) {
                writeln!(
                    out,
                    "no account has an attribute named {attribute:?}: the connectors' attributes are listed by seatwarden subscriptions --json"
                )?;
            }
        }
    }
    Ok(())
}
