//! The tenant's downloaded subscriptions, a page at a time.

use crate::ApiState;
use crate::auth::{Authed, tenant_of};
use crate::extract::ApiQuery;
use crate::paging;
use crate::problem::{ApiError, ApiResult};
use crate::routes::profiles;
use crate::views::{SubscriptionPage, SubscriptionView};
use axum::Json;
use axum::extract::State;
use seatwarden_domain::access::Scope;
use seatwarden_store::{AccountState, SubscriptionFilter, SubscriptionKey};
use serde::Deserialize;
use utoipa::IntoParams;

/// Filters and paging of the subscriptions listing.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionQuery {
    /// Only this profile's accounts.
    pub profile: Option<String>,
    /// `active`, `inactive` (deactivated at the vendor) or `gone`.
    pub state: Option<String>,
    /// Only accounts with no activity since this time (RFC 3339, or a date
    /// `YYYY-MM-DD` meaning its start in UTC); never-active accounts included.
    pub inactive_since: Option<String>,
    /// Only accounts active since this time (RFC 3339 or `YYYY-MM-DD`).
    pub active_since: Option<String>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
    /// Items per page, 1 to 500 (default 100).
    pub limit: Option<u32>,
}

/// A time a client wrote: RFC 3339, or a date meaning its start in UTC.
pub(crate) fn parse_time(field: &str, text: &str) -> Result<i64, ApiError> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t.as_millisecond());
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>()
        && let Ok(zoned) = date.to_zoned(jiff::tz::TimeZone::UTC)
    {
        return Ok(zoned.timestamp().as_millisecond());
    }
    Err(ApiError::field(
        field,
        format!(
            "{text:?} is not a time: write RFC 3339 (2026-11-30T12:00:00Z) or a date (2026-11-30)"
        ),
    ))
}

/// The tenant's accounts, ordered by profile and account id.
#[utoipa::path(get, path = "/api/v1/subscriptions", tag = "subscriptions",
    params(SubscriptionQuery),
    responses((status = 200, body = SubscriptionPage), (status = 400, body = crate::problem::Problem),
        (status = 404, body = crate::problem::Problem, description = "No such profile in this tenant")),
    security(("token" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiQuery(query): ApiQuery<SubscriptionQuery>,
) -> ApiResult<Json<SubscriptionPage>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    let limit = paging::limit(query.limit)?;
    let profile = match &query.profile {
        Some(name) => Some(profiles::find(&state, tenant, name).await?.id),
        None => None,
    };
    let account_state = match query.state.as_deref() {
        None => None,
        Some("active") => Some(AccountState::Active),
        Some("inactive") => Some(AccountState::Inactive),
        Some("gone") => Some(AccountState::Gone),
        Some(other) => {
            return Err(ApiError::field(
                "state",
                format!("state {other:?} is not one of active, inactive, gone"),
            ));
        }
    };
    let filter = SubscriptionFilter {
        profile,
        state: account_state,
        inactive_since: query
            .inactive_since
            .as_deref()
            .map(|t| parse_time("inactive_since", t))
            .transpose()?,
        active_since: query
            .active_since
            .as_deref()
            .map(|t| parse_time("active_since", t))
            .transpose()?,
    };
    let after = paging::decode::<SubscriptionKey>(query.cursor.as_deref())?;
    let rows = state
        .app
        .storage
        .subscriptions_page(tenant, &filter, after.as_ref(), limit + 1)
        .await?;
    let (rows, next_cursor) = paging::split(rows, limit, |row| row.key());
    Ok(Json(SubscriptionPage {
        items: rows.into_iter().map(SubscriptionView::from).collect(),
        next_cursor,
    }))
}
