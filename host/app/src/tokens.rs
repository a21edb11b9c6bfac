//! API tokens: how one is made, shown once, and checked.
//!
//! A token reads `swt_<public id>_<secret>`: 8 random bytes in hex that
//! find its row by index, then 32 random bytes in base64url. Only the
//! SHA-256 of the secret is stored; a token is high-entropy, so a slow
//! password hash would add latency to every request and no safety. The
//! presented secret's hash is compared in constant time. A revoked token,
//! an unknown one and a malformed one all fail the same way, so a caller
//! learns nothing about which tokens exist.

use crate::App;
use anyhow::{Context, Result, bail};
use ring::rand::{SecureRandom, SystemRandom};
use seatwarden_domain::access::Scope;
use seatwarden_store::{NewToken, TenantId, TokenInfo};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const PREFIX: &str = "swt_";
const PUBLIC_BYTES: usize = 8;
const SECRET_BYTES: usize = 32;
/// The longest token name accepted, in bytes.
pub const MAX_NAME: usize = 100;

/// A token just made: its id and the token itself, which is never stored
/// and cannot be shown again.
pub struct IssuedToken {
    /// The token's id, as `token revoke` takes it.
    pub id: i64,
    /// The whole token, for the `Authorization: Bearer` header.
    pub token: SecretString,
}

/// Who a valid token speaks for.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The token's id.
    pub token_id: i64,
    /// The token's name.
    pub token_name: String,
    /// What it may do.
    pub scope: Scope,
    /// Its tenant (id and name); `None` for an operator token.
    pub tenant: Option<(TenantId, String)>,
}

impl Caller {
    /// Who acted, as the audit log names it: the token's id and name.
    pub fn actor(&self) -> String {
        format!("api:token:{}:{}", self.token_id, self.token_name)
    }
}

/// Checks a token's name: plain text, 1 to [`MAX_NAME`] bytes.
pub fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        bail!("a token needs a name that says what it is for");
    }
    if name.len() > MAX_NAME {
        bail!("a token's name is at most {MAX_NAME} bytes");
    }
    if name.chars().any(seatwarden_domain::text::rewrites_display)
        || name.chars().any(char::is_control)
    {
        bail!("a token's name must be plain text (no control or invisible characters)");
    }
    Ok(())
}

/// Makes a token for `tenant` (`None`: an operator token) and stores its
/// hash; the returned token is the only copy.
pub async fn issue(
    app: &App,
    tenant: Option<TenantId>,
    name: &str,
    scope: Scope,
    actor: &str,
) -> Result<IssuedToken> {
    check_name(name)?;
    let rng = SystemRandom::new();
    let mut public = [0u8; PUBLIC_BYTES];
    let mut secret = [0u8; SECRET_BYTES];
    rng.fill(&mut public)
        .ok()
        .context("the system's random source failed")?;
    rng.fill(&mut secret)
        .ok()
        .context("the system's random source failed")?;
    let public_id = hex::encode(public);
    let secret = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secret);
    let id = app
        .storage
        .create_token(&NewToken {
            public_id: &public_id,
            secret_hash: &hash(&secret),
            tenant,
            name,
            scope,
            actor,
            at: app.now(),
        })
        .await?;
    Ok(IssuedToken {
        id,
        token: SecretString::from(format!("{PREFIX}{public_id}_{secret}")),
    })
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The caller a presented token speaks for; `None` when it is malformed,
/// unknown, revoked, or its secret does not match.
pub async fn authenticate(app: &App, presented: &SecretString) -> Result<Option<Caller>> {
    let presented = presented.expose_secret();
    let Some((public_id, secret)) = presented
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('_'))
    else {
        return Ok(None);
    };
    if public_id.len() != PUBLIC_BYTES * 2 || !public_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(stored) = app.storage.token_by_public_id(public_id).await? else {
        return Ok(None);
    };
    let matches: bool = hash(secret)
        .as_bytes()
        .ct_eq(stored.secret_hash.as_bytes())
        .into();
    if !matches || stored.info.revoked_at.is_some() {
        return Ok(None);
    }
    app.storage.touch_token(stored.info.id, app.now()).await?;
    let tenant = match (stored.tenant, stored.info.tenant) {
        (Some(id), Some(name)) => Some((id, name)),
        _ => None,
    };
    if stored.info.scope.is_tenant_scope() != tenant.is_some() {
        return Ok(None);
    }
    Ok(Some(Caller {
        token_id: stored.info.id,
        token_name: stored.info.name,
        scope: stored.info.scope,
        tenant,
    }))
}

/// A tenant's tokens (`None`: the operator tokens), without secrets.
pub async fn list(app: &App, tenant: Option<TenantId>) -> Result<Vec<TokenInfo>> {
    Ok(app.storage.tokens(tenant).await?)
}
