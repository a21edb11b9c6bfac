//! `seatwarden report activity`: how many active accounts of each profile
//! were last active 0-30, 30-60, 60-90, 90-120 or 120+ days ago, or never,
//! so an administrator can see what a reclamation threshold would catch.
//! Written as a table with a bar chart, JSON, CSV, or an SVG file.
//!
//! A bucket "30-60" holds accounts idle for at least 30 and fewer than 60
//! whole days; "never" holds accounts with no recorded activity.

use super::OutputFormat;
use anyhow::Result;
use seatwarden_domain::rules::days_between;
use seatwarden_store::{Storage, TenantId};
use serde::Serialize;
use std::io::Write;

/// The buckets, in order.
pub const BUCKETS: [&str; 6] = ["0-30", "30-60", "60-90", "90-120", "120+", "never"];

/// One profile's distribution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Distribution {
    /// The profile's name.
    pub profile: String,
    /// Accounts per bucket, in the order of [`BUCKETS`].
    pub accounts: [u64; 6],
}

impl Distribution {
    /// The profile's active accounts still at the vendor: every bucket summed.
    pub fn total(&self) -> u64 {
        self.accounts.iter().sum()
    }
}

/// The bucket of an account last active at `last` (epoch ms), seen `now`.
fn bucket(last: Option<i64>, now: i64) -> usize {
    match last {
        None => 5,
        Some(at) => usize::try_from(days_between(at, now).max(0) / 30)
            .unwrap_or(4)
            .min(4),
    }
}

/// The distribution of every profile of the tenant, by profile name. Only
/// active accounts still at the vendor count.
pub async fn activity(storage: &Storage, tenant: TenantId, now: i64) -> Result<Vec<Distribution>> {
    let mut out = Vec::new();
    for profile in storage.profiles(tenant).await? {
        let mut accounts = [0u64; 6];
        storage
            .scan_live_subscriptions(profile.id, |sub| {
                accounts[bucket(sub.last_active_at, now)] += 1;
                Ok(())
            })
            .await?;
        out.push(Distribution {
            profile: profile.name,
            accounts,
        });
    }
    Ok(out)
}

#[derive(Serialize)]
struct JsonBucket {
    days: &'static str,
    accounts: u64,
}

#[derive(Serialize)]
struct JsonProfile<'a> {
    profile: &'a str,
    total: u64,
    buckets: Vec<JsonBucket>,
}

const BAR_WIDTH: u64 = 40;

/// Writes the distributions in `format`; the table draws a bar per bucket,
/// scaled to the profile's largest bucket.
pub fn write_activity(
    rows: &[Distribution],
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<()> {
    match format {
        OutputFormat::Json => {
            let doc: Vec<JsonProfile> = rows
                .iter()
                .map(|d| JsonProfile {
                    profile: &d.profile,
                    total: d.total(),
                    buckets: BUCKETS
                        .iter()
                        .zip(d.accounts)
                        .map(|(days, accounts)| JsonBucket { days, accounts })
                        .collect(),
                })
                .collect();
            super::write_json(&doc, out)?;
        }
        OutputFormat::Csv => {
            let mut csv = crate::output::SafeCsv::new(out);
            csv.write_record(["profile", "days_since_activity", "accounts"])?;
            for d in rows {
                for (days, accounts) in BUCKETS.iter().zip(d.accounts) {
                    csv.write_record([d.profile.as_str(), days, &accounts.to_string()])?;
                }
            }
            csv.flush()?;
        }
        OutputFormat::Table => {
            if rows.is_empty() {
                writeln!(out, "no profiles")?;
            }
            for d in rows {
                writeln!(
                    out,
                    "{} ({} active accounts), days since last activity:",
                    d.profile,
                    d.total()
                )?;
                let largest = d.accounts.iter().copied().max().unwrap_or(0).max(1);
                for (days, accounts) in BUCKETS.iter().zip(d.accounts) {
                    // Round up so a bucket with any account shows a mark.
                    let width = (accounts * BAR_WIDTH).div_ceil(largest);
                    writeln!(
                        out,
                        "  {days:>7} {:<bar$} {accounts}",
                        "█".repeat(usize::try_from(width).unwrap_or(0)),
                        bar = usize::try_from(BAR_WIDTH).unwrap_or(40)
                    )?;
                }
            }
        }
    }
    Ok(())
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes the distributions as a standalone SVG bar chart: one group of
/// six bars per profile, each bar labelled with its count and carrying it
/// in `data-accounts`.
pub fn write_activity_svg(rows: &[Distribution], out: &mut dyn Write) -> Result<()> {
    const BAR: u64 = 28;
    const GAP: u64 = 8;
    const CHART_HEIGHT: u64 = 160;
    const LEFT: u64 = 40;
    let group_width = 6 * (BAR + GAP) + 40;
    let width = LEFT + group_width * u64::try_from(rows.len().max(1)).unwrap_or(1);
    let height = CHART_HEIGHT + 90;
    let base = CHART_HEIGHT + 30;
    writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">"#
    )?;
    writeln!(
        out,
        r#"<title>Accounts by days since last activity, per profile</title>"#
    )?;
    writeln!(
        out,
        r##"<line x1="{LEFT}" y1="{base}" x2="{width}" y2="{base}" stroke="#444"/>"##
    )?;
    let colours = [
        "#2e7d32", "#9e9d24", "#f9a825", "#ef6c00", "#c62828", "#616161",
    ];
    for (i, d) in rows.iter().enumerate() {
        let x0 = LEFT + group_width * u64::try_from(i).unwrap_or(0);
        let largest = d.accounts.iter().copied().max().unwrap_or(0).max(1);
        let profile = xml_escape(&d.profile);
        writeln!(
            out,
            r#"<g class="profile" data-profile="{profile}"><text x="{}" y="{}" font-weight="bold">{profile} ({} accounts)</text>"#,
            x0,
            height - 12,
            d.total()
        )?;
        for (b, (days, accounts)) in BUCKETS.iter().zip(d.accounts).enumerate() {
            let h = accounts * CHART_HEIGHT / largest;
            let x = x0 + u64::try_from(b).unwrap_or(0) * (BAR + GAP);
            writeln!(
                out,
                r#"<rect class="bar" data-days="{days}" data-accounts="{accounts}" x="{x}" y="{}" width="{BAR}" height="{h}" fill="{}"><title>{profile}: {accounts} accounts, {days} days</title></rect>"#,
                base - h,
                colours[b]
            )?;
            writeln!(
                out,
                r#"<text x="{}" y="{}" text-anchor="middle">{accounts}</text><text x="{}" y="{}" text-anchor="middle">{days}</text>"#,
                x + BAR / 2,
                base - h - 4,
                x + BAR / 2,
                base + 14
            )?;
        }
        writeln!(out, "</g>")?;
    }
    writeln!(out, "</svg>")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use seatwarden_domain::rules::DAY_MS;

    #[test]
    fn buckets_are_half_open_thirty_day_ranges() {
        let now = 1_000 * DAY_MS;
        let ago = |days: i64| Some(now - days * DAY_MS);
        assert_eq!(bucket(ago(0), now), 0);
        assert_eq!(bucket(ago(29), now), 0);
        assert_eq!(bucket(ago(30), now), 1);
        assert_eq!(bucket(ago(59), now), 1);
        assert_eq!(bucket(ago(60), now), 2);
        assert_eq!(bucket(ago(119), now), 3);
        assert_eq!(bucket(ago(120), now), 4);
        assert_eq!(bucket(ago(4000), now), 4);
        assert_eq!(bucket(None, now), 5);
        // Activity stamped after "now" (clock skew) is recent, not an error.
        assert_eq!(bucket(Some(now + DAY_MS), now), 0);
    }
}
