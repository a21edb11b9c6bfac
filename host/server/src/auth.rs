//! Who is calling: the bearer token, its tenant and scope, and the limit
//! on failed attempts.
//!
//! Every route but the OpenAPI document takes an [`Authed`] caller. The
//! token is checked against the store on every request, so a revoked token
//! stops working at once, on every server process. A valid token always
//! passes. An address (an IPv6 /64) that presented [`MAX_FAILURES`] invalid
//! tokens within [`FAILURE_WINDOW_MS`] has its further invalid ones answered
//! 429 with `Retry-After`, so guessing is slow, while clients with a valid
//! token behind the same address (a NAT, a proxy) keep working. A request
//! without a token is refused and not counted. The address is the TCP
//! peer's: behind a proxy that is the proxy (forwarded headers are not
//! trusted, since any client can send them).

use crate::ApiState;
use crate::problem::ApiError;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use seatwarden_app::tokens::{self, Caller};
use seatwarden_domain::access::Scope;
use seatwarden_store::TenantId;
use secrecy::SecretString;
use std::net::{IpAddr, SocketAddr};

/// Failed authentications an address may make within the window, unless
/// the server was started with another limit ([`crate::Options`]).
pub const MAX_FAILURES: i64 = 20;
/// The window failures are counted over, in milliseconds.
pub const FAILURE_WINDOW_MS: i64 = 10 * 60 * 1000;

/// An authenticated caller.
pub struct Authed(pub Caller);

impl FromRequestParts<ApiState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let Some(presented) = bearer(parts) else {
            // No token is no guess: refused, and not counted against the
            // address (a client that forgot its header must not lock out
            // everyone behind the same address).
            return Err(ApiError::Unauthorized);
        };
        let app = &state.app;
        if let Some(caller) = tokens::authenticate(app, &presented).await? {
            return Ok(Authed(caller));
        }
        count_failure(state, &peer(parts)).await?;
        Err(ApiError::Unauthorized)
    }
}

/// The key failed authentications from this request's client are counted
/// under (see [`client_key`]).
pub(crate) fn peer(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| client_key(info.0.ip()))
        .unwrap_or_else(|| "unknown".into())
}

/// Counts a failed authentication from `address`; once the address is over
/// the limit, the failure is not counted and the answer is 429 with the
/// seconds until its oldest failure leaves the window.
pub(crate) async fn count_failure(state: &ApiState, address: &str) -> Result<(), ApiError> {
    count_against(state, address, state.options.max_auth_failures).await
}

/// Counts one event under `key`; once `max` are in the window, the event
/// is not counted and the answer is 429 with the seconds until the oldest
/// leaves the window.
pub(crate) async fn count_against(state: &ApiState, key: &str, max: i64) -> Result<(), ApiError> {
    let app = &state.app;
    let now = app.now();
    let window_start = now - FAILURE_WINDOW_MS;
    let (failures, oldest) = app.storage.auth_failures(key, window_start).await?;
    if failures >= max {
        return Err(too_many(oldest, now));
    }
    app.storage
        .note_auth_failure(key, now, window_start)
        .await?;
    Ok(())
}

/// Refuses (429) an address over its failure limit, counting nothing.
pub(crate) async fn refuse_if_blocked(state: &ApiState, address: &str) -> Result<(), ApiError> {
    let app = &state.app;
    let now = app.now();
    let (failures, oldest) = app
        .storage
        .auth_failures(address, now - FAILURE_WINDOW_MS)
        .await?;
    if failures >= state.options.max_auth_failures {
        return Err(too_many(oldest, now));
    }
    Ok(())
}

fn too_many(oldest: Option<i64>, now: i64) -> ApiError {
    let until = oldest.unwrap_or(now) + FAILURE_WINDOW_MS;
    ApiError::TooManyRequests(
        u64::try_from((until - now + 999) / 1000)
            .unwrap_or(1)
            .max(1),
    )
}

/// The bearer token of the `Authorization` header (the scheme's name in
/// any case, as HTTP allows), if there is one.
fn bearer(parts: &Parts) -> Option<SecretString> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| SecretString::from(token.trim().to_string()))
}

/// What failures are counted under: the IPv4 address, or the /64 of an
/// IPv6 one (a single host is commonly given a whole /64, and would
/// otherwise have 2^64 addresses to spread its guesses over).
fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The tenant a tenant's token acts for, once its scope allows `needed`.
pub fn tenant_of(caller: &Caller, needed: Scope) -> Result<(TenantId, String), ApiError> {
    let Some(tenant) = &caller.tenant else {
        return Err(ApiError::Forbidden(
            "an operator token manages tenants and sees no tenant's data; use a token of the tenant".into(),
        ));
    };
    if !caller.scope.allows(needed) {
        return Err(ApiError::Forbidden(format!(
            "this needs a token with scope {needed} (or higher); this token has {}",
            caller.scope
        )));
    }
    Ok(tenant.clone())
}

/// Passes an operator token.
pub fn operator(caller: &Caller) -> Result<(), ApiError> {
    if caller.scope == Scope::Operator {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "only an operator token manages tenants; `seatwarden token create --operator` makes one".into(),
        ))
    }
}
