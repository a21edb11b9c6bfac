//! Entitlements in the database: `seatwarden apply` mirrors a tenant's
//! `[[entitlements]]` here, keyed by name, with an audit entry per change;
//! one that leaves the file is deleted (the audit log keeps what it was).
//! `seatwarden entitlements add` stores ones of its own, which `apply`
//! leaves alone; names are unique across both.

use super::audit;
use super::{Source, Storage, TenantId};
use crate::{Result, StoreError};
use anyhow::{Context, anyhow};
use seatwarden_domain::entitlements::{Entitlement, Money, Period, parse_amount};
use seatwarden_domain::software_models::{Metric, SoftwareModel};
use sqlx::Row;

fn from_row(row: &sqlx::any::AnyRow) -> Result<Entitlement> {
    let name: String = row.get("name");
    let context = || format!("stored entitlement {name:?}");
    let text = |column: &str| -> String { row.get(column) };
    let date = |column: &str| -> Result<jiff::civil::Date> {
        Ok(text(column).parse().with_context(context)?)
    };
    Ok(Entitlement {
        model: SoftwareModel {
            publisher: text("publisher"),
            product: text("product"),
            edition: text("edition"),
            metric: Metric::parse(&text("metric"))
                .ok_or_else(|| anyhow!("{}: metric", context()))?,
        },
        quantity: u32::try_from(row.get::<i64, _>("quantity")).with_context(context)?,
        unit_cost: Money {
            amount: parse_amount(&text("unit_cost")).map_err(|e| anyhow!("{}: {e}", context()))?,
            currency: text("currency"),
        },
        period: Period::parse(&text("period")).ok_or_else(|| anyhow!("{}: period", context()))?,
        start: date("start_date")?,
        end: date("end_date")?,
        renewal: row
            .get::<Option<String>, _>("renewal_date")
            .map(|r| r.parse())
            .transpose()
            .with_context(context)?,
        name,
    })
}

async fn load<'e>(
    executor: impl sqlx::AnyExecutor<'e>,
    tenant: TenantId,
) -> Result<Vec<(Entitlement, Source)>> {
    let rows = sqlx::query("SELECT * FROM entitlements WHERE tenant_id = $1 ORDER BY name")
        .bind(tenant.0)
        .fetch_all(executor)
        .await?;
    rows.iter()
        .map(|row| {
            let source = Source::parse(&row.get::<String, _>("source")).unwrap_or(Source::Config);
            Ok((from_row(row)?, source))
        })
        .collect()
}

async fn upsert(
    tx: &mut sqlx::AnyConnection,
    tenant: TenantId,
    e: &Entitlement,
    source: Source,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO entitlements (tenant_id, name, publisher, product, edition, metric, quantity,
           unit_cost, currency, period, start_date, end_date, renewal_date, updated_at, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (tenant_id, name) DO UPDATE SET
           publisher = excluded.publisher, product = excluded.product, edition = excluded.edition,
           metric = excluded.metric, quantity = excluded.quantity, unit_cost = excluded.unit_cost,
           currency = excluded.currency, period = excluded.period, start_date = excluded.start_date,
           end_date = excluded.end_date, renewal_date = excluded.renewal_date,
           updated_at = excluded.updated_at, source = excluded.source",
    )
    .bind(tenant.0)
    .bind(&e.name)
    .bind(&e.model.publisher)
    .bind(&e.model.product)
    .bind(&e.model.edition)
    .bind(e.model.metric.as_str())
    .bind(i64::from(e.quantity))
    .bind(e.unit_cost.amount.to_string())
    .bind(&e.unit_cost.currency)
    .bind(e.period.as_str())
    .bind(e.start.to_string())
    .bind(e.end.to_string())
    .bind(e.renewal.map(|r| r.to_string()))
    .bind(at)
    .bind(source.as_str())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl Storage {
    /// A tenant's entitlements, by name.
    pub async fn entitlements(&self, tenant: TenantId) -> Result<Vec<Entitlement>> {
        Ok(load(&mut *self.read(tenant).await?, tenant)
            .await?
            .into_iter()
            .map(|(e, _)| e)
            .collect())
    }

    /// A tenant's entitlements with where each came from, by name.
    pub async fn entitlements_with_source(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<(Entitlement, Source)>> {
        load(&mut *self.read(tenant).await?, tenant).await
    }

    /// Stores an entitlement entered by hand (on the command line or over
    /// the API, as `source` says), with an audit entry. Refused if the name
    /// is taken by one from the configuration (change that in the file);
    /// replaces an earlier hand-entered one of the same name. Returns what
    /// changed, `None` if nothing did.
    pub async fn add_entitlement(
        &self,
        tenant: TenantId,
        entitlement: &Entitlement,
        source: Source,
        actor: &str,
        at: i64,
    ) -> Result<Option<String>> {
        let mut tx = self.write(tenant).await?;
        let stored = load(&mut *tx, tenant).await?;
        let line = match stored.iter().find(|(s, _)| s.name == entitlement.name) {
            Some((_, Source::Config)) => {
                return Err(StoreError::Conflict(format!(
                    "entitlement {:?} comes from the configuration's [[entitlements]]: change it there and run seatwarden apply, or add this one under another name",
                    entitlement.name
                )));
            }
            Some((old, _)) if old == entitlement => return Ok(None),
            Some((old, _)) => format!(
                "entitlement {}: {} -> {}",
                entitlement.name,
                old.summary(),
                entitlement.summary()
            ),
            None => format!(
                "entitlement {}: {}",
                entitlement.name,
                entitlement.summary()
            ),
        };
        upsert(&mut tx, tenant, entitlement, source, at).await?;
        let changes = vec![line.clone()];
        audit::commit_changes(tx, tenant, actor, "entitlement.add", &changes, at).await?;
        Ok(Some(line))
    }

    /// Removes an entitlement entered on the command line, with an audit
    /// entry. Ones from the configuration are refused (remove them from the
    /// file); an unknown name is an error.
    pub async fn remove_entitlement(
        &self,
        tenant: TenantId,
        name: &str,
        actor: &str,
        at: i64,
    ) -> Result<String> {
        let mut tx = self.write(tenant).await?;
        let stored = load(&mut *tx, tenant).await?;
        let old = match stored.iter().find(|(s, _)| s.name == name) {
            None => {
                return Err(StoreError::NotFound(format!(
                    "no entitlement named {name:?} (seatwarden entitlements lists them)"
                )));
            }
            Some((_, Source::Config)) => {
                return Err(StoreError::Conflict(format!(
                    "entitlement {name:?} comes from the configuration's [[entitlements]]: remove it there and run seatwarden apply"
                )));
            }
            Some((old, _)) => old,
        };
        sqlx::query("DELETE FROM entitlements WHERE tenant_id = $1 AND name = $2")
            .bind(tenant.0)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        let line = format!("entitlement {name}: removed (was {})", old.summary());
        let changes = vec![line.clone()];
        audit::commit_changes(tx, tenant, actor, "entitlement.remove", &changes, at).await?;
        Ok(line)
    }

    /// Makes the tenant's stored entitlements match `wanted`, in one
    /// transaction with an audit entry per change. Returns a line per change.
    pub async fn apply_entitlements(
        &self,
        tenant: TenantId,
        wanted: &[Entitlement],
        actor: &str,
        at: i64,
    ) -> Result<Vec<String>> {
        let mut tx = self.write(tenant).await?;
        let (stored, from_cli): (Vec<_>, Vec<_>) = load(&mut *tx, tenant)
            .await?
            .into_iter()
            .partition(|(_, source)| *source == Source::Config);
        if let Some(clash) = wanted
            .iter()
            .find(|w| from_cli.iter().any(|(c, _)| c.name == w.name))
        {
            return Err(StoreError::Conflict(format!(
                "entitlements[name = {:?}]: the name is taken by an entitlement added with seatwarden entitlements add; rename one of them, or remove that one with seatwarden entitlements remove",
                clash.name
            )));
        }
        let stored: Vec<Entitlement> = stored.into_iter().map(|(e, _)| e).collect();
        let mut changes = Vec::new();
        for e in wanted {
            let line = match stored.iter().find(|s| s.name == e.name) {
                Some(old) if old == e => continue,
                Some(old) => format!(
                    "entitlement {}: {} -> {}",
                    e.name,
                    old.summary(),
                    e.summary()
                ),
                None => format!("entitlement {}: {}", e.name, e.summary()),
            };
            upsert(&mut tx, tenant, e, Source::Config, at).await?;
            changes.push(line);
        }
        for old in stored
            .iter()
            .filter(|s| !wanted.iter().any(|w| w.name == s.name))
        {
            sqlx::query("DELETE FROM entitlements WHERE tenant_id = $1 AND name = $2")
                .bind(tenant.0)
                .bind(&old.name)
                .execute(&mut *tx)
                .await?;
            changes.push(format!(
                "entitlement {}: removed (no longer in the configuration; was {})",
                old.name,
                old.summary()
            ));
        }
        audit::commit_changes(tx, tenant, actor, "entitlement.apply", &changes, at).await?;
        Ok(changes)
    }
}
