//! `seatwarden migrate`: brings the configured database to this
//! seatwarden's schema, or moves a SQLite installation to PostgreSQL and
//! proves nothing was lost (row counts on both sides, every tenant's audit
//! chain intact and ending at the same entry as before).

use anyhow::{Context, Result, bail};
use seatwarden_app::say;
use seatwarden_store::{AuditCheck, Database, Storage, check_chain};
use std::path::Path;

/// Copies the SQLite file `from` names into the empty PostgreSQL
/// database `to` names.
pub async fn copy(from: &str, to: &str) -> Result<()> {
    let here = std::env::current_dir().context("reading the current folder")?;
    let from =
        Database::parse(from, &here).map_err(|problem| anyhow::anyhow!("--from: {problem}"))?;
    let to = Database::parse(to, &here).map_err(|problem| anyhow::anyhow!("--to: {problem}"))?;
    let Database::File(path) = &from else {
        bail!(
            "--from names the SQLite file to move (sqlite:/path/to/seatwarden.db); moving from PostgreSQL is pg_dump's job"
        )
    };
    if !matches!(to, Database::Postgres(_)) {
        bail!("--to names the PostgreSQL database to move to (postgres://user@host:port/database)");
    }
    if !Path::new(path).exists() {
        bail!("--from: {} does not exist", path.display());
    }
    let source = Storage::open_database(&from).await?;
    let target = Storage::open_database(&to).await?;
    let copied = source
        .copy_into(&target)
        .await
        .with_context(|| format!("copying {} to {}", from.shown(), to.shown()))?;
    for table in &copied {
        say!("{:<22} {:>10} rows", table.table, table.rows);
    }
    let tenants = source.tenants().await?;
    for tenant in &tenants {
        let before = check_chain(&source.audit_entries(tenant.id).await?);
        let target_id = target
            .find_tenant(&tenant.name)
            .await?
            .with_context(|| format!("tenant {} is missing after the copy", tenant.name))?;
        let after = check_chain(&target.audit_entries(target_id).await?);
        match (&before, &after) {
            (
                AuditCheck::Intact { entries, head },
                AuditCheck::Intact {
                    entries: copied,
                    head: copied_head,
                },
            ) if entries == copied && head == copied_head => {
                say!(
                    "tenant {}: audit chain intact, {entries} entries, head {head}",
                    tenant.name
                );
            }
            _ => bail!(
                "tenant {}: the audit chain differs after the copy (SQLite: {before:?}; PostgreSQL: {after:?}); the PostgreSQL database holds the copy for inspection",
                tenant.name
            ),
        }
    }
    say!(
        "moved {} tables and {} tenants from {} to {}: point the configuration's database at the PostgreSQL URL (or set SEATWARDEN_DATABASE_URL)",
        copied.len(),
        tenants.len(),
        from.shown(),
        to.shown()
    );
    Ok(())
}

/// Opens (and so migrates) the configured database and says its version.
pub async fn migrate(database: &Database) -> Result<()> {
    let storage = Storage::open_database(database).await?;
    say!(
        "database {} is at schema version {}",
        database.shown(),
        storage.schema_version().await?
    );
    Ok(())
}
