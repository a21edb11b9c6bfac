//! The web console's way in: one-time sign-in tokens and the sessions they
//! open.
//!
//! A sign-in token (`swsi_<public id>_<secret>`) is made for one person of
//! one tenant with a scope, is good for a few minutes, and opens exactly
//! one session. The session's cookie value (`sws_<public id>_<secret>`) is
//! checked like an API token: found by its public id, its secret's
//! SHA-256 compared in constant time, refused once ended or expired. The
//! CSRF token of a session is derived from its secret, so it needs no
//! storage and is unknown to anyone without the cookie.

use crate::App;
use crate::tokens::{check_name, hash, mint, secret_matches, split};
use anyhow::{Result, bail};
use seatwarden_domain::access::Scope;
use seatwarden_store::{NewSession, NewSignIn, Session, TenantId};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const SIGN_IN_PREFIX: &str = "swsi_";
const SESSION_PREFIX: &str = "sws_";
/// How long a session lasts at most, signed out or not (8 hours).
pub const SESSION_MS: i64 = 8 * 60 * 60 * 1000;
/// How long a sign-in token is good for unless told otherwise (15 minutes).
pub const SIGN_IN_MS: i64 = 15 * 60 * 1000;
/// The longest a sign-in token may be made to last (24 hours): it travels
/// in a link, so it should not outlive the message that carried it.
pub const MAX_SIGN_IN_MS: i64 = 24 * 60 * 60 * 1000;

/// Makes a one-time sign-in token for `person` of `tenant`, good for
/// `valid_ms`; the returned token is the only copy.
pub async fn issue_sign_in(
    app: &App,
    tenant: TenantId,
    person: &str,
    scope: Scope,
    valid_ms: i64,
    actor: &str,
) -> Result<SecretString> {
    check_name(person)?;
    if !scope.is_tenant_scope() {
        bail!("a console sign-in opens one tenant's console: use scope read, operate or admin");
    }
    if !(60_000..=MAX_SIGN_IN_MS).contains(&valid_ms) {
        bail!("a sign-in token lasts from one minute to 24 hours (1440 minutes)");
    }
    let (public_id, secret) = mint()?;
    let at = app.now();
    app.storage
        .create_sign_in(&NewSignIn {
            public_id: &public_id,
            secret_hash: &hash(&secret),
            tenant,
            name: person,
            scope,
            actor,
            at,
            expires_at: at + valid_ms,
        })
        .await?;
    Ok(SecretString::from(format!(
        "{SIGN_IN_PREFIX}{public_id}_{secret}"
    )))
}

/// A session just opened: its record and the cookie value, the only copy
/// of its secret.
pub struct Opened {
    /// Who is signed in, where.
    pub session: Session,
    /// What the browser's cookie carries.
    pub cookie: SecretString,
}

/// Spends a presented sign-in token and opens a session; `None` when the
/// token is malformed, unknown, spent, expired or does not match.
pub async fn sign_in(app: &App, presented: &SecretString) -> Result<Option<Opened>> {
    let presented = presented.expose_secret().trim();
    let Some((public_id, secret)) = split(presented, SIGN_IN_PREFIX) else {
        return Ok(None);
    };
    let now = app.now();
    let Some(stored) = app.storage.sign_in_by_public_id(public_id, now).await? else {
        return Ok(None);
    };
    if !secret_matches(secret, &stored.secret_hash) {
        return Ok(None);
    }
    let (session_id, session_secret) = mint()?;
    let opened = app
        .storage
        .spend_sign_in(
            stored.id,
            &NewSession {
                public_id: &session_id,
                secret_hash: &hash(&session_secret),
                at: now,
                expires_at: now + SESSION_MS,
            },
        )
        .await?;
    Ok(opened.map(|session| Opened {
        session,
        cookie: SecretString::from(format!("{SESSION_PREFIX}{session_id}_{session_secret}")),
    }))
}

/// Opens a session for `person` of `tenant` that someone else vouched for
/// (the tenant's identity provider), audited with `how`.
pub(crate) async fn open_session(
    app: &App,
    tenant: TenantId,
    person: &str,
    scope: Scope,
    valid_ms: i64,
    how: &str,
) -> Result<Opened> {
    let (session_id, session_secret) = mint()?;
    let now = app.now();
    let session = app
        .storage
        .open_sign_on_session(
            tenant,
            person,
            scope,
            &NewSession {
                public_id: &session_id,
                secret_hash: &hash(&session_secret),
                at: now,
                expires_at: now + valid_ms,
            },
            how,
        )
        .await?;
    Ok(Opened {
        session,
        cookie: SecretString::from(format!("{SESSION_PREFIX}{session_id}_{session_secret}")),
    })
}

/// The live session a cookie value names; `None` when it is malformed,
/// unknown, ended, expired or does not match.
pub async fn session(app: &App, cookie: &str) -> Result<Option<Session>> {
    let Some((public_id, secret)) = split(cookie, SESSION_PREFIX) else {
        return Ok(None);
    };
    let Some(stored) = app
        .storage
        .session_by_public_id(public_id, app.now())
        .await?
    else {
        return Ok(None);
    };
    Ok(secret_matches(secret, &stored.secret_hash).then_some(stored))
}

/// The CSRF token of the session a cookie value names: derived from the
/// session's secret, so only a page served to that browser carries it.
pub fn csrf_token(cookie: &str) -> String {
    let digest = Sha256::new_with_prefix(b"seatwarden console csrf\0")
        .chain_update(cookie.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

/// Whether a form's CSRF token is the session's (`expected`, from
/// [`csrf_token`]), compared in constant time.
pub fn csrf_matches_token(expected: &str, presented: &str) -> bool {
    expected.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// Signs a session out; its cookie authenticates nothing from now on.
pub async fn sign_out(app: &App, session: &Session) -> Result<()> {
    Ok(app.storage.end_session(session, app.now()).await?)
}
