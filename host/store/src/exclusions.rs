//! Exclusions in the database: `seatwarden apply` mirrors the configuration
//! file's `[[exclusions]]` of a tenant here, and candidate refreshes read
//! them from here, so what spared an account is on record with the audit
//! entries that created, changed or switched it off.
//!
//! An exclusion that leaves the file is switched off, not deleted: the
//! candidates and reports it explained stay explainable.

use super::audit::{self, AuditNote};
use super::{Storage, TenantId};
use crate::Result;
use seatwarden_domain::rules::Exclusion;
use sqlx::Row;

/// The stored columns of an exclusion: (kind, connector, subject).
fn key(exclusion: &Exclusion) -> (&'static str, &str, &str) {
    match exclusion {
        Exclusion::User { principal, .. } => ("user", "", principal),
        Exclusion::Identifier {
            connector,
            identifier,
            ..
        } => ("identifier", connector, identifier),
    }
}

/// How change lines name an exclusion (without its reason).
fn name(exclusion: &Exclusion) -> String {
    match key(exclusion) {
        ("user", _, principal) => format!("user exclusion {principal}"),
        (_, connector, identifier) => format!("identifier exclusion {connector}/{identifier}"),
    }
}

fn parts(exclusion: &Exclusion) -> (bool, &str) {
    match exclusion {
        Exclusion::User { reason, .. } | Exclusion::Identifier { reason, .. } => {
            (exclusion.is_active(), reason)
        }
    }
}

fn from_row(row: &sqlx::any::AnyRow) -> Exclusion {
    let (active, reason, subject): (bool, String, String) = (
        crate::flag(row, "active"),
        row.get("reason"),
        row.get("subject"),
    );
    match row.get::<String, _>("kind").as_str() {
        "user" => Exclusion::User {
            principal: subject,
            active,
            reason,
        },
        _ => Exclusion::Identifier {
            connector: row.get("connector"),
            identifier: subject,
            active,
            reason,
        },
    }
}

async fn load<'e>(
    executor: impl sqlx::AnyExecutor<'e>,
    tenant: TenantId,
) -> Result<Vec<Exclusion>> {
    let rows = sqlx::query(
        "SELECT kind, connector, subject, reason, CAST(active AS INTEGER) AS active FROM exclusions
         WHERE tenant_id = $1 ORDER BY kind, connector, subject",
    )
    .bind(tenant.0)
    .fetch_all(executor)
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

impl Storage {
    /// A tenant's stored exclusions, switched-off ones included.
    pub async fn exclusions(&self, tenant: TenantId) -> Result<Vec<Exclusion>> {
        load(&mut *self.read(tenant).await?, tenant).await
    }

    /// Makes the tenant's stored exclusions match `wanted` (the file's), in
    /// one transaction with an audit entry per change; stored ones missing
    /// from `wanted` are switched off. Returns a line per change.
    pub async fn apply_exclusions(
        &self,
        tenant: TenantId,
        wanted: &[Exclusion],
        actor: &str,
        at: i64,
    ) -> Result<Vec<String>> {
        let mut tx = self.write(tenant).await?;
        let stored = load(&mut *tx, tenant).await?;
        let mut changes = Vec::new();
        for exclusion in wanted {
            let (kind, connector, subject) = key(exclusion);
            let (active, reason) = parts(exclusion);
            let before = stored.iter().find(|s| key(s) == key(exclusion));
            let (action, line) = match before {
                Some(old) if old == exclusion => continue,
                Some(old) => {
                    let (was_active, was_reason) = parts(old);
                    let mut what = Vec::new();
                    if was_active != active {
                        what.push(
                            if active {
                                "switched on"
                            } else {
                                "switched off"
                            }
                            .to_string(),
                        );
                    }
                    if was_reason != reason {
                        what.push(format!("reason {was_reason:?} -> {reason:?}"));
                    }
                    (
                        "exclusion.update",
                        format!("{}: {}", name(exclusion), what.join(", ")),
                    )
                }
                None => (
                    "exclusion.create",
                    format!("{}: added ({reason})", name(exclusion)),
                ),
            };
            sqlx::query(
                "INSERT INTO exclusions (tenant_id, kind, connector, subject, reason, active, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (tenant_id, kind, connector, subject) DO UPDATE SET
                   reason = excluded.reason, active = excluded.active, updated_at = excluded.updated_at",
            )
            .bind(tenant.0)
            .bind(kind)
            .bind(connector)
            .bind(subject)
            .bind(reason)
            .bind(active)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let detail = &line;
            let note = AuditNote {
                actor,
                action,
                detail,
                at,
            };
            audit::append(&mut tx, tenant, None, &note).await?;
            changes.push(line);
        }
        for old in &stored {
            let (active, _) = parts(old);
            if !active || wanted.iter().any(|w| key(w) == key(old)) {
                continue;
            }
            let (kind, connector, subject) = key(old);
            sqlx::query(
                "UPDATE exclusions SET active = FALSE, updated_at = $1
                 WHERE tenant_id = $2 AND kind = $3 AND connector = $4 AND subject = $5",
            )
            .bind(at)
            .bind(tenant.0)
            .bind(kind)
            .bind(connector)
            .bind(subject)
            .execute(&mut *tx)
            .await?;
            let line = format!(
                "{}: switched off (no longer in the configuration)",
                name(old)
            );
            let detail = &line;
            let note = AuditNote {
                actor,
                action: "exclusion.update",
                detail,
                at,
            };
            audit::append(&mut tx, tenant, None, &note).await?;
            changes.push(line);
        }
        tx.commit().await?;
        Ok(changes)
    }
}
