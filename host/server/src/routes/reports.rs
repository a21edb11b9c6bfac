//! Reports over the tenant's stored data, the same figures the command
//! line's `seatwarden report ...` prints: the compliance position and
//! savings of reconciliation runs (and their history), unrecognized
//! identifiers, the activity histogram (JSON and SVG) and spend by an
//! attribute.
//!
//! Reading a report never changes anything: the compliance and savings
//! figures are those of the newest kept run, and a new run is made only by
//! `POST /reports/reconcile` (operate scope), as `seatwarden reconcile`
//! does.

use crate::ApiState;
use crate::auth::{Authed, tenant_of};
use crate::extract::ApiQuery;
use crate::problem::{ApiError, ApiResult};
use crate::views::time;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use seatwarden_app::reconciliation::{self, Run};
use seatwarden_app::reports::{self, activity};
use seatwarden_domain::access::Scope;
use seatwarden_domain::entitlements::Money;
use seatwarden_domain::reconciliation::Totals;
use seatwarden_store::Trigger;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// An amount of money, exact.
#[derive(Serialize, ToSchema)]
pub struct MoneyView {
    /// A decimal number as a string, e.g. `"1200.00"`.
    pub amount: String,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
}

impl From<&Money> for MoneyView {
    fn from(m: &Money) -> MoneyView {
        MoneyView {
            amount: m.amount.to_string(),
            currency: m.currency.clone(),
        }
    }
}

/// A run's priced figures in one currency.
#[derive(Serialize, ToSchema)]
pub struct TotalsView {
    /// ISO 4217 code of every amount here.
    pub currency: String,
    /// What the rights in use cost per year.
    pub annual_cost: String,
    /// What becoming compliant would cost.
    pub true_up_cost: String,
    /// Paid for and not used.
    pub over_licensed: String,
    /// What the open removal candidates' rights cost per year.
    pub potential_savings: String,
    /// What the rights reclaimed and not given back would cost per year.
    pub actual_savings: String,
}

impl From<&Totals> for TotalsView {
    fn from(t: &Totals) -> TotalsView {
        TotalsView {
            currency: t.currency.clone(),
            annual_cost: t.annual_cost.to_string(),
            true_up_cost: t.true_up_cost.to_string(),
            over_licensed: t.over_licensed.to_string(),
            potential_savings: t.potential_savings.to_string(),
            actual_savings: t.actual_savings.to_string(),
        }
    }
}

/// One model's position: owned against used, and what the difference costs.
#[derive(Serialize, ToSchema)]
pub struct ModelPositionView {
    /// The publisher, e.g. `Smartsheet`.
    pub publisher: String,
    /// The product.
    pub product: String,
    /// The edition, role or seat type.
    pub edition: String,
    /// `compliant`, `over-licensed`, `under-licensed` or `no-entitlement`.
    pub status: String,
    /// Rights in the entitlements in force.
    pub owned: u64,
    /// Active subscriptions not spared by an exclusion.
    pub used: u64,
    /// Active subscriptions spared by an exclusion.
    pub excluded: u64,
    /// Owned and not used.
    pub available: u64,
    /// Used beyond what is owned.
    pub shortfall: u64,
    /// Used subscriptions with an open removal candidate.
    pub open_candidates: u64,
    /// The yearly price of one right; null without an entitlement in force.
    pub unit_price: Option<MoneyView>,
    /// The cost to become compliant.
    pub true_up_cost: Option<MoneyView>,
    /// Paid for and not used.
    pub over_licensed: Option<MoneyView>,
    /// The open candidates' rights at the unit price.
    pub potential_savings: Option<MoneyView>,
    /// The used rights at the unit price.
    pub annual_cost: Option<MoneyView>,
}

/// Rights of one model reclaimed in one month.
#[derive(Serialize, ToSchema)]
pub struct MonthlySavingsView {
    /// `YYYY-MM`, in the scheduler's time zone.
    pub month: String,
    /// The publisher.
    pub publisher: String,
    /// The product.
    pub product: String,
    /// The edition.
    pub edition: String,
    /// Rights deactivated in the month and not reactivated since.
    pub reclaimed: u64,
    /// What they would cost a year at today's unit price.
    pub annual_savings: Option<MoneyView>,
}

/// A kept reconciliation run: the tenant's licence position on one day.
#[derive(Serialize, ToSchema)]
pub struct RunView {
    /// The run's id.
    pub id: i64,
    /// `schedule` or `manual`.
    pub trigger: String,
    /// When it finished.
    #[schema(format = DateTime)]
    pub finished_at: String,
    /// The day the figures are for (`YYYY-MM-DD`, scheduler's time zone).
    #[schema(format = Date)]
    pub as_of: String,
    /// Rights owned across every model.
    pub owned: u64,
    /// Rights used across every model.
    pub used: u64,
    /// Priced totals, one per currency.
    pub totals: Vec<TotalsView>,
    /// Active subscriptions left out because no model covers their identifier.
    pub unrecognized_subscriptions: u64,
    /// Each model's position (empty in a history listing).
    pub models: Vec<ModelPositionView>,
    /// Reclaimed rights by month and model (empty in a history listing).
    pub savings: Vec<MonthlySavingsView>,
}

impl RunView {
    /// The run with its detail, or only its totals when `detail` is false.
    fn new(run: &Run, detail: bool) -> RunView {
        let p = &run.position;
        let money = |m: &Option<Money>| m.as_ref().map(MoneyView::from);
        RunView {
            id: run.id,
            trigger: run.trigger.clone(),
            finished_at: time(run.finished_at),
            as_of: p.as_of.to_string(),
            owned: p.models.iter().map(|m| m.owned).sum(),
            used: p.models.iter().map(|m| m.used).sum(),
            totals: p.totals.iter().map(TotalsView::from).collect(),
            unrecognized_subscriptions: p.unrecognized_subscriptions,
            models: if detail {
                p.models
                    .iter()
                    .map(|m| ModelPositionView {
                        publisher: m.model.publisher.clone(),
                        product: m.model.product.clone(),
                        edition: m.model.edition.clone(),
                        status: m.status.as_str().to_string(),
                        owned: m.owned,
                        used: m.used,
                        excluded: m.excluded,
                        available: m.available,
                        shortfall: m.shortfall,
                        open_candidates: m.open_candidates,
                        unit_price: money(&m.unit_price),
                        true_up_cost: money(&m.true_up_cost),
                        over_licensed: money(&m.over_licensed),
                        potential_savings: money(&m.potential_savings),
                        annual_cost: money(&m.annual_cost),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            savings: if detail {
                p.savings
                    .iter()
                    .map(|s| MonthlySavingsView {
                        month: s.month.clone(),
                        publisher: s.model.publisher.clone(),
                        product: s.model.product.clone(),
                        edition: s.model.edition.clone(),
                        reclaimed: s.reclaimed,
                        annual_savings: money(&s.annual_savings),
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// The newest kept reconciliation run: compliance per model, savings per
/// month and the totals.
#[utoipa::path(get, path = "/api/v1/reports/compliance", tag = "reports",
    responses((status = 200, body = RunView),
        (status = 404, body = crate::problem::Problem, description = "No reconciliation run yet; POST /api/v1/reports/reconcile makes one")),
    security(("token" = [])))]
pub async fn compliance(
    State(state): State<ApiState>,
    Authed(caller): Authed,
) -> ApiResult<Json<RunView>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    let runs = state.app.storage.reconciliation_runs(tenant, 1).await?;
    let stored = runs.first().ok_or_else(|| {
        ApiError::NotFound(
            "this tenant has no reconciliation run yet; POST /api/v1/reports/reconcile makes one"
                .into(),
        )
    })?;
    Ok(Json(RunView::new(&Run::read(stored)?, true)))
}

/// Reconciles the tenant now and keeps the run, as `seatwarden reconcile`.
#[utoipa::path(post, path = "/api/v1/reports/reconcile", tag = "reports",
    responses((status = 200, body = RunView)),
    security(("token" = [])))]
pub async fn reconcile(
    State(state): State<ApiState>,
    Authed(caller): Authed,
) -> ApiResult<Json<RunView>> {
    let (tenant, _) = tenant_of(&caller, Scope::Operate)?;
    let run = reconciliation::run(&state.app, tenant, Trigger::Manual).await?;
    Ok(Json(RunView::new(&run, true)))
}

/// How many past runs the history shows.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// 1 to 100 (default 20).
    pub limit: Option<u32>,
}

/// The totals of past reconciliation runs, newest first: the savings trend.
#[utoipa::path(get, path = "/api/v1/reports/history", tag = "reports",
    params(HistoryQuery),
    responses((status = 200, body = Vec<RunView>), (status = 400, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn history(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<Vec<RunView>>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::field("limit", "must be from 1 to 100"));
    }
    let runs = state
        .app
        .storage
        .reconciliation_runs(tenant, i64::from(limit))
        .await?;
    let views = runs
        .iter()
        .map(|stored| Run::read(stored).map(|run| RunView::new(&run, false)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Json(views))
}

/// An identifier no software model covers.
#[derive(Serialize, ToSchema)]
pub struct UnrecognizedView {
    /// The connector whose subscriptions carry it.
    pub connector: String,
    /// The licence or seat identifier as the connector reports it.
    pub identifier: String,
    /// The profiles with active subscriptions carrying it.
    pub profiles: Vec<String>,
    /// How many active subscriptions carry it.
    pub subscriptions: u64,
}

/// Subscription identifiers with no software model, most used first; map
/// them with `[[models]]` in the configuration.
#[utoipa::path(get, path = "/api/v1/reports/unrecognized", tag = "reports",
    responses((status = 200, body = Vec<UnrecognizedView>)),
    security(("token" = [])))]
pub async fn unrecognized(
    State(state): State<ApiState>,
    Authed(caller): Authed,
) -> ApiResult<Json<Vec<UnrecognizedView>>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    let rows = reports::unrecognized(&state.app.storage, tenant).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| UnrecognizedView {
                connector: r.connector,
                identifier: r.identifier,
                profiles: r.profiles,
                subscriptions: r.subscriptions as u64,
            })
            .collect(),
    ))
}

/// One profile's active accounts by days since last activity.
#[derive(Serialize, ToSchema)]
pub struct ActivityView {
    /// The profile.
    pub profile: String,
    /// Accounts per bucket, in the order `0-30`, `30-60`, `60-90`,
    /// `90-120`, `120+`, `never` (days since last activity).
    pub buckets: Vec<BucketView>,
}

/// One bucket of the histogram.
#[derive(Serialize, ToSchema)]
pub struct BucketView {
    /// `0-30`, `30-60`, `60-90`, `90-120`, `120+` or `never`.
    pub days: String,
    /// Active accounts in it.
    pub accounts: u64,
}

/// Active accounts per profile by days since last activity: what a
/// reclamation threshold would catch.
#[utoipa::path(get, path = "/api/v1/reports/activity", tag = "reports",
    responses((status = 200, body = Vec<ActivityView>)),
    security(("token" = [])))]
pub async fn activity_json(
    State(state): State<ApiState>,
    Authed(caller): Authed,
) -> ApiResult<Json<Vec<ActivityView>>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    let rows = activity::activity(&state.app.storage, tenant, state.app.now()).await?;
    Ok(Json(
        rows.into_iter()
            .map(|d| ActivityView {
                profile: d.profile,
                buckets: activity::BUCKETS
                    .iter()
                    .zip(d.accounts)
                    .map(|(days, accounts)| BucketView {
                        days: (*days).to_string(),
                        accounts,
                    })
                    .collect(),
            })
            .collect(),
    ))
}

/// The activity histogram as an SVG picture (the one the console shows).
#[utoipa::path(get, path = "/api/v1/reports/activity.svg", tag = "reports",
    responses((status = 200, content_type = "image/svg+xml", body = String)),
    security(("token" = [])))]
pub async fn activity_svg(
    State(state): State<ApiState>,
    Authed(caller): Authed,
) -> ApiResult<Response> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    let svg = activity_picture(&state, tenant).await?;
    Ok(svg_response(svg))
}

/// The tenant's activity histogram as SVG text.
pub(crate) async fn activity_picture(
    state: &ApiState,
    tenant: seatwarden_store::TenantId,
) -> ApiResult<Vec<u8>> {
    let rows = activity::activity(&state.app.storage, tenant, state.app.now()).await?;
    let mut svg = Vec::new();
    activity::write_activity_svg(&rows, &mut svg)?;
    Ok(svg)
}

/// An SVG answer that cannot run script even when opened on its own.
pub(crate) fn svg_response(svg: Vec<u8>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
            ),
        ],
        svg,
    )
        .into_response()
}

/// The attribute spend is grouped by.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SpendQuery {
    /// A connector attribute, e.g. `department` (matched without regard to case).
    pub by: String,
}

/// The yearly cost of the rights in use for one value of the attribute.
#[derive(Serialize, ToSchema)]
pub struct SpendView {
    /// The attribute's value; null for accounts without it.
    pub value: Option<String>,
    /// Active, non-excluded accounts with a modelled identifier.
    pub accounts: u64,
    /// Their rights' yearly cost, one amount per currency.
    pub annual_cost: Vec<MoneyView>,
    /// Their rights of models with no entitlement in force (not in the cost).
    pub unpriced_rights: u64,
}

/// The yearly cost of the rights in use grouped by a connector attribute,
/// most expensive first.
#[utoipa::path(get, path = "/api/v1/reports/spend", tag = "reports",
    params(SpendQuery),
    responses((status = 200, body = Vec<SpendView>), (status = 400, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn spend(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiQuery(query): ApiQuery<SpendQuery>,
) -> ApiResult<Json<Vec<SpendView>>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    let attribute = query.by.trim();
    if attribute.is_empty() || attribute.len() > 128 || attribute.chars().any(char::is_control) {
        return Err(ApiError::field(
            "by",
            "name an attribute, 1 to 128 printable characters",
        ));
    }
    let today = reconciliation::day(state.app.now(), &state.app.config.scheduler.time_zone)?;
    let rows = reconciliation::spend_by(&state.app.storage, tenant, today, attribute).await?;
    Ok(Json(
        rows.into_iter()
            .map(|s| SpendView {
                value: s.value,
                accounts: s.accounts,
                annual_cost: s.annual_cost.iter().map(MoneyView::from).collect(),
                unpriced_rights: s.unpriced_rights,
            })
            .collect(),
    ))
}
