//! API tokens, failed authentications and the tenants an operator manages.
//!
//! The store keeps what the server needs to decide who is calling and no
//! more: a token's public id, the SHA-256 of its secret (never the secret),
//! its tenant, scope and name, and when it was made, last used and revoked.
//! Creating and revoking a tenant's token is audited in that tenant's chain
//! in the same transaction. Failed authentications are rows, not process
//! memory, so every server process on the database counts the same ones.

use super::{Storage, TenantId};
use crate::Tenancy;
use crate::audit::{self, AuditNote};
use crate::{Result, StoreError};
use seatwarden_domain::access::Scope;
use serde::Serialize;
use sqlx::Row;

/// A token as it is listed: everything but its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// The token's id, as `token revoke` and the API take it.
    pub id: i64,
    /// The tenant it acts for; `None` for an operator token.
    pub tenant: Option<String>,
    /// What it is for, in the creator's words.
    pub name: String,
    /// What it may do.
    pub scope: Scope,
    /// When it was made, in milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Who made it (`cli:<user>` or the token that did).
    pub created_by: String,
    /// When it last authenticated a request (to the minute), if ever.
    pub last_used_at: Option<i64>,
    /// When it was revoked; a revoked token authenticates nothing.
    pub revoked_at: Option<i64>,
}

/// What a presented token is checked against.
#[derive(Clone, Debug)]
pub struct StoredToken {
    /// The token as it is listed.
    pub info: TokenInfo,
    /// The tenant's id, for a tenant's token.
    pub tenant: Option<TenantId>,
    /// Hex SHA-256 of the token's secret part.
    pub secret_hash: String,
}

/// A token to store: the hash of its secret and who it is for.
#[derive(Clone, Debug)]
pub struct NewToken<'a> {
    /// The token's public part, unique.
    pub public_id: &'a str,
    /// Hex SHA-256 of its secret part.
    pub secret_hash: &'a str,
    /// The tenant, for a tenant's token; `None` for an operator token.
    pub tenant: Option<TenantId>,
    /// What it is for.
    pub name: &'a str,
    /// What it may do; an operator scope with a tenant (or a tenant scope
    /// without one) is refused.
    pub scope: Scope,
    /// Who makes it, when.
    pub actor: &'a str,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
}

/// A tenant as the operator sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TenantInfo {
    /// Its id in this database; left out of JSON output.
    #[serde(skip)]
    pub id: TenantId,
    /// Its name, unique.
    pub name: String,
    /// `file` (a configuration file names it) or `api` (an operator created it over the API).
    pub source: String,
    /// When it was created, in milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// A token's last-used time is written at most this often (milliseconds):
/// a busy client must not turn every read into a write.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

const TOKEN_COLUMNS: &str =
    "SELECT k.id, k.tenant_id, t.name AS tenant_name, k.name, k.scope, k.secret_hash,
        k.created_at, k.created_by, k.last_used_at, k.revoked_at
     FROM api_tokens k LEFT JOIN tenants t ON t.id = k.tenant_id";

fn token_from_row(r: &sqlx::any::AnyRow) -> Result<StoredToken> {
    let scope: String = r.get("scope");
    let scope = Scope::parse(&scope).ok_or_else(|| {
        StoreError::Other(anyhow::anyhow!(
            "unknown token scope {scope:?} in the database"
        ))
    })?;
    let tenant: Option<i64> = r.get("tenant_id");
    Ok(StoredToken {
        info: TokenInfo {
            id: r.get("id"),
            tenant: r.get("tenant_name"),
            name: r.get("name"),
            scope,
            created_at: r.get("created_at"),
            created_by: r.get("created_by"),
            last_used_at: r.get("last_used_at"),
            revoked_at: r.get("revoked_at"),
        },
        tenant: tenant.map(TenantId),
        secret_hash: r.get("secret_hash"),
    })
}

impl Storage {
    /// Stores a new token; returns its id. A tenant's token is audited in
    /// the tenant's chain (name, scope, who made it; never the secret).
    pub async fn create_token(&self, token: &NewToken<'_>) -> Result<i64> {
        if token.scope.is_tenant_scope() != token.tenant.is_some() {
            return Err(StoreError::Conflict(format!(
                "a {} token {}",
                token.scope,
                if token.tenant.is_some() {
                    "belongs to no tenant"
                } else {
                    "needs a tenant"
                }
            )));
        }
        let mut tx = self
            .write(token.tenant.map_or(Tenancy::AllTenants, Tenancy::Tenant))
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (public_id, tenant_id, name, scope, secret_hash, created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(token.public_id)
        .bind(token.tenant.map(|t| t.0))
        .bind(token.name)
        .bind(token.scope.as_str())
        .bind(token.secret_hash)
        .bind(token.at)
        .bind(token.actor)
        .fetch_one(&mut *tx)
        .await?;
        if let Some(tenant) = token.tenant {
            let detail = format!(
                "API token {id} ({:?}) with scope {}",
                token.name, token.scope
            );
            let note = AuditNote {
                actor: token.actor,
                action: "token.create",
                detail: &detail,
                at: token.at,
            };
            audit::append(&mut tx, tenant, None, &note).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// The token whose public part is `public_id`, revoked or not.
    pub async fn token_by_public_id(&self, public_id: &str) -> Result<Option<StoredToken>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{TOKEN_COLUMNS} WHERE k.public_id = $1"
        )))
        .bind(public_id)
        .fetch_optional(&mut *self.read(Tenancy::AllTenants).await?)
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// Notes that a token authenticated a request at `at`; written only
    /// when the stored time is older than a minute.
    pub async fn touch_token(&self, id: i64, at: i64) -> Result<()> {
        self.write_one(
            Tenancy::AllTenants,
            sqlx::query(
                "UPDATE api_tokens SET last_used_at = $1
             WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
            )
            .bind(at)
            .bind(id)
            .bind(at - LAST_USED_GRANULARITY_MS),
        )
        .await?;
        Ok(())
    }

    /// A tenant's tokens (`None`: the operator tokens), oldest first.
    pub async fn tokens(&self, tenant: Option<TenantId>) -> Result<Vec<TokenInfo>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{TOKEN_COLUMNS} WHERE k.tenant_id IS NOT DISTINCT FROM $1 ORDER BY k.id"
        )))
        .bind(tenant.map(|t| t.0))
        .fetch_all(
            &mut *self
                .read(tenant.map_or(Tenancy::AllTenants, Tenancy::Tenant))
                .await?,
        )
        .await?;
        rows.iter()
            .map(|r| token_from_row(r).map(|t| t.info))
            .collect()
    }

    /// Revokes a token of the tenant (`None`: an operator token); from the
    /// next request on it authenticates nothing. A token of another tenant
    /// is "not found", and revoking twice is a conflict.
    pub async fn revoke_token(
        &self,
        tenant: Option<TenantId>,
        id: i64,
        actor: &str,
        at: i64,
    ) -> Result<TokenInfo> {
        let mut tx = self
            .write(tenant.map_or(Tenancy::AllTenants, Tenancy::Tenant))
            .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{TOKEN_COLUMNS} WHERE k.id = $1 AND k.tenant_id IS NOT DISTINCT FROM $2"
        )))
        .bind(id)
        .bind(tenant.map(|t| t.0))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(token) = row.as_ref().map(token_from_row).transpose()? else {
            return Err(StoreError::NotFound(format!("no API token {id} here")));
        };
        if token.info.revoked_at.is_some() {
            return Err(StoreError::Conflict(format!(
                "API token {id} ({:?}) is already revoked",
                token.info.name
            )));
        }
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if let Some(tenant) = tenant {
            let detail = format!("API token {id} ({:?}) revoked", token.info.name);
            let note = AuditNote {
                actor,
                action: "token.revoke",
                detail: &detail,
                at,
            };
            audit::append(&mut tx, tenant, None, &note).await?;
        }
        tx.commit().await?;
        Ok(TokenInfo {
            revoked_at: Some(at),
            ..token.info
        })
    }

    /// Records a failed authentication from `address` and prunes those
    /// older than `window_start`; returns how many failures the address
    /// has within the window, this one included.
    pub async fn note_auth_failure(
        &self,
        address: &str,
        at: i64,
        window_start: i64,
    ) -> Result<i64> {
        let mut tx = self.write(Tenancy::AllTenants).await?;
        sqlx::query("DELETE FROM auth_failures WHERE at < $1")
            .bind(window_start)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO auth_failures (address, at) VALUES ($1, $2)")
            .bind(address)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM auth_failures WHERE address = $1 AND at >= $2",
        )
        .bind(address)
        .bind(window_start)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(count)
    }

    /// How many failed authentications `address` has since `window_start`,
    /// and when the oldest of them was.
    pub async fn auth_failures(
        &self,
        address: &str,
        window_start: i64,
    ) -> Result<(i64, Option<i64>)> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM auth_failures WHERE address = $1 AND at >= $2",
        )
        .bind(address)
        .bind(window_start)
        .fetch_one(&mut *self.read(Tenancy::AllTenants).await?)
        .await?;
        Ok((row.get("n"), row.get("oldest")))
    }

    /// Every tenant, by name.
    pub async fn tenants(&self) -> Result<Vec<TenantInfo>> {
        let rows = sqlx::query("SELECT id, name, source, created_at FROM tenants ORDER BY name")
            .fetch_all(&mut *self.read(Tenancy::AllTenants).await?)
            .await?;
        Ok(rows
            .iter()
            .map(|r| TenantInfo {
                id: TenantId(r.get("id")),
                name: r.get("name"),
                source: r.get("source"),
                created_at: r.get("created_at"),
            })
            .collect())
    }

    /// Creates a tenant over the API; a name already taken is a conflict.
    pub async fn create_api_tenant(&self, name: &str, at: i64) -> Result<TenantInfo> {
        let mut tx = self.write(Tenancy::AllTenants).await?;
        let created: Option<i64> = sqlx::query_scalar(
            "INSERT INTO tenants (name, created_at, source) VALUES ($1, $2, 'api')
             ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(name)
        .bind(at)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        let Some(id) = created else {
            return Err(StoreError::Conflict(format!(
                "a tenant named {name:?} already exists"
            )));
        };
        Ok(TenantInfo {
            id: TenantId(id),
            name: name.to_string(),
            source: "api".into(),
            created_at: at,
        })
    }
}
