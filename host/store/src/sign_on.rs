//! Single sign-on attempts in flight, and the sessions they open.
//!
//! An attempt is written when a browser is sent to the identity provider
//! and taken (deleted) by the callback that comes back, in whichever
//! server process it lands: nothing about it lives in memory. Taking is
//! one `DELETE ... RETURNING`, so a callback replayed, or raced by a second
//! copy, finds nothing the second time. Expired attempts are swept on
//! every new one, and a tenant keeps a bounded number in flight (the
//! oldest make room), so strangers starting sign-ins cannot grow the table
//! without end.

use super::console::{NewSession, Session, insert_session};
use super::{Storage, TenantId};
use crate::Tenancy;
use crate::{Result, StoreError};
use seatwarden_domain::access::Scope;
use sqlx::Row;

/// An attempt to store when a browser is sent to the provider.
#[derive(Clone, Debug)]
pub struct NewSignOn<'a> {
    /// Hex SHA-256 of the `state` parameter.
    pub state_hash: &'a str,
    /// The tenant whose provider it goes to.
    pub tenant: TenantId,
    /// Hex SHA-256 of the PKCE verifier the browser keeps.
    pub binding_hash: &'a str,
    /// The nonce the ID token must carry back.
    pub nonce: &'a str,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
    /// When the callback stops being accepted.
    pub expires_at: i64,
}

/// An attempt as the callback finds it.
#[derive(Clone, Debug)]
pub struct PendingSignOn {
    /// The tenant whose provider it went to, and its name.
    pub tenant: (TenantId, String),
    /// Hex SHA-256 of the PKCE verifier the browser must present.
    pub binding_hash: String,
    /// The nonce the ID token must carry back.
    pub nonce: String,
}

impl Storage {
    /// Stores an attempt after sweeping expired ones; when the tenant
    /// already has `max_pending` in flight, the oldest make room.
    pub async fn begin_sign_on(&self, new: &NewSignOn<'_>, max_pending: i64) -> Result<()> {
        let mut tx = self.write(new.tenant).await?;
        sqlx::query("DELETE FROM sign_on_states WHERE expires_at <= $1")
            .bind(new.at)
            .execute(&mut *tx)
            .await?;
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sign_on_states WHERE tenant_id = $1")
                .bind(new.tenant.0)
                .fetch_one(&mut *tx)
                .await?;
        if pending >= max_pending {
            sqlx::query(
                "DELETE FROM sign_on_states WHERE state_hash IN
                   (SELECT state_hash FROM sign_on_states WHERE tenant_id = $1
                    ORDER BY created_at, state_hash LIMIT $2)",
            )
            .bind(new.tenant.0)
            .bind(pending - max_pending + 1)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO sign_on_states (state_hash, tenant_id, binding_hash, nonce, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new.state_hash)
        .bind(new.tenant.0)
        .bind(new.binding_hash)
        .bind(new.nonce)
        .bind(new.at)
        .bind(new.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes the unexpired attempt whose state hashes to `state_hash`: it
    /// is gone afterwards, whatever the caller makes of it.
    pub async fn take_sign_on(&self, state_hash: &str, now: i64) -> Result<Option<PendingSignOn>> {
        let mut tx = self.write(Tenancy::AllTenants).await?;
        let row = sqlx::query(
            "DELETE FROM sign_on_states WHERE state_hash = $1
             RETURNING tenant_id, binding_hash, nonce, expires_at",
        )
        .bind(state_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row.filter(|r| r.get::<i64, _>("expires_at") > now) else {
            tx.commit().await?;
            return Ok(None);
        };
        let tenant = TenantId(row.get("tenant_id"));
        let tenant_name: String = sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1")
            .bind(tenant.0)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(PendingSignOn {
            tenant: (tenant, tenant_name),
            binding_hash: row.get("binding_hash"),
            nonce: row.get("nonce"),
        }))
    }

    /// Opens a session for a person the tenant's provider vouched for,
    /// audited with `how` (the issuer and the subject).
    pub async fn open_sign_on_session(
        &self,
        tenant: TenantId,
        person: &str,
        scope: Scope,
        session: &NewSession<'_>,
        how: &str,
    ) -> Result<Session> {
        if !scope.is_tenant_scope() {
            return Err(StoreError::Conflict(format!(
                "a console session opens one tenant's console; scope {scope} is not a tenant's"
            )));
        }
        let mut tx = self.write(tenant).await?;
        let opened = insert_session(&mut tx, tenant, person, scope, session, how).await?;
        tx.commit().await?;
        Ok(opened)
    }
}
