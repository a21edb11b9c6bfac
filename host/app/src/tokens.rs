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

/// Who a request speaks for: an API token, or a person signed in to the
/// web console.
#[derive(Clone, Debug)]
pub struct Caller {
    /// How the caller proved who it is.
    pub via: Via,
    /// What it may do.
    pub scope: Scope,
    /// Its tenant (id and name); `None` for an operator token.
    pub tenant: Option<(TenantId, String)>,
}

/// How a caller authenticated.
#[derive(Clone, Debug)]
pub enum Via {
    /// An API token, by id and name.
    Token {
        /// The token's id.
        id: i64,
        /// The token's name.
        name: String,
    },
    /// A console session, with the person it was opened for.
    Console {
        /// The session's id.
        session: i64,
        /// The person, as their sign-in names them.
        person: String,
    },
}

impl Caller {
    /// Who acted, as the audit log names it: the token's id and name, or
    /// the person and their console session.
    pub fn actor(&self) -> String {
        match &self.via {
            Via::Token { id, name } => format!("api:token:{id}:{name}"),
            Via::Console { session, person } => format!("console:{person} (session {session})"),
        }
    }

    /// The API token's id, when the caller is one.
    pub fn token_id(&self) -> Option<i64> {
        match self.via {
            Via::Token { id, .. } => Some(id),
            Via::Console { .. } => None,
        }
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
    let (public_id, secret) = mint()?;
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

/// A new random public id (hex) and secret (base64url), the two parts of
/// every credential the server hands out: API tokens, console sign-in
/// tokens and console sessions.
pub(crate) fn mint() -> Result<(String, String)> {
    let rng = SystemRandom::new();
    let mut public = [0u8; PUBLIC_BYTES];
    let mut secret = [0u8; SECRET_BYTES];
    rng.fill(&mut public)
        .ok()
        .context("the system's random source failed")?;
    rng.fill(&mut secret)
        .ok()
        .context("the system's random source failed")?;
    Ok((
        hex::encode(public),
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secret),
    ))
}

/// The hex SHA-256 of a secret, as stored.
pub(crate) fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Splits `<prefix><public id>_<secret>` into its public id and secret;
/// `None` when it does not have that shape.
pub(crate) fn split<'a>(presented: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let (public_id, secret) = presented.strip_prefix(prefix)?.split_once('_')?;
    let shaped = public_id.len() == PUBLIC_BYTES * 2
        && public_id.bytes().all(|b| b.is_ascii_hexdigit())
        && !secret.is_empty()
        && secret.len() <= 64;
    shaped.then_some((public_id, secret))
}

/// Whether `secret` hashes to `stored_hash`, compared in constant time.
pub(crate) fn secret_matches(secret: &str, stored_hash: &str) -> bool {
    hash(secret).as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

/// The caller a presented token speaks for; `None` when it is malformed,
/// unknown, revoked, or its secret does not match.
pub async fn authenticate(app: &App, presented: &SecretString) -> Result<Option<Caller>> {
    let presented = presented.expose_secret();
    let Some((public_id, secret)) = split(presented, PREFIX) else {
        return Ok(None);
    };
    let Some(stored) = app.storage.token_by_public_id(public_id).await? else {
        return Ok(None);
    };
    if !secret_matches(secret, &stored.secret_hash) || stored.info.revoked_at.is_some() {
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
        via: Via::Token {
            id: stored.info.id,
            name: stored.info.name,
        },
        scope: stored.info.scope,
        tenant,
    }))
}

/// A tenant's tokens (`None`: the operator tokens), without secrets.
pub async fn list(app: &App, tenant: Option<TenantId>) -> Result<Vec<TokenInfo>> {
    Ok(app.storage.tokens(tenant).await?)
}
