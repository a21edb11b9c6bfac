//! Job runs: what ran, when, and how it ended.

use crate::ApiState;
use crate::auth::{Authed, tenant_of};
use crate::extract::ApiQuery;
use crate::paging;
use crate::problem::ApiResult;
use crate::routes::profiles;
use crate::views::{JobPage, JobView};
use axum::Json;
use axum::extract::State;
use seatwarden_domain::access::Scope;
use seatwarden_store::JobFilter;
use serde::Deserialize;
use utoipa::IntoParams;

/// Filters and paging of the jobs listing.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    /// Only this profile's jobs.
    pub profile: Option<String>,
    /// Only failed runs.
    pub failed: Option<bool>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// Items per page, 1 to 500 (default 100).
    pub limit: Option<u32>,
}

/// The tenant's job runs, newest first.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs",
    params(JobQuery),
    responses((status = 200, body = JobPage), (status = 400, body = crate::problem::Problem),
        (status = 404, body = crate::problem::Problem, description = "No such profile in this tenant")),
    security(("token" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiQuery(query): ApiQuery<JobQuery>,
) -> ApiResult<Json<JobPage>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    let limit = paging::limit(query.limit)?;
    let profile = match &query.profile {
        Some(name) => Some(profiles::find(&state, tenant, name).await?.id),
        None => None,
    };
    let filter = JobFilter {
        profile,
        failed_only: query.failed.unwrap_or(false),
    };
    let before = paging::decode::<i64>(query.cursor.as_deref())?;
    let rows = state
        .app
        .storage
        .job_runs_page(tenant, &filter, before, limit + 1)
        .await?;
    let (rows, next_cursor) = paging::split(rows, limit, |j| j.id);
    Ok(Json(JobPage {
        items: rows.into_iter().map(JobView::from).collect(),
        next_cursor,
    }))
}
