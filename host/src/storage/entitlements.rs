//! Entitlements in the database: `seatwarden apply` mirrors a tenant's
//! `[[entitlements]]` here, keyed by name, with an audit entry per change;
//! one that leaves the file is deleted (the audit log keeps what it was).

use super::audit;
use super::{Storage, TenantId};
use crate::entitlements::{Entitlement, Money, Period, parse_amount};
use crate::models::{Metric, SoftwareModel};
use anyhow::{Context, Result, anyhow};
use sqlx::Row;

fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Entitlement> {
    let name: String = row.get("name");
    let context = || format!("stored entitlement {name:?}");
    let text = |column: &str| -> String { row.get(column) };
    let date =
        |column: &str| -> Result<jiff::civil::Date> { text(column).parse().with_context(context) };
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
    executor: impl sqlx::SqliteExecutor<'e>,
    tenant: TenantId,
) -> Result<Vec<Entitlement>> {
    let rows = sqlx::query("SELECT * FROM entitlements WHERE tenant_id = ? ORDER BY name")
        .bind(tenant.0)
        .fetch_all(executor)
        .await?;
    rows.iter().map(from_row).collect()
}

impl Storage {
    /// A tenant's entitlements, by name.
    pub async fn entitlements(&self, tenant: TenantId) -> Result<Vec<Entitlement>> {
        load(&self.pool, tenant).await
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
        let mut tx = self.write().await?;
        let stored = load(&mut *tx, tenant).await?;
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
            sqlx::query(
                "INSERT INTO entitlements (tenant_id, name, publisher, product, edition, metric, quantity,
                   unit_cost, currency, period, start_date, end_date, renewal_date, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (tenant_id, name) DO UPDATE SET
                   publisher = excluded.publisher, product = excluded.product, edition = excluded.edition,
                   metric = excluded.metric, quantity = excluded.quantity, unit_cost = excluded.unit_cost,
                   currency = excluded.currency, period = excluded.period, start_date = excluded.start_date,
                   end_date = excluded.end_date, renewal_date = excluded.renewal_date,
                   updated_at = excluded.updated_at",
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
            .execute(&mut *tx)
            .await?;
            changes.push(line);
        }
        for old in stored
            .iter()
            .filter(|s| !wanted.iter().any(|w| w.name == s.name))
        {
            sqlx::query("DELETE FROM entitlements WHERE tenant_id = ? AND name = ?")
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
