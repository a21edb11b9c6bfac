//! Identifier-to-model mappings in the database: `seatwarden apply` mirrors
//! the configuration's `[[models]]` of a tenant here (an audit entry per
//! change) and reports read them from here. A mapping that leaves the file
//! is deleted: its identifier falls back to the built-in model, or becomes
//! unrecognized again, and the audit log keeps what it was.

use super::audit;
use super::{Storage, TenantId};
use crate::Result;
use anyhow::Context;
use seatwarden_domain::software_models::{Mapping, Metric, SoftwareModel};
use sqlx::Row;

async fn load<'e>(
    executor: impl sqlx::SqliteExecutor<'e>,
    tenant: TenantId,
) -> Result<Vec<Mapping>> {
    let rows = sqlx::query(
        "SELECT connector, identifier, publisher, product, edition, metric FROM identifier_models
         WHERE tenant_id = ? ORDER BY connector, identifier",
    )
    .bind(tenant.0)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|row| {
            let metric: String = row.get("metric");
            Ok(Mapping {
                connector: row.get("connector"),
                identifier: row.get("identifier"),
                model: SoftwareModel {
                    publisher: row.get("publisher"),
                    product: row.get("product"),
                    edition: row.get("edition"),
                    metric: Metric::parse(&metric)
                        .with_context(|| format!("stored licence metric {metric:?}"))?,
                },
            })
        })
        .collect()
}

impl Storage {
    /// A tenant's identifier mappings.
    pub async fn model_mappings(&self, tenant: TenantId) -> Result<Vec<Mapping>> {
        load(&self.pool, tenant).await
    }

    /// Makes the tenant's stored mappings match `wanted`, in one transaction
    /// with an audit entry per change. Returns a line per change.
    pub async fn apply_model_mappings(
        &self,
        tenant: TenantId,
        wanted: &[Mapping],
        actor: &str,
        at: i64,
    ) -> Result<Vec<String>> {
        let mut tx = self.write().await?;
        let stored = load(&mut *tx, tenant).await?;
        let same_key =
            |a: &Mapping, b: &Mapping| a.connector == b.connector && a.identifier == b.identifier;
        let mut changes = Vec::new();
        for mapping in wanted {
            let line = match stored.iter().find(|s| same_key(s, mapping)) {
                Some(old) if old == mapping => continue,
                Some(old) => format!(
                    "model of {}/{}: {} -> {}",
                    mapping.connector, mapping.identifier, old.model, mapping.model
                ),
                None => format!(
                    "model of {}/{}: {}",
                    mapping.connector, mapping.identifier, mapping.model
                ),
            };
            sqlx::query(
                "INSERT INTO identifier_models
                   (tenant_id, connector, identifier, publisher, product, edition, metric, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (tenant_id, connector, identifier) DO UPDATE SET
                   publisher = excluded.publisher, product = excluded.product,
                   edition = excluded.edition, metric = excluded.metric, updated_at = excluded.updated_at",
            )
            .bind(tenant.0)
            .bind(&mapping.connector)
            .bind(&mapping.identifier)
            .bind(&mapping.model.publisher)
            .bind(&mapping.model.product)
            .bind(&mapping.model.edition)
            .bind(mapping.model.metric.as_str())
            .bind(at)
            .execute(&mut *tx)
            .await?;
            changes.push(line);
        }
        for old in stored
            .iter()
            .filter(|s| !wanted.iter().any(|w| same_key(w, s)))
        {
            sqlx::query(
                "DELETE FROM identifier_models WHERE tenant_id = ? AND connector = ? AND identifier = ?",
            )
            .bind(tenant.0)
            .bind(&old.connector)
            .bind(&old.identifier)
            .execute(&mut *tx)
            .await?;
            changes.push(format!(
                "model of {}/{}: mapping to {} removed (no longer in the configuration)",
                old.connector, old.identifier, old.model
            ));
        }
        audit::commit_changes(tx, tenant, actor, "model.map", &changes, at).await?;
        Ok(changes)
    }
}
