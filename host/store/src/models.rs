//! Identifier-to-model mappings in the database: `seatwarden apply` mirrors
//! the configuration's `[[models]]` of a tenant here (an audit entry per
//! change) and reports read them from here. A mapping that leaves the file
//! is deleted: its identifier falls back to the model its connector
//! declares, or becomes unrecognized again, and the audit log keeps what it
//! was. What connectors declare (contract 0.2.2) is kept here too, per
//! tenant, because reports never load a connector.

use super::audit;
use super::{Storage, TenantId};
use crate::Result;
use anyhow::Context;
use seatwarden_domain::software_models::{Mapping, Metric, SoftwareModel};
use sqlx::Row;

async fn load<'e>(executor: impl sqlx::AnyExecutor<'e>, tenant: TenantId) -> Result<Vec<Mapping>> {
    let rows = sqlx::query(
        "SELECT connector, identifier, publisher, product, edition, metric FROM identifier_models
         WHERE tenant_id = $1 ORDER BY connector, identifier",
    )
    .bind(tenant.0)
    .fetch_all(executor)
    .await?;
    rows.iter().map(mapping_from_row).collect()
}

async fn load_declared<'e>(
    executor: impl sqlx::AnyExecutor<'e>,
    tenant: TenantId,
    connector: Option<&str>,
) -> Result<Vec<Mapping>> {
    let rows = sqlx::query(
        "SELECT connector, identifier, publisher, product, edition, metric FROM connector_models
         WHERE tenant_id = $1 AND ($2 IS NULL OR connector = $3) ORDER BY connector, identifier",
    )
    .bind(tenant.0)
    .bind(connector)
    .bind(connector)
    .fetch_all(executor)
    .await?;
    rows.iter().map(mapping_from_row).collect()
}

fn mapping_from_row(row: &sqlx::any::AnyRow) -> Result<Mapping> {
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
}

impl Storage {
    /// The models a tenant's connectors declared, as last stored.
    pub async fn declared_models(&self, tenant: TenantId) -> Result<Vec<Mapping>> {
        load_declared(&mut *self.read(tenant).await?, tenant, None).await
    }

    /// Makes the models stored for the tenant's `connector` the ones
    /// `declared` (by the component with sha256 `digest`), in one
    /// transaction; nothing is written when they are already the same.
    /// Returns a line per change. Like synced subscriptions, these are the
    /// connector's data, not an operator's decision: they are not audited
    /// (the validation that pinned the component is), and each row keeps
    /// the digest of the component that declared it.
    pub async fn record_declared_models(
        &self,
        tenant: TenantId,
        connector: &str,
        digest: &str,
        declared: &[Mapping],
        at: i64,
    ) -> Result<Vec<String>> {
        let mut wanted: Vec<&Mapping> = declared.iter().collect();
        wanted.sort_by(|a, b| a.identifier.cmp(&b.identifier));
        let unchanged = |stored: &[Mapping]| {
            stored.len() == wanted.len() && stored.iter().zip(&wanted).all(|(s, w)| s == *w)
        };
        if unchanged(&load_declared(&mut *self.read(tenant).await?, tenant, Some(connector)).await?)
        {
            return Ok(Vec::new());
        }
        let mut tx = self.write(tenant).await?;
        let stored = load_declared(&mut *tx, tenant, Some(connector)).await?;
        if unchanged(&stored) {
            return Ok(Vec::new());
        }
        let short = &digest[..digest.len().min(12)];
        let mut changes = Vec::new();
        for mapping in &wanted {
            let line = match stored.iter().find(|s| s.identifier == mapping.identifier) {
                Some(old) if old == *mapping => continue,
                Some(old) => format!(
                    "model of {connector}/{} declared by the connector (sha256 {short}): {} -> {}",
                    mapping.identifier, old.model, mapping.model
                ),
                None => format!(
                    "model of {connector}/{} declared by the connector (sha256 {short}): {}",
                    mapping.identifier, mapping.model
                ),
            };
            sqlx::query(
                "INSERT INTO connector_models
                   (tenant_id, connector, identifier, publisher, product, edition, metric, component_digest, declared_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (tenant_id, connector, identifier) DO UPDATE SET
                   publisher = excluded.publisher, product = excluded.product, edition = excluded.edition,
                   metric = excluded.metric, component_digest = excluded.component_digest,
                   declared_at = excluded.declared_at",
            )
            .bind(tenant.0)
            .bind(connector)
            .bind(&mapping.identifier)
            .bind(&mapping.model.publisher)
            .bind(&mapping.model.product)
            .bind(&mapping.model.edition)
            .bind(mapping.model.metric.as_str())
            .bind(digest)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            changes.push(line);
        }
        for old in stored
            .iter()
            .filter(|s| !wanted.iter().any(|w| w.identifier == s.identifier))
        {
            sqlx::query(
                "DELETE FROM connector_models WHERE tenant_id = $1 AND connector = $2 AND identifier = $3",
            )
            .bind(tenant.0)
            .bind(connector)
            .bind(&old.identifier)
            .execute(&mut *tx)
            .await?;
            changes.push(format!(
                "model of {connector}/{}: {} no longer declared by the connector (sha256 {short})",
                old.identifier, old.model
            ));
        }
        tx.commit().await?;
        Ok(changes)
    }

    /// A tenant's identifier mappings.
    pub async fn model_mappings(&self, tenant: TenantId) -> Result<Vec<Mapping>> {
        load(&mut *self.read(tenant).await?, tenant).await
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
        let mut tx = self.write(tenant).await?;
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
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
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
                "DELETE FROM identifier_models WHERE tenant_id = $1 AND connector = $2 AND identifier = $3",
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
