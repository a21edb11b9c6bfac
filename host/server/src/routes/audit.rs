//! The tenant's audit log: its entries a page at a time, and the check of
//! its hash chain.

use crate::ApiState;
use crate::auth::{Authed, tenant_of};
use crate::extract::ApiQuery;
use crate::paging;
use crate::problem::ApiResult;
use crate::views::{AuditCheckView, AuditPage, AuditView};
use axum::Json;
use axum::extract::State;
use seatwarden_domain::access::Scope;
use seatwarden_store::AuditCheck;
use serde::Deserialize;
use utoipa::IntoParams;

/// Paging of the audit log.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// Items per page, 1 to 500 (default 100).
    pub limit: Option<u32>,
}

/// The tenant's audit entries, oldest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    let limit = paging::limit(query.limit)?;
    let after = paging::decode::<i64>(query.cursor.as_deref())?;
    let rows = state
        .app
        .storage
        .audit_page(tenant, after, limit + 1)
        .await?;
    let (rows, next_cursor) = paging::split(rows, limit, |a| a.id);
    Ok(Json(AuditPage {
        items: rows.into_iter().map(AuditView::from).collect(),
        next_cursor,
    }))
}

/// Recomputes the tenant's hash chain from its first entry.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = AuditCheckView)),
    security(("token" = [])))]
pub async fn verify(
    State(state): State<ApiState>,
    Authed(caller): Authed,
) -> ApiResult<Json<AuditCheckView>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    Ok(Json(match state.app.storage.verify_audit(tenant).await? {
        AuditCheck::Intact { entries, head } => AuditCheckView {
            intact: true,
            entries: Some(entries as u64),
            head: Some(head),
            broken_at: None,
            reason: None,
        },
        AuditCheck::Broken { entry, reason } => AuditCheckView {
            intact: false,
            entries: None,
            head: None,
            broken_at: Some(entry),
            reason: Some(reason),
        },
    }))
}
