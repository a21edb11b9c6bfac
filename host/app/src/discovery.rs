//! The SaaS estate as an identity provider sees it (`seatwarden idp apps`):
//! every application people sign in to through it, how many people are
//! assigned to each, and which of the tenant's profiles already read it.
//!
//! The connector lists the applications (contract 0.2.3's optional
//! `identity-provider` interface); the counts come from its ordinary
//! `list-users`, called on the profile's connection pointed at each
//! application in turn, so they are exactly what a profile of that
//! application would download. Every call runs in the sandbox under the
//! connection's allowlist and rate limit, read-only.

use crate::wiring::App;
use anyhow::{Context, Result, bail};
use seatwarden_sandbox::{Connection, Connector};
use seatwarden_store::TenantId;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// The most applications listed, and pages read per listing, before the
/// host decides a connector's listing does not end.
const MAX_APPLICATIONS: usize = 20_000;
const MAX_PAGES: usize = 100_000;

/// One application of the identity provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Application {
    /// Its id, as the connector's app option takes it.
    pub id: String,
    /// Its administrators' name for it.
    pub label: String,
    /// Whether people can sign in to it.
    pub active: bool,
    /// People assigned to it, when counted.
    pub assigned: Option<u64>,
    /// Of those, people who hold a seat (assignment and person active).
    pub assigned_active: Option<u64>,
    /// Why the count failed, when it did (the other rows still count).
    pub count_error: Option<String>,
    /// The tenant's profiles that read this application.
    pub profiles: Vec<String>,
}

/// Lists the applications of the identity provider behind `profile`'s
/// connection, counted.
pub async fn applications(
    app: &App,
    tenant: TenantId,
    tenant_name: &str,
    profile: &str,
) -> Result<Vec<Application>> {
    let ctx = app.open_profile(tenant, tenant_name, profile).await?;
    let connector = &ctx.connected.connector;
    let Some(option) = connector.app_option().map(str::to_string) else {
        bail!(
            "profile {profile} uses connector {}, which does not list an identity provider's applications; name a profile of an identity provider's connector (okta)",
            connector.descriptor().label()
        );
    };
    let listed = list_all(connector, &ctx.connected.connection).await?;
    let readers = profiles_by_application(
        app,
        tenant,
        tenant_name,
        &ctx.record.connector.name,
        &option,
    )
    .await?;
    let mut rows = Vec::with_capacity(listed.len());
    for listed in listed {
        let connection = ctx.connected.connection.with_option(&option, &listed.id);
        let (assigned, assigned_active, count_error) = match count(connector, &connection).await {
            Ok((all, active)) => (Some(all), Some(active), None),
            Err(err) => (None, None, Some(format!("{err:#}"))),
        };
        rows.push(Application {
            profiles: readers.get(&listed.id).cloned().unwrap_or_default(),
            id: listed.id,
            label: listed.label,
            active: listed.active,
            assigned,
            assigned_active,
            count_error,
        });
    }
    Ok(rows)
}

/// Every application the connector lists, each id once.
async fn list_all(
    connector: &Connector,
    connection: &Connection,
) -> Result<Vec<seatwarden_sandbox::contract::identity_provider::Application>> {
    let mut all = Vec::new();
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut cursors = HashSet::new();
    loop {
        let page = connector
            .list_applications(connection, cursor.as_deref())
            .await
            .context("listing the identity provider's applications")?;
        for application in page.applications {
            if seen.insert(application.id.clone()) {
                all.push(application);
            }
        }
        if all.len() > MAX_APPLICATIONS {
            bail!(
                "the identity provider lists more than {MAX_APPLICATIONS} applications; the discovery table stops there"
            );
        }
        match page.next_cursor {
            None => return Ok(all),
            Some(next) if !cursors.insert(next.clone()) => bail!(
                "the connector returned a cursor it had already returned: its listing of applications would not end"
            ),
            Some(next) => cursor = Some(next),
        }
    }
}

/// People assigned to the application the connection points at: all, and
/// those holding a seat.
async fn count(connector: &Connector, connection: &Connection) -> Result<(u64, u64)> {
    let (mut all, mut active) = (0u64, 0u64);
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut cursors = HashSet::new();
    for _ in 0..MAX_PAGES {
        let page = connector
            .list_users(connection, cursor.as_deref())
            .await
            .map_err(anyhow::Error::new)?;
        for account in page.accounts {
            if seen.insert(account.id) {
                all += 1;
                active += u64::from(account.active);
            }
        }
        match page.next_cursor {
            None => return Ok((all, active)),
            Some(next) if !cursors.insert(next.clone()) => {
                bail!("the connector repeated a cursor; the count would not end")
            }
            Some(next) => cursor = Some(next),
        }
    }
    bail!("more than {MAX_PAGES} pages; the count stops there")
}

/// The tenant's profiles of the same connector, by the application their
/// connection's app option names. A profile whose connection cannot be
/// opened (its credential unreadable, say) is left out, not fatal: the
/// table is for looking.
async fn profiles_by_application(
    app: &App,
    tenant: TenantId,
    tenant_name: &str,
    connector_name: &str,
    option: &str,
) -> Result<BTreeMap<String, Vec<String>>> {
    let mut readers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for record in app.storage.profiles(tenant).await? {
        if record.connector.name != connector_name {
            continue;
        }
        let Ok(connected) = app.connect(tenant_name, &record.settings.connection).await else {
            continue;
        };
        if let Some(id) = connected.connection.option(option) {
            readers.entry(id.to_string()).or_default().push(record.name);
        }
    }
    Ok(readers)
}

/// Prints the table, JSON or CSV of [`applications`].
pub fn write(
    rows: &[Application],
    format: crate::reports::OutputFormat,
    out: &mut dyn std::io::Write,
) -> Result<()> {
    use crate::reports::OutputFormat;
    let count = |n: Option<u64>| n.map_or_else(|| "?".to_string(), |n| n.to_string());
    match format {
        OutputFormat::Json => crate::reports::write_json(&rows, out)?,
        OutputFormat::Csv => {
            let mut csv = crate::output::SafeCsv::new(out);
            csv.write_record([
                "id",
                "label",
                "active",
                "assigned",
                "assigned_active",
                "profiles",
                "count_error",
            ])?;
            for row in rows {
                csv.write_record([
                    row.id.as_str(),
                    row.label.as_str(),
                    if row.active { "true" } else { "false" },
                    &count(row.assigned),
                    &count(row.assigned_active),
                    &row.profiles.join(" "),
                    row.count_error.as_deref().unwrap_or(""),
                ])?;
            }
            csv.flush()?;
        }
        OutputFormat::Table if rows.is_empty() => {
            writeln!(out, "the identity provider lists no applications")?;
        }
        OutputFormat::Table => {
            writeln!(
                out,
                "{:<24} {:<32} {:<8} {:>9} {:>9}  PROFILES",
                "ID", "LABEL", "STATUS", "ASSIGNED", "SEATED"
            )?;
            for row in rows {
                writeln!(
                    out,
                    "{:<24} {:<32} {:<8} {:>9} {:>9}  {}",
                    row.id,
                    crate::output::escape(&row.label),
                    if row.active { "active" } else { "inactive" },
                    count(row.assigned),
                    count(row.assigned_active),
                    match (&row.count_error, row.profiles.is_empty()) {
                        (Some(err), _) => format!("(not counted: {})", crate::output::escape(err)),
                        (None, true) => "(none)".to_string(),
                        (None, false) => row.profiles.join(", "),
                    }
                )?;
            }
            let unprofiled = rows.iter().filter(|r| r.profiles.is_empty()).count();
            writeln!(
                out,
                "{} applications, {unprofiled} without a profile",
                rows.len()
            )?;
        }
    }
    Ok(())
}
