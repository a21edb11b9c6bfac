//! The audit log: append-only, one hash chain per tenant.
//!
//! Each entry stores the hash of the entry before it (in the same tenant)
//! and its own hash over that link and every field, so editing, removing or
//! reordering an entry breaks the chain from that point on, and
//! [`Storage::verify_audit`] names the first entry that does not match.
//! Entries are appended inside the caller's write transaction
//! (`BEGIN IMMEDIATE`), so two writers cannot both extend the same head.
//!
//! A chain cannot, by itself, show that its newest entries were cut off:
//! `seatwarden audit verify` prints the head hash so an operator can keep it
//! somewhere the database's writers cannot reach, and compare later.

use super::{Storage, TenantId};
use crate::Result;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

/// The `prev_hash` of a tenant's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry, as stored and as exported (one JSON object per line).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The entry's row id; ids grow in the order entries were appended.
    pub id: i64,
    /// The name of the tenant whose chain holds it.
    pub tenant: String,
    /// The profile it concerns; `None` for a tenant-wide entry.
    pub profile: Option<String>,
    /// When it happened, in milliseconds since the Unix epoch.
    pub at: i64,
    /// Who acted, e.g. `cli:<OS user>` or `scheduler`.
    pub actor: String,
    /// What was done, as a dotted name such as `candidate.open`.
    pub action: String,
    /// What happened, in words (clipped before it was hashed and stored).
    pub detail: String,
    /// The hash of the tenant's entry before it; [`GENESIS`] for the first.
    pub prev_hash: String,
    /// Hex SHA-256 over `prev_hash` and every other field except `id`.
    pub hash: String,
}

/// Who did something and why, for the audit log.
#[derive(Clone, Debug)]
pub struct AuditNote<'a> {
    /// Who acts, e.g. `cli:<OS user>` or `scheduler`.
    pub actor: &'a str,
    /// What is done, as a dotted name such as `candidate.open`.
    pub action: &'a str,
    /// What happens, in words; clipped to [`MAX_STORED_TEXT`](crate::MAX_STORED_TEXT) bytes.
    pub detail: &'a str,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
}

/// The result of checking a tenant's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditCheck {
    /// Every entry links to the one before it and hashes to what it says.
    Intact {
        /// How many entries the chain holds; 0 for a tenant with no entries yet.
        entries: usize,
        /// The newest entry's hash, to keep off-site and compare later;
        /// [`GENESIS`] when the chain is empty.
        head: String,
    },
    /// The first entry that does not match, and how.
    Broken {
        /// The row id of the first entry that fails the check.
        entry: i64,
        /// Why it fails, in words: a broken link or an edited entry.
        reason: String,
    },
}

/// The hash of an entry: SHA-256 over its link and fields, encoded as a
/// JSON array so no two different entries serialise alike.
fn entry_hash(
    tenant: &str,
    prev_hash: &str,
    profile: Option<&str>,
    at: i64,
    actor: &str,
    action: &str,
    detail: &str,
) -> String {
    let canonical = serde_json::json!([tenant, prev_hash, profile, at, actor, action, detail]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Appends an entry to the tenant's chain inside `tx`; returns its id.
/// Appends a tenant-wide entry per line of `details` (settings changes
/// applied from the configuration) and commits the transaction with them.
pub(super) async fn commit_changes(
    mut tx: sqlx::Transaction<'_, sqlx::Any>,
    tenant: TenantId,
    actor: &str,
    action: &str,
    details: &[String],
    at: i64,
) -> Result<()> {
    for detail in details {
        let note = AuditNote {
            actor,
            action,
            detail,
            at,
        };
        append(&mut tx, tenant, None, &note).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Appends one entry to the tenant's hash chain inside `tx`.
pub(super) async fn append(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: TenantId,
    profile: Option<&str>,
    note: &AuditNote<'_>,
) -> Result<i64> {
    Chain::open(tx, tenant)
        .await?
        .append(tx, profile, note)
        .await
}

/// A tenant's audit chain held open in one write transaction: the tenant's
/// name and the newest hash are read once, so a refresh that writes
/// thousands of entries does not read them back before each one. Only for
/// a transaction that took the write lock (`Storage::write`), so no other
/// writer can extend the chain meanwhile.
pub(super) struct Chain {
    tenant: TenantId,
    tenant_name: String,
    newest: String,
}

impl Chain {
    pub(super) async fn open(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        tenant: TenantId,
    ) -> Result<Chain> {
        let tenant_name: String = sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1")
            .bind(tenant.0)
            .fetch_one(&mut **tx)
            .await?;
        let newest: Option<String> = sqlx::query_scalar(
            "SELECT hash FROM audit_log WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(tenant.0)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(Chain {
            tenant,
            tenant_name,
            newest: newest.unwrap_or_else(|| GENESIS.to_string()),
        })
    }

    /// Appends one entry; returns its id.
    pub(super) async fn append(
        &mut self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        profile: Option<&str>,
        note: &AuditNote<'_>,
    ) -> Result<i64> {
        let (detail, prev, hash) = self.link(profile, note);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO audit_log (tenant_id, profile_name, at, actor, action, detail, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(self.tenant.0)
        .bind(profile)
        .bind(note.at)
        .bind(note.actor)
        .bind(note.action)
        .bind(&detail)
        .bind(&prev)
        .bind(&hash)
        .fetch_one(&mut **tx)
        .await?;
        Ok(id)
    }

    /// The next entry's stored detail, the hash it links to and its own
    /// hash, which becomes the chain's newest.
    fn link(&mut self, profile: Option<&str>, note: &AuditNote<'_>) -> (String, String, String) {
        let detail = super::stored_text(note.detail);
        let hash = entry_hash(
            &self.tenant_name,
            &self.newest,
            profile,
            note.at,
            note.actor,
            note.action,
            &detail,
        );
        let prev = std::mem::replace(&mut self.newest, hash.clone());
        (detail, prev, hash)
    }

    /// Appends entries in order, `APPEND_CHUNK` per statement: the hashes
    /// are chained here first, and each engine numbers the rows of one
    /// multi-row insert in the order they are listed, so ids still grow in
    /// the chain's order (which `verify_audit` checks).
    pub(super) async fn append_many(
        &mut self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        engine: crate::sql::Engine,
        profile: Option<&str>,
        notes: &[AuditNote<'_>],
    ) -> Result<()> {
        /// 8 values per entry.
        const APPEND_CHUNK: usize = 500;
        for chunk in notes.chunks(APPEND_CHUNK) {
            let mut insert = crate::sql::Statement::new(
                engine,
                "INSERT INTO audit_log (tenant_id, profile_name, at, actor, action, detail, prev_hash, hash) VALUES ",
            );
            for (n, note) in chunk.iter().enumerate() {
                let (detail, prev, hash) = self.link(profile, note);
                insert.push_row(n == 0, |row| {
                    row.bind(self.tenant.0)
                        .bind(profile.map(str::to_string))
                        .bind(note.at)
                        .bind(note.actor.to_string())
                        .bind(note.action.to_string())
                        .bind(detail)
                        .bind(prev)
                        .bind(hash);
                });
            }
            insert.build().execute(&mut **tx).await?;
        }
        Ok(())
    }
}

impl Storage {
    /// A tenant's audit entries, oldest first.
    pub async fn audit_entries(&self, tenant: TenantId) -> Result<Vec<AuditEntry>> {
        self.audit_entries_starting(tenant, "").await
    }

    /// A tenant's audit entries whose detail starts with `prefix`, oldest
    /// first.
    pub async fn audit_entries_starting(
        &self,
        tenant: TenantId,
        prefix: &str,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT a.id, t.name AS tenant, a.profile_name, a.at, a.actor, a.action, a.detail, a.prev_hash, a.hash
             FROM audit_log a JOIN tenants t ON t.id = a.tenant_id
             WHERE a.tenant_id = $1 AND substr(a.detail, 1, CAST($2 AS INTEGER)) = $3 ORDER BY a.id",
        )
        .bind(tenant.0)
        .bind(prefix.chars().count() as i64)
        .bind(prefix)
        .fetch_all(&mut *self.read(tenant).await?)
        .await?;
        Ok(rows.iter().map(entry_from_row).collect())
    }

    /// Recomputes a tenant's chain from its first entry.
    pub async fn verify_audit(&self, tenant: TenantId) -> Result<AuditCheck> {
        Ok(check_chain(&self.audit_entries(tenant).await?))
    }
}

/// An entry as `SELECT a.id, t.name AS tenant, a.profile_name, a.at,
/// a.actor, a.action, a.detail, a.prev_hash, a.hash` reads it.
pub(crate) fn entry_from_row(r: &sqlx::any::AnyRow) -> AuditEntry {
    AuditEntry {
        id: r.get("id"),
        tenant: r.get("tenant"),
        profile: r.get("profile_name"),
        at: r.get("at"),
        actor: r.get("actor"),
        action: r.get("action"),
        detail: r.get("detail"),
        prev_hash: r.get("prev_hash"),
        hash: r.get("hash"),
    }
}

/// Checks a chain of entries (oldest first): each must link to the hash of
/// the one before it and hash to what it stores.
pub fn check_chain(entries: &[AuditEntry]) -> AuditCheck {
    let mut expected_prev = GENESIS.to_string();
    for entry in entries {
        if entry.prev_hash != expected_prev {
            return AuditCheck::Broken {
                entry: entry.id,
                reason: "it does not follow the entry before it (an entry was removed, inserted or reordered)".into(),
            };
        }
        let computed = entry_hash(
            &entry.tenant,
            &entry.prev_hash,
            entry.profile.as_deref(),
            entry.at,
            &entry.actor,
            &entry.action,
            &entry.detail,
        );
        if computed != entry.hash {
            return AuditCheck::Broken {
                entry: entry.id,
                reason: "its content does not match its hash (the entry was edited)".into(),
            };
        }
        expected_prev = entry.hash.clone();
    }
    AuditCheck::Intact {
        entries: entries.len(),
        head: expected_prev,
    }
}
