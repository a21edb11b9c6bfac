//! Who is calling: the bearer token, its tenant and scope, and the limit
//! on failed attempts.
//!
//! Every route but the OpenAPI document takes an [`Authed`] caller. The
//! token is checked against the store on every request, so a revoked token
//! stops working at once, on every server process. An address that failed
//! to authenticate [`MAX_FAILURES`] times within [`FAILURE_WINDOW_MS`] is
//! answered 429 with `Retry-After` before any token is looked at, valid or
//! not, so guessing is slow and a guess that happens to succeed is not told
//! apart. The address is the TCP peer's: behind a proxy that is the proxy
//! (forwarded headers are not trusted, since any client can send them).

use crate::ApiState;
use crate::problem::ApiError;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use seatwarden_app::tokens::{self, Caller};
use seatwarden_domain::access::Scope;
use seatwarden_store::TenantId;
use secrecy::SecretString;
use std::net::SocketAddr;

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
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        let app = &state.app;
        let now = app.now();
        let window_start = now - FAILURE_WINDOW_MS;
        let (failures, oldest) = app.storage.auth_failures(&address, window_start).await?;
        if failures >= state.options.max_auth_failures {
            let until = oldest.unwrap_or(now) + FAILURE_WINDOW_MS;
            return Err(ApiError::TooManyRequests(
                u64::try_from((until - now + 999) / 1000)
                    .unwrap_or(1)
                    .max(1),
            ));
        }
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(|token| SecretString::from(token.trim().to_string()));
        let caller = match presented {
            Some(token) => tokens::authenticate(app, &token).await?,
            None => None,
        };
        match caller {
            Some(caller) => Ok(Authed(caller)),
            None => {
                app.storage
                    .note_auth_failure(&address, now, window_start)
                    .await?;
                Err(ApiError::Unauthorized)
            }
        }
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
