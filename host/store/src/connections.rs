//! Connector components uploaded over the API and connections made there.
//!
//! An upload is kept per tenant by its sha256, with what its descriptor
//! said when the host inspected it; the bytes are in the database so every
//! server process runs the same component. A connection made over the API
//! names one of its tenant's uploads by digest (a foreign key, so a
//! connection can never point at another tenant's component or at one that
//! was removed) and keeps its settings as JSON and its credential only as
//! the sealed bytes the caller hands over: this module never sees a secret.
//! Every change is audited in the tenant's chain in the same transaction.

use super::{Storage, TenantId};
use crate::audit;
use crate::{Result, StoreError};
use sqlx::Row;

/// An uploaded component as it is listed (without its bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredUpload {
    /// Hex sha256 of the component's bytes: the pin.
    pub digest: String,
    /// The connector's name from its descriptor.
    pub name: String,
    /// Its version from its descriptor.
    pub version: String,
    /// Its size in bytes.
    pub size: u64,
    /// What the host's inspection found (JSON the app writes and reads).
    pub inspection: String,
    /// When it was uploaded, in milliseconds since the Unix epoch.
    pub uploaded_at: i64,
    /// Who uploaded it, as the audit log names them.
    pub uploaded_by: String,
}

/// A connection made over the API, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredConnection {
    /// Its name, unique in the tenant.
    pub name: String,
    /// The digest of the tenant's upload it runs.
    pub connector_digest: String,
    /// Its settings as JSON, without any secret.
    pub settings: String,
    /// Its credential sealed under the operator's key; `None`: it has none.
    pub sealed_credential: Option<Vec<u8>>,
    /// The id of the key that sealed the credential.
    pub key_id: Option<String>,
    /// When it was made, in milliseconds since the Unix epoch.
    pub created_at: i64,
    /// When it last changed.
    pub updated_at: i64,
}

/// Who makes a change and how the audit log describes it.
#[derive(Clone, Copy, Debug)]
pub struct Change<'a> {
    /// Who acts, as the audit log names them.
    pub actor: &'a str,
    /// What the entry says.
    pub detail: &'a str,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
}

fn upload_from_row(row: &sqlx::any::AnyRow) -> StoredUpload {
    StoredUpload {
        digest: row.get("digest"),
        name: row.get("name"),
        version: row.get("version"),
        size: u64::try_from(row.get::<i64, _>("size")).unwrap_or(0),
        inspection: row.get("inspection"),
        uploaded_at: row.get("uploaded_at"),
        uploaded_by: row.get("uploaded_by"),
    }
}

fn connection_from_row(row: &sqlx::any::AnyRow) -> StoredConnection {
    StoredConnection {
        name: row.get("name"),
        connector_digest: row.get("connector_digest"),
        settings: row.get("settings"),
        sealed_credential: row.get("sealed_credential"),
        key_id: row.get("key_id"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    }
}

const UPLOAD_COLUMNS: &str = "digest, name, version, size, inspection, uploaded_at, uploaded_by";

impl Storage {
    /// Keeps an inspected component for the tenant; `Ok(false)` when the
    /// tenant already has these bytes (nothing is written then).
    pub async fn store_upload(
        &self,
        tenant: TenantId,
        upload: &StoredUpload,
        component: &[u8],
    ) -> Result<bool> {
        let mut tx = self.write(tenant).await?;
        let inserted = sqlx::query(
            "INSERT INTO connector_uploads (tenant_id, digest, name, version, size, inspection, component, uploaded_at, uploaded_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (tenant_id, digest) DO NOTHING",
        )
        .bind(tenant.0)
        .bind(&upload.digest)
        .bind(&upload.name)
        .bind(&upload.version)
        .bind(i64::try_from(upload.size).unwrap_or(i64::MAX))
        .bind(&upload.inspection)
        .bind(component)
        .bind(upload.uploaded_at)
        .bind(&upload.uploaded_by)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !inserted {
            return Ok(false);
        }
        let detail = format!(
            "connector {}@{} uploaded, sha256 {}, {} bytes",
            upload.name, upload.version, upload.digest, upload.size
        );
        audit::commit_changes(
            tx,
            tenant,
            &upload.uploaded_by,
            "connector.upload",
            &[detail],
            upload.uploaded_at,
        )
        .await?;
        Ok(true)
    }

    /// The tenant's uploaded components, newest first.
    pub async fn uploads(&self, tenant: TenantId) -> Result<Vec<StoredUpload>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {UPLOAD_COLUMNS} FROM connector_uploads WHERE tenant_id = $1 ORDER BY uploaded_at DESC, id DESC"
        )))
        .bind(tenant.0)
        .fetch_all(&mut *self.read(tenant).await?)
        .await?;
        Ok(rows.iter().map(upload_from_row).collect())
    }

    /// The tenant's upload with `digest`, if any.
    pub async fn upload(&self, tenant: TenantId, digest: &str) -> Result<Option<StoredUpload>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {UPLOAD_COLUMNS} FROM connector_uploads WHERE tenant_id = $1 AND digest = $2"
        )))
        .bind(tenant.0)
        .bind(digest)
        .fetch_optional(&mut *self.read(tenant).await?)
        .await?;
        Ok(row.as_ref().map(upload_from_row))
    }

    /// The bytes of the tenant's upload with `digest`, if any.
    pub async fn upload_component(
        &self,
        tenant: TenantId,
        digest: &str,
    ) -> Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar(
            "SELECT component FROM connector_uploads WHERE tenant_id = $1 AND digest = $2",
        )
        .bind(tenant.0)
        .bind(digest)
        .fetch_optional(&mut *self.read(tenant).await?)
        .await?)
    }

    /// Removes the tenant's upload; refused while a connection runs it.
    pub async fn delete_upload(
        &self,
        tenant: TenantId,
        digest: &str,
        change: Change<'_>,
    ) -> Result<()> {
        let mut tx = self.write(tenant).await?;
        let users: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM api_connections WHERE tenant_id = $1 AND connector_digest = $2 ORDER BY name",
        )
        .bind(tenant.0)
        .bind(digest)
        .fetch_all(&mut *tx)
        .await?;
        if !users.is_empty() {
            return Err(StoreError::Conflict(format!(
                "connection {} runs this component: change or delete {} first",
                users.join(", "),
                if users.len() == 1 { "it" } else { "them" }
            )));
        }
        let deleted =
            sqlx::query("DELETE FROM connector_uploads WHERE tenant_id = $1 AND digest = $2")
                .bind(tenant.0)
                .bind(digest)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound(format!(
                "this tenant has no uploaded component with sha256 {digest}"
            )));
        }
        audit::commit_changes(
            tx,
            tenant,
            change.actor,
            "connector.delete",
            &[change.detail.to_string()],
            change.at,
        )
        .await
    }

    /// The tenant's connections made over the API, by name.
    pub async fn api_connections(&self, tenant: TenantId) -> Result<Vec<StoredConnection>> {
        let rows = sqlx::query("SELECT * FROM api_connections WHERE tenant_id = $1 ORDER BY name")
            .bind(tenant.0)
            .fetch_all(&mut *self.read(tenant).await?)
            .await?;
        Ok(rows.iter().map(connection_from_row).collect())
    }

    /// The tenant's connection `name` made over the API, if any.
    pub async fn api_connection(
        &self,
        tenant: TenantId,
        name: &str,
    ) -> Result<Option<StoredConnection>> {
        let row = sqlx::query("SELECT * FROM api_connections WHERE tenant_id = $1 AND name = $2")
            .bind(tenant.0)
            .bind(name)
            .fetch_optional(&mut *self.read(tenant).await?)
            .await?;
        Ok(row.as_ref().map(connection_from_row))
    }

    /// Stores a new connection (`read_at` `None`: a name in use is a
    /// conflict) or replaces the one read when it said `updated_at` was
    /// `read_at` (changed or deleted since: a conflict, nothing written, so
    /// two admins' changes cannot silently undo each other, e.g. a kept
    /// old credential overwriting a rotation), with its audit entry.
    pub async fn save_api_connection(
        &self,
        tenant: TenantId,
        connection: &StoredConnection,
        read_at: Option<i64>,
        change: Change<'_>,
    ) -> Result<()> {
        let replace = read_at.is_some();
        let mut tx = self.write(tenant).await?;
        let written = if let Some(read_at) = read_at {
            sqlx::query(
                "UPDATE api_connections SET connector_digest = $1, settings = $2, sealed_credential = $3, key_id = $4, updated_at = $5
                 WHERE tenant_id = $6 AND name = $7 AND updated_at = $8",
            )
            .bind(&connection.connector_digest)
            .bind(&connection.settings)
            .bind(&connection.sealed_credential)
            .bind(&connection.key_id)
            .bind(connection.updated_at.max(read_at + 1))
            .bind(tenant.0)
            .bind(&connection.name)
            .bind(read_at)
            .execute(&mut *tx)
            .await
        } else {
            sqlx::query(
                "INSERT INTO api_connections (tenant_id, name, connector_digest, settings, sealed_credential, key_id, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, name) DO NOTHING",
            )
            .bind(tenant.0)
            .bind(&connection.name)
            .bind(&connection.connector_digest)
            .bind(&connection.settings)
            .bind(&connection.sealed_credential)
            .bind(&connection.key_id)
            .bind(connection.created_at)
            .bind(connection.updated_at)
            .execute(&mut *tx)
            .await
        };
        let written = match written {
            Ok(done) => done.rows_affected(),
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                return Err(StoreError::NotFound(format!(
                    "this tenant has no uploaded component with sha256 {}: upload it first (POST /api/v1/connectors)",
                    connection.connector_digest
                )));
            }
            Err(e) => return Err(e.into()),
        };
        if written == 0 {
            return Err(if replace {
                StoreError::NotFound(format!(
                    "this tenant has no connection {:?} made over the API",
                    connection.name
                ))
            } else {
                StoreError::Conflict(format!(
                    "this tenant already has a connection {:?}: change it with PUT, or choose another name",
                    connection.name
                ))
            });
        }
        let action = if replace {
            "connection.update"
        } else {
            "connection.create"
        };
        audit::commit_changes(
            tx,
            tenant,
            change.actor,
            action,
            &[change.detail.to_string()],
            change.at,
        )
        .await
    }

    /// Deletes the tenant's connection `name` made over the API; refused
    /// while a profile uses it.
    pub async fn delete_api_connection(
        &self,
        tenant: TenantId,
        name: &str,
        change: Change<'_>,
    ) -> Result<()> {
        let mut tx = self.write(tenant).await?;
        let users: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM profiles WHERE tenant_id = $1 AND connection_name = $2 ORDER BY name",
        )
        .bind(tenant.0)
        .bind(name)
        .fetch_all(&mut *tx)
        .await?;
        if !users.is_empty() {
            return Err(StoreError::Conflict(format!(
                "profile {} uses connection {name:?}: delete {} or move {} to another connection first",
                users.join(", "),
                if users.len() == 1 { "it" } else { "them" },
                if users.len() == 1 { "it" } else { "them" },
            )));
        }
        let deleted = sqlx::query("DELETE FROM api_connections WHERE tenant_id = $1 AND name = $2")
            .bind(tenant.0)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound(format!(
                "this tenant has no connection {name:?} made over the API"
            )));
        }
        audit::commit_changes(
            tx,
            tenant,
            change.actor,
            "connection.delete",
            &[change.detail.to_string()],
            change.at,
        )
        .await
    }
}
