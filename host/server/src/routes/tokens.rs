//! A tenant's own tokens, managed by its admins.

use crate::ApiState;
use crate::auth::{Authed, tenant_of};
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ApiError, ApiResult};
use crate::routes::tenants::{NewTokenRequest, tenant_scope};
use crate::views::{IssuedTokenView, TokenView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use seatwarden_app::tokens::{self, Caller};
use seatwarden_domain::access::Scope;
use seatwarden_store::TenantId;
use secrecy::ExposeSecret;

/// The tenant's tokens, revoked ones included.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = [TokenView]), (status = 403, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    Authed(caller): Authed,
) -> ApiResult<Json<Vec<TokenView>>> {
    let (tenant, _) = tenant_of(&caller, Scope::Admin)?;
    let listed = tokens::list(&state.app, Some(tenant)).await?;
    Ok(Json(listed.into_iter().map(TokenView::from).collect()))
}

/// Makes a token of the tenant; the token is in the answer and nowhere else.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewTokenRequest,
    responses((status = 201, body = IssuedTokenView), (status = 400, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn issue(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiJson(body): ApiJson<NewTokenRequest>,
) -> ApiResult<(StatusCode, Json<IssuedTokenView>)> {
    let (tenant, _) = tenant_of(&caller, Scope::Admin)?;
    issue_for(&state, &caller, tenant, &body).await
}

/// Makes the token `body` asks for in `tenant`, on behalf of `caller`
/// (the tenant's admin, or the operator giving a tenant its first token).
pub(crate) async fn issue_for(
    state: &ApiState,
    caller: &Caller,
    tenant: TenantId,
    body: &NewTokenRequest,
) -> ApiResult<(StatusCode, Json<IssuedTokenView>)> {
    let scope = tenant_scope(&body.scope)?;
    tokens::check_name(&body.name).map_err(|err| ApiError::field("name", err.to_string()))?;
    let issued =
        tokens::issue(&state.app, Some(tenant), &body.name, scope, &caller.actor()).await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedTokenView {
            id: issued.id,
            token: issued.token.expose_secret().to_string(),
            scope: scope.to_string(),
        }),
    ))
}

/// Revokes one of the tenant's tokens; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = i64, Path, description = "The token's id")),
    responses((status = 200, body = TokenView), (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem, description = "Already revoked, or the token presented is this one")),
    security(("token" = [])))]
pub async fn revoke(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<TokenView>> {
    let (tenant, _) = tenant_of(&caller, Scope::Admin)?;
    if Some(id) == caller.token_id() {
        return Err(ApiError::Conflict(
            "a token cannot revoke itself (that would lock its holder out mid-request); revoke it with another admin token or `seatwarden token revoke`".into(),
        ));
    }
    let revoked = state
        .app
        .storage
        .revoke_token(Some(tenant), id, &caller.actor(), state.app.now())
        .await?;
    Ok(Json(revoked.into()))
}
