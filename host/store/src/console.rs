//! The web console's one-time sign-in tokens and sessions.
//!
//! Like API tokens, both are found by a public id and checked against the
//! SHA-256 of their secret; the secrets themselves are never stored. A
//! sign-in token is spent and its session created in one transaction, so
//! two browsers racing with the same token get one session between them.
//! Signing in and out are audited in the tenant's chain with the person.

use super::{Storage, TenantId};
use crate::Tenancy;
use crate::audit::{self, AuditNote};
use crate::{Result, StoreError};
use seatwarden_domain::access::Scope;
use sqlx::Row;

/// A sign-in token to store.
#[derive(Clone, Debug)]
pub struct NewSignIn<'a> {
    /// Its public part, unique.
    pub public_id: &'a str,
    /// Hex SHA-256 of its secret part.
    pub secret_hash: &'a str,
    /// The tenant whose console it opens.
    pub tenant: TenantId,
    /// Who it is for, as the audit log will name the person.
    pub name: &'a str,
    /// What the session may do (a tenant scope).
    pub scope: Scope,
    /// Who made it.
    pub actor: &'a str,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
    /// When it stops working unless spent first.
    pub expires_at: i64,
}

/// A sign-in token as stored, to check a presented one against.
#[derive(Clone, Debug)]
pub struct StoredSignIn {
    /// Its row id.
    pub id: i64,
    /// Hex SHA-256 of its secret part.
    pub secret_hash: String,
}

/// A session to create when a sign-in token is spent.
#[derive(Clone, Debug)]
pub struct NewSession<'a> {
    /// Its public part, unique.
    pub public_id: &'a str,
    /// Hex SHA-256 of its secret part.
    pub secret_hash: &'a str,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
    /// When it ends at the latest.
    pub expires_at: i64,
}

/// A live session: who is signed in, to which tenant, with what scope.
#[derive(Clone, Debug)]
pub struct Session {
    /// Its row id.
    pub id: i64,
    /// The tenant and its name.
    pub tenant: (TenantId, String),
    /// The person, as the audit log names them.
    pub person: String,
    /// What the session may do.
    pub scope: Scope,
    /// Hex SHA-256 of its secret part.
    pub secret_hash: String,
    /// When it ends at the latest.
    pub expires_at: i64,
}

fn parse_scope(text: &str) -> Result<Scope> {
    Scope::parse(text)
        .filter(|s| s.is_tenant_scope())
        .ok_or_else(|| {
            StoreError::Other(anyhow::anyhow!(
                "unknown console scope {text:?} in the database"
            ))
        })
}

impl Storage {
    /// Stores a sign-in token; returns its id. Audited in the tenant's
    /// chain (who it is for, the scope, who made it; never the secret).
    pub async fn create_sign_in(&self, new: &NewSignIn<'_>) -> Result<i64> {
        if !new.scope.is_tenant_scope() {
            return Err(StoreError::Conflict(format!(
                "a console sign-in opens one tenant's console; scope {} is not a tenant's",
                new.scope
            )));
        }
        let mut tx = self.write(new.tenant).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO console_sign_ins
               (public_id, tenant_id, name, scope, secret_hash, created_at, created_by, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(new.public_id)
        .bind(new.tenant.0)
        .bind(new.name)
        .bind(new.scope.as_str())
        .bind(new.secret_hash)
        .bind(new.at)
        .bind(new.actor)
        .bind(new.expires_at)
        .fetch_one(&mut *tx)
        .await?;
        let detail = format!(
            "console sign-in token {id} for {:?} with scope {}",
            new.name, new.scope
        );
        let note = AuditNote {
            actor: new.actor,
            action: "console.sign-in-token",
            detail: &detail,
            at: new.at,
        };
        audit::append(&mut tx, new.tenant, None, &note).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The unspent, unexpired sign-in token with this public id, if any.
    pub async fn sign_in_by_public_id(
        &self,
        public_id: &str,
        now: i64,
    ) -> Result<Option<StoredSignIn>> {
        let row = sqlx::query(
            "SELECT id, secret_hash FROM console_sign_ins
             WHERE public_id = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(public_id)
        .bind(now)
        .fetch_optional(&mut *self.read(Tenancy::AllTenants).await?)
        .await?;
        Ok(row.map(|r| StoredSignIn {
            id: r.get("id"),
            secret_hash: r.get("secret_hash"),
        }))
    }

    /// Spends sign-in token `sign_in` and creates the session, in one
    /// transaction with an audit entry; `None` when the token was spent
    /// (or expired) in the meantime.
    pub async fn spend_sign_in(
        &self,
        sign_in: i64,
        session: &NewSession<'_>,
    ) -> Result<Option<Session>> {
        let mut tx = self.write(Tenancy::AllTenants).await?;
        let row = sqlx::query(
            "UPDATE console_sign_ins SET used_at = $1
             WHERE id = $2 AND used_at IS NULL AND expires_at > $3
             RETURNING tenant_id, name, scope",
        )
        .bind(session.at)
        .bind(sign_in)
        .bind(session.at)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let tenant = TenantId(row.get("tenant_id"));
        let person: String = row.get("name");
        let scope = parse_scope(&row.get::<String, _>("scope"))?;
        let opened = insert_session(
            &mut tx,
            tenant,
            &person,
            scope,
            session,
            &format!("with sign-in token {sign_in}"),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(opened))
    }

    /// The live session with this public id: not ended, not expired.
    pub async fn session_by_public_id(&self, public_id: &str, now: i64) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT s.id, s.tenant_id, t.name AS tenant_name, s.person, s.scope, s.secret_hash,
                    s.expires_at
             FROM console_sessions s JOIN tenants t ON t.id = s.tenant_id
             WHERE s.public_id = $1 AND s.ended_at IS NULL AND s.expires_at > $2",
        )
        .bind(public_id)
        .bind(now)
        .fetch_optional(&mut *self.read(Tenancy::AllTenants).await?)
        .await?;
        row.map(|r| {
            Ok(Session {
                id: r.get("id"),
                tenant: (TenantId(r.get("tenant_id")), r.get("tenant_name")),
                person: r.get("person"),
                scope: parse_scope(&r.get::<String, _>("scope"))?,
                secret_hash: r.get("secret_hash"),
                expires_at: r.get("expires_at"),
            })
        })
        .transpose()
    }

    /// Ends a session (signing out), audited; ending one twice is harmless.
    pub async fn end_session(&self, session: &Session, at: i64) -> Result<()> {
        let mut tx = self.write(session.tenant.0).await?;
        let ended = sqlx::query(
            "UPDATE console_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL",
        )
        .bind(at)
        .bind(session.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if ended == 1 {
            let detail = format!("console session {} signed out", session.id);
            let actor = format!("console:{}", session.person);
            let note = AuditNote {
                actor: &actor,
                action: "console.sign-out",
                detail: &detail,
                at,
            };
            audit::append(&mut tx, session.tenant.0, None, &note).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Creates a session for `person` of `tenant` and its audit entry
/// (`how` says what opened it), inside the caller's transaction.
pub(crate) async fn insert_session(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    tenant: TenantId,
    person: &str,
    scope: Scope,
    session: &NewSession<'_>,
    how: &str,
) -> Result<Session> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO console_sessions
           (public_id, tenant_id, person, scope, secret_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(session.public_id)
    .bind(tenant.0)
    .bind(person)
    .bind(scope.as_str())
    .bind(session.secret_hash)
    .bind(session.at)
    .bind(session.expires_at)
    .fetch_one(&mut **tx)
    .await?;
    let tenant_name: String = sqlx::query_scalar("SELECT name FROM tenants WHERE id = $1")
        .bind(tenant.0)
        .fetch_one(&mut **tx)
        .await?;
    let detail = format!("console session {id} opened {how}, scope {scope}");
    let actor = format!("console:{person}");
    let note = AuditNote {
        actor: &actor,
        action: "console.sign-in",
        detail: &detail,
        at: session.at,
    };
    audit::append(tx, tenant, None, &note).await?;
    Ok(Session {
        id,
        tenant: (tenant, tenant_name),
        person: person.to_string(),
        scope,
        secret_hash: session.secret_hash.to_string(),
        expires_at: session.expires_at,
    })
}
