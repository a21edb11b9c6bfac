//! Removal candidates: the queue with the evidence for each, and the
//! decisions people make on them.

use crate::ApiState;
use crate::auth::{Authed, tenant_of};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::paging;
use crate::problem::{ApiError, ApiResult};
use crate::routes::profiles;
use crate::views::{CandidatePage, CandidateView};
use axum::Json;
use axum::extract::State;
use seatwarden_app::on_demand;
use seatwarden_domain::access::Scope;
use seatwarden_domain::candidate_state::Decision;
use seatwarden_store::{CandidateFilter, CandidateState, TenantId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The longest decision reason accepted, in bytes.
const MAX_REASON: usize = 500;

/// Filters and paging of the candidates listing.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CandidateQuery {
    /// Only this profile's candidates.
    pub profile: Option<String>,
    /// Only candidates in this state (e.g. `ready`, `awaiting-approval`, `closed-complete`).
    pub state: Option<String>,
    /// Closed candidates too (open ones only by default).
    pub all: Option<bool>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// Items per page, 1 to 500 (default 100).
    pub limit: Option<u32>,
}

/// The tenant's candidates, newest first.
#[utoipa::path(get, path = "/api/v1/candidates", tag = "candidates",
    params(CandidateQuery),
    responses((status = 200, body = CandidatePage), (status = 400, body = crate::problem::Problem),
        (status = 404, body = crate::problem::Problem, description = "No such profile in this tenant")),
    security(("token" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiQuery(query): ApiQuery<CandidateQuery>,
) -> ApiResult<Json<CandidatePage>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    let limit = paging::limit(query.limit)?;
    let profile = match &query.profile {
        Some(name) => Some(profiles::find(&state, tenant, name).await?.id),
        None => None,
    };
    let candidate_state = match query.state.as_deref() {
        None => None,
        Some(text) => Some(CandidateState::parse(text).ok_or_else(|| {
            let known: Vec<&str> = CandidateState::ALL.iter().map(|s| s.as_str()).collect();
            ApiError::field(
                "state",
                format!("state {text:?} is not one of {}", known.join(", ")),
            )
        })?),
    };
    let filter = CandidateFilter {
        profile,
        state: candidate_state,
        include_closed: query.all.unwrap_or(false),
    };
    let before = paging::decode::<i64>(query.cursor.as_deref())?;
    let rows = state
        .app
        .storage
        .candidates_page(tenant, &filter, before, limit + 1)
        .await?;
    let (rows, next_cursor) = paging::split(rows, limit, |(_, c)| c.id);
    Ok(Json(CandidatePage {
        items: rows
            .into_iter()
            .map(|(profile, c)| CandidateView::new(profile, c))
            .collect(),
        next_cursor,
    }))
}

async fn find(state: &ApiState, tenant: TenantId, id: i64) -> ApiResult<CandidateView> {
    let (profile, candidate) = state
        .app
        .storage
        .find_candidate(tenant, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("this tenant has no candidate {id}")))?;
    Ok(CandidateView::new(profile, candidate))
}

/// One candidate.
#[utoipa::path(get, path = "/api/v1/candidates/{id}", tag = "candidates",
    params(("id" = i64, Path, description = "The candidate's id")),
    responses((status = 200, body = CandidateView), (status = 404, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CandidateView>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    Ok(Json(find(&state, tenant, id).await?))
}

/// A decision on a candidate.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "skip", "reason": "on parental leave"}))]
pub struct DecisionRequest {
    /// `approve` (reclaim it, or retry a failed reclamation), `reject`
    /// (the user keeps the seat), `keep` / `release` (the user's answer,
    /// given in person), or `skip` (drop the candidate).
    pub decision: String,
    /// Why, for the audit log (at most 500 bytes of plain text).
    pub reason: Option<String>,
}

/// What a decision did.
#[derive(Serialize, ToSchema)]
pub struct DecisionOutcome {
    /// The candidate as it now stands.
    pub candidate: CandidateView,
    /// The state it was in before.
    pub previous_state: String,
    /// Why nothing will be deactivated although it now awaits revocation
    /// (its profile reports only), if so.
    pub report_only: Option<String>,
}

fn decision(text: &str) -> Result<Decision, ApiError> {
    match text {
        "approve" => Ok(Decision::Approve),
        "reject" => Ok(Decision::Reject),
        "keep" => Ok(Decision::Keep),
        "release" => Ok(Decision::Release),
        "skip" => Ok(Decision::Skip),
        other => Err(ApiError::field(
            "decision",
            format!("{other:?} is not one of approve, reject, keep, release, skip"),
        )),
    }
}

/// Decides a candidate, through the candidate state machine; a decision
/// its state does not allow is a 409 that says what would.
#[utoipa::path(post, path = "/api/v1/candidates/{id}/decision", tag = "candidates",
    params(("id" = i64, Path, description = "The candidate's id")),
    request_body = DecisionRequest,
    responses((status = 200, body = DecisionOutcome), (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn decide(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> ApiResult<Json<DecisionOutcome>> {
    let (tenant, tenant_name) = tenant_of(&caller, Scope::Operate)?;
    find(&state, tenant, id).await?;
    let decision = decision(&body.decision)?;
    if let Some(reason) = &body.reason
        && (reason.len() > MAX_REASON
            || reason.chars().any(|c| {
                c != '\n' && (c.is_control() || seatwarden_domain::text::rewrites_display(c))
            }))
    {
        return Err(ApiError::field(
            "reason",
            format!("a reason is at most {MAX_REASON} bytes of plain text"),
        ));
    }
    let decided = on_demand::decide(
        &state.app,
        tenant,
        &tenant_name,
        &caller.actor(),
        id,
        decision,
        body.reason.as_deref(),
    )
    .await?;
    Ok(Json(DecisionOutcome {
        candidate: find(&state, tenant, id).await?,
        previous_state: decided.candidate.state.as_str().to_string(),
        report_only: decided.report_only,
    }))
}

/// Undoes a reclamation: reactivates the candidate's account through the
/// connector, within the vendor's window (e.g. Smartsheet's 30 days).
#[utoipa::path(post, path = "/api/v1/candidates/{id}/undo", tag = "candidates",
    params(("id" = i64, Path, description = "The reclaimed candidate's id")),
    responses((status = 200, body = CandidateView), (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem, description = "Not reclaimed, already undone, or the connector cannot reactivate"),
        (status = 502, body = crate::problem::Problem, description = "The vendor refused the reactivation (e.g. past its window); recorded")),
    security(("token" = [])))]
pub async fn undo(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<CandidateView>> {
    let (tenant, tenant_name) = tenant_of(&caller, Scope::Operate)?;
    find(&state, tenant, id).await?;
    on_demand::reactivate(&state.app, tenant, &tenant_name, &caller.actor(), id).await?;
    Ok(Json(find(&state, tenant, id).await?))
}
