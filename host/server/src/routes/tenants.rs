//! The operator's routes: tenants and their first tokens.
//!
//! An operator token sees no tenant's data; it creates tenants and gives
//! each its first (admin) token, after which the tenant manages itself.

use crate::ApiState;
use crate::auth::{Authed, operator};
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ApiError, ApiResult};
use crate::views::{IssuedTokenView, TenantView, TokenView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use seatwarden_app::tokens;
use seatwarden_domain::access::Scope;
use serde::Deserialize;
use utoipa::ToSchema;

/// The longest tenant name accepted, in bytes.
const MAX_TENANT_NAME: usize = 64;

/// A tenant to create.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "acme"}))]
pub struct NewTenant {
    /// Its name: 1 to 64 letters, digits, `-`, `_` or `.`, unique.
    pub name: String,
}

/// A token to make.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "nightly export", "scope": "read"}))]
pub struct NewTokenRequest {
    /// What it is for (shown in lists and the audit log).
    pub name: String,
    /// `read`, `operate` or `admin`.
    pub scope: String,
}

/// The tenant scope a request asks for, checked.
pub(crate) fn tenant_scope(asked: &str) -> Result<Scope, ApiError> {
    match Scope::parse(asked) {
        Some(scope) if scope.is_tenant_scope() => Ok(scope),
        _ => Err(ApiError::field(
            "scope",
            format!("scope {asked:?} is not one of read, operate, admin"),
        )),
    }
}

fn check_tenant_name(name: &str) -> Result<(), ApiError> {
    let fine = !name.is_empty()
        && name.len() <= MAX_TENANT_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if fine {
        Ok(())
    } else {
        Err(ApiError::field(
            "name",
            format!("a tenant's name is 1 to {MAX_TENANT_NAME} letters, digits, '-', '_' or '.'"),
        ))
    }
}

/// Every tenant.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "operator",
    responses((status = 200, body = [TenantView]), (status = 403, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    Authed(caller): Authed,
) -> ApiResult<Json<Vec<TenantView>>> {
    operator(&caller)?;
    let tenants = state.app.storage.tenants().await?;
    Ok(Json(tenants.into_iter().map(TenantView::from).collect()))
}

/// Creates a tenant.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "operator", request_body = NewTenant,
    responses((status = 201, body = TenantView), (status = 409, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn create(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiJson(body): ApiJson<NewTenant>,
) -> ApiResult<(StatusCode, Json<TenantView>)> {
    operator(&caller)?;
    check_tenant_name(&body.name)?;
    let tenant = state
        .app
        .storage
        .create_api_tenant(&body.name, state.app.now())
        .await?;
    Ok((StatusCode::CREATED, Json(tenant.into())))
}

async fn find_tenant(state: &ApiState, name: &str) -> ApiResult<seatwarden_store::TenantId> {
    state
        .app
        .storage
        .find_tenant(name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no tenant named {name:?}")))
}

/// A tenant's tokens.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/tokens", tag = "operator",
    params(("tenant" = String, Path, description = "The tenant's name")),
    responses((status = 200, body = [TokenView]), (status = 404, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn tokens_of(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(tenant): ApiPath<String>,
) -> ApiResult<Json<Vec<TokenView>>> {
    operator(&caller)?;
    let id = find_tenant(&state, &tenant).await?;
    let listed = tokens::list(&state.app, Some(id)).await?;
    Ok(Json(listed.into_iter().map(TokenView::from).collect()))
}

/// Makes a token for a tenant (its first admin, typically); shown once.
#[utoipa::path(post, path = "/api/v1/tenants/{tenant}/tokens", tag = "operator",
    params(("tenant" = String, Path, description = "The tenant's name")),
    request_body = NewTokenRequest,
    responses((status = 201, body = IssuedTokenView), (status = 404, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn issue_for(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(tenant): ApiPath<String>,
    ApiJson(body): ApiJson<NewTokenRequest>,
) -> ApiResult<(StatusCode, Json<IssuedTokenView>)> {
    operator(&caller)?;
    let id = find_tenant(&state, &tenant).await?;
    crate::routes::tokens::issue_for(&state, &caller, id, &body).await
}
