//! `seatwarden report compliance` and `report savings`: a reconciliation
//! run's position (see `crate::reconciliation`) as a table, JSON or CSV,
//! and the trend over past runs (`--history`).

use super::OutputFormat;
use crate::reconciliation::{Run, Totals};
use anyhow::Result;
use seatwarden_domain::entitlements::Money;
use serde::Serialize;
use std::io::Write;

fn heading(run: &Run) -> String {
    format!(
        "reconciliation run {} ({}, {}) as of {}",
        run.id,
        run.trigger,
        timestamp(run.finished_at),
        run.position.as_of
    )
}

/// The width of a table's model column: its longest name.
fn model_width<'a>(
    models: impl Iterator<Item = &'a seatwarden_domain::software_models::SoftwareModel>,
) -> usize {
    models
        .map(|m| m.to_string().chars().count())
        .max()
        .unwrap_or(5)
}

fn timestamp(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

/// The amount alone (CSV), empty when unpriced.
fn amount(money: &Option<Money>) -> String {
    money
        .as_ref()
        .map_or_else(String::new, |m| m.amount.to_string())
}

/// The amount with its currency (tables), `-` when unpriced.
fn priced(money: &Option<Money>) -> String {
    money.as_ref().map_or_else(|| "-".into(), Money::to_string)
}

fn currency(money: &Option<Money>) -> &str {
    money.as_ref().map_or("", |m| m.currency.as_str())
}

#[derive(Serialize)]
struct WithRun<'a, T: Serialize> {
    run: i64,
    reconciled_at: String,
    #[serde(flatten)]
    body: &'a T,
}

fn write_json<T: Serialize>(run: &Run, body: &T, out: &mut dyn Write) -> Result<()> {
    let doc = WithRun {
        run: run.id,
        reconciled_at: timestamp(run.finished_at),
        body,
    };
    super::write_json(&doc, out)
}

/// One line per currency, after `indent`.
fn write_totals(totals: &[Totals], indent: &str, out: &mut dyn Write) -> Result<()> {
    for t in totals {
        writeln!(
            out,
            "{indent}{}: annual cost {}, true-up {}, over-licensed {}, potential savings {}, actual savings {} (per year)",
            t.currency,
            t.annual_cost,
            t.true_up_cost,
            t.over_licensed,
            t.potential_savings,
            t.actual_savings
        )?;
    }
    Ok(())
}

/// Writes a run's compliance position: one line per model, then per
/// profile and model, then the totals per currency.
pub fn write_compliance(run: &Run, format: OutputFormat, out: &mut dyn Write) -> Result<()> {
    let p = &run.position;
    match format {
        OutputFormat::Json => write_json(run, p, out),
        OutputFormat::Csv => {
            let mut csv = crate::output::SafeCsv::new(out);
            csv.write_record([
                "scope",
                "profile",
                "publisher",
                "product",
                "edition",
                "metric",
                "status",
                "owned",
                "used",
                "excluded",
                "available",
                "shortfall",
                "open_candidates",
                "currency",
                "unit_price",
                "annual_cost",
                "true_up_cost",
                "over_licensed",
                "potential_savings",
            ])?;
            for m in &p.models {
                csv.write_record([
                    "model",
                    "",
                    &m.model.publisher,
                    &m.model.product,
                    &m.model.edition,
                    m.model.metric.as_str(),
                    m.status.as_str(),
                    &m.owned.to_string(),
                    &m.used.to_string(),
                    &m.excluded.to_string(),
                    &m.available.to_string(),
                    &m.shortfall.to_string(),
                    &m.open_candidates.to_string(),
                    currency(&m.unit_price),
                    &amount(&m.unit_price),
                    &amount(&m.annual_cost),
                    &amount(&m.true_up_cost),
                    &amount(&m.over_licensed),
                    &amount(&m.potential_savings),
                ])?;
            }
            for u in &p.profiles {
                csv.write_record([
                    "profile",
                    &u.profile,
                    &u.model.publisher,
                    &u.model.product,
                    &u.model.edition,
                    u.model.metric.as_str(),
                    "",
                    "",
                    &u.used.to_string(),
                    &u.excluded.to_string(),
                    "",
                    "",
                    &u.open_candidates.to_string(),
                    currency(&u.annual_cost),
                    "",
                    &amount(&u.annual_cost),
                    "",
                    "",
                    &amount(&u.potential_savings),
                ])?;
            }
            csv.flush()?;
            Ok(())
        }
        OutputFormat::Table => {
            writeln!(out, "{}", heading(run))?;
            if p.models.is_empty() {
                writeln!(
                    out,
                    "no software model is owned or in use (sync a profile, map identifiers, add entitlements)"
                )?;
            } else {
                let w = model_width(
                    p.models
                        .iter()
                        .map(|m| &m.model)
                        .chain(p.profiles.iter().map(|u| &u.model)),
                );
                writeln!(
                    out,
                    "{:<w$} {:<15} {:>6} {:>6} {:>5} {:>6} {:>6} {:>5}  {:>16} {:>16} {:>16} {:>16}",
                    "MODEL",
                    "STATUS",
                    "OWNED",
                    "USED",
                    "EXCL",
                    "AVAIL",
                    "SHORT",
                    "CAND",
                    "UNIT/YEAR",
                    "TRUE-UP",
                    "OVER-LICENSED",
                    "POTENTIAL"
                )?;
                for m in &p.models {
                    writeln!(
                        out,
                        "{:<w$} {:<15} {:>6} {:>6} {:>5} {:>6} {:>6} {:>5}  {:>16} {:>16} {:>16} {:>16}",
                        m.model.to_string(),
                        m.status.as_str(),
                        m.owned,
                        m.used,
                        m.excluded,
                        m.available,
                        m.shortfall,
                        m.open_candidates,
                        priced(&m.unit_price),
                        priced(&m.true_up_cost),
                        priced(&m.over_licensed),
                        priced(&m.potential_savings)
                    )?;
                }
                writeln!(out, "\nby profile:")?;
                writeln!(
                    out,
                    "{:<20} {:<w$} {:>6} {:>5} {:>5}  {:>16} {:>16}",
                    "PROFILE", "MODEL", "USED", "EXCL", "CAND", "ANNUAL COST", "POTENTIAL"
                )?;
                for u in &p.profiles {
                    writeln!(
                        out,
                        "{:<20} {:<w$} {:>6} {:>5} {:>5}  {:>16} {:>16}",
                        u.profile,
                        u.model.to_string(),
                        u.used,
                        u.excluded,
                        u.open_candidates,
                        priced(&u.annual_cost),
                        priced(&u.potential_savings)
                    )?;
                }
                writeln!(out)?;
                write_totals(&p.totals, "", out)?;
            }
            if p.unrecognized_subscriptions > 0 {
                writeln!(
                    out,
                    "{} active subscriptions carry identifiers with no software model and are left out: see seatwarden report unrecognized",
                    p.unrecognized_subscriptions
                )?;
            }
            Ok(())
        }
    }
}

/// What `report savings` shows.
#[derive(Serialize)]
struct Savings<'a> {
    as_of: jiff::civil::Date,
    /// Models with open removal candidates.
    potential: Vec<Potential<'a>>,
    /// Rights reclaimed and not given back, by month.
    actual: &'a [crate::reconciliation::MonthlySavings],
    totals: &'a [Totals],
}

#[derive(Serialize)]
struct Potential<'a> {
    model: &'a seatwarden_domain::software_models::SoftwareModel,
    open_candidates: u64,
    potential_savings: &'a Option<Money>,
}

/// Writes a run's savings: potential (open candidates) per model and
/// actual (reclaimed rights) per month and model, as yearly amounts.
pub fn write_savings(run: &Run, format: OutputFormat, out: &mut dyn Write) -> Result<()> {
    let p = &run.position;
    let potential: Vec<Potential> = p
        .models
        .iter()
        .filter(|m| m.open_candidates > 0)
        .map(|m| Potential {
            model: &m.model,
            open_candidates: m.open_candidates,
            potential_savings: &m.potential_savings,
        })
        .collect();
    match format {
        OutputFormat::Json => write_json(
            run,
            &Savings {
                as_of: p.as_of,
                potential,
                actual: &p.savings,
                totals: &p.totals,
            },
            out,
        ),
        OutputFormat::Csv => {
            let mut csv = crate::output::SafeCsv::new(out);
            csv.write_record([
                "kind",
                "month",
                "publisher",
                "product",
                "edition",
                "accounts",
                "currency",
                "annual_savings",
            ])?;
            for row in &potential {
                csv.write_record([
                    "potential",
                    "",
                    &row.model.publisher,
                    &row.model.product,
                    &row.model.edition,
                    &row.open_candidates.to_string(),
                    currency(row.potential_savings),
                    &amount(row.potential_savings),
                ])?;
            }
            for row in &p.savings {
                csv.write_record([
                    "actual",
                    &row.month,
                    &row.model.publisher,
                    &row.model.product,
                    &row.model.edition,
                    &row.reclaimed.to_string(),
                    currency(&row.annual_savings),
                    &amount(&row.annual_savings),
                ])?;
            }
            csv.flush()?;
            Ok(())
        }
        OutputFormat::Table => {
            let w = model_width(
                potential
                    .iter()
                    .map(|row| row.model)
                    .chain(p.savings.iter().map(|row| &row.model)),
            );
            writeln!(out, "{}", heading(run))?;
            writeln!(
                out,
                "potential savings (open removal candidates, per year):"
            )?;
            if potential.is_empty() {
                writeln!(out, "  none: no open removal candidates on priced models")?;
            }
            for row in &potential {
                writeln!(
                    out,
                    "  {:<w$} {:>6} accounts  {:>16}",
                    row.model.to_string(),
                    row.open_candidates,
                    priced(row.potential_savings)
                )?;
            }
            writeln!(
                out,
                "actual savings (rights reclaimed, per year, by month):"
            )?;
            if p.savings.is_empty() {
                writeln!(out, "  none yet")?;
            }
            for row in &p.savings {
                writeln!(
                    out,
                    "  {}  {:<w$} {:>6} accounts  {:>16}",
                    row.month,
                    row.model.to_string(),
                    row.reclaimed,
                    priced(&row.annual_savings)
                )?;
            }
            writeln!(out)?;
            write_totals(&p.totals, "", out)?;
            Ok(())
        }
    }
}

/// One run's totals, for the trend.
#[derive(Serialize)]
struct HistoryRow<'a> {
    run: i64,
    trigger: &'a str,
    reconciled_at: String,
    as_of: jiff::civil::Date,
    owned: u64,
    used: u64,
    totals: &'a [Totals],
}

/// Writes past runs' totals, newest first: the trend.
pub fn write_history(runs: &[Run], format: OutputFormat, out: &mut dyn Write) -> Result<()> {
    let rows: Vec<HistoryRow> = runs
        .iter()
        .map(|r| HistoryRow {
            run: r.id,
            trigger: &r.trigger,
            reconciled_at: timestamp(r.finished_at),
            as_of: r.position.as_of,
            owned: r.position.models.iter().map(|m| m.owned).sum(),
            used: r.position.models.iter().map(|m| m.used).sum(),
            totals: &r.position.totals,
        })
        .collect();
    match format {
        OutputFormat::Json => super::write_json(&rows, out)?,
        OutputFormat::Csv => {
            let mut csv = crate::output::SafeCsv::new(out);
            csv.write_record([
                "run",
                "trigger",
                "reconciled_at",
                "as_of",
                "owned",
                "used",
                "currency",
                "annual_cost",
                "true_up_cost",
                "over_licensed",
                "potential_savings",
                "actual_savings",
            ])?;
            for row in &rows {
                let none = [Totals::default()];
                let totals = if row.totals.is_empty() {
                    &none[..]
                } else {
                    row.totals
                };
                for t in totals {
                    csv.write_record([
                        &row.run.to_string(),
                        row.trigger,
                        &row.reconciled_at,
                        &row.as_of.to_string(),
                        &row.owned.to_string(),
                        &row.used.to_string(),
                        &t.currency,
                        &t.annual_cost.to_string(),
                        &t.true_up_cost.to_string(),
                        &t.over_licensed.to_string(),
                        &t.potential_savings.to_string(),
                        &t.actual_savings.to_string(),
                    ])?;
                }
            }
            csv.flush()?;
        }
        OutputFormat::Table => {
            if rows.is_empty() {
                writeln!(out, "no reconciliation runs yet (seatwarden reconcile)")?;
            }
            for row in &rows {
                writeln!(
                    out,
                    "run {} ({}, {}) as of {}: {} owned, {} used",
                    row.run, row.trigger, row.reconciled_at, row.as_of, row.owned, row.used
                )?;
                write_totals(row.totals, "  ", out)?;
            }
        }
    }
    Ok(())
}
