//! Integration profiles: read, make, change and delete them, move them
//! through their lifecycle (validate, publish, unpublish) and run their
//! jobs now. Profiles the configuration file defines are read-only here.
//!
//! Every route looks the profile up in the caller's tenant first, so a
//! name of another tenant's profile answers 404 before anything else
//! happens; then it calls the same lifecycle service the command line
//! does, with the token as the actor in the audit log.

use crate::ApiState;
use crate::auth::{Authed, tenant_of};
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ApiError, ApiResult};
use crate::views::{CandidateView, ProfileView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use seatwarden_app::connections::parse_rule;
use seatwarden_app::on_demand::{self, ReclaimResult};
use seatwarden_app::profiles::Profiles;
use seatwarden_app::tokens::Caller;
use seatwarden_domain::access::Scope;
use seatwarden_domain::cron::CronSchedule;
use seatwarden_domain::rules::ReclamationRule;
use seatwarden_store::{
    ActivityFrom, AuditNote, JobKind, ProfileRecord, ProfileSettings, Source, TenantId,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The tenant's profile `name`, or 404.
pub(crate) async fn find(
    state: &ApiState,
    tenant: TenantId,
    name: &str,
) -> ApiResult<ProfileRecord> {
    state
        .app
        .storage
        .profile(tenant, name)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("this tenant has no profile {name:?}")))
}

fn lifecycle<'a>(state: &'a ApiState, caller: &Caller, tenant: (TenantId, String)) -> Profiles<'a> {
    Profiles {
        app: &state.app,
        tenant: tenant.0,
        tenant_name: tenant.1,
        actor: caller.actor(),
    }
}

/// A step of a profile's lifecycle an admin takes over the API.
enum Step {
    Validate,
    Publish,
    Unpublish,
}

/// Takes `step` on the tenant's profile `name` through the lifecycle
/// service and answers with the profile as it then stands.
async fn lifecycle_step(
    state: &ApiState,
    caller: &Caller,
    name: &str,
    step: Step,
) -> ApiResult<Json<ProfileView>> {
    let tenant = tenant_of(caller, Scope::Admin)?;
    find(state, tenant.0, name).await?;
    let profiles = lifecycle(state, caller, tenant.clone());
    match step {
        Step::Validate => {
            profiles.validate(name).await?;
        }
        Step::Publish => {
            profiles.publish(name).await?;
        }
        Step::Unpublish => profiles.unpublish(name).await?,
    }
    Ok(Json(find(state, tenant.0, name).await?.into()))
}

/// The tenant's profiles.
#[utoipa::path(get, path = "/api/v1/profiles", tag = "profiles",
    responses((status = 200, body = [ProfileView])),
    security(("token" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    Authed(caller): Authed,
) -> ApiResult<Json<Vec<ProfileView>>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    let profiles = state.app.storage.profiles(tenant).await?;
    Ok(Json(profiles.into_iter().map(ProfileView::from).collect()))
}

/// One profile.
#[utoipa::path(get, path = "/api/v1/profiles/{name}", tag = "profiles",
    params(("name" = String, Path, description = "The profile's name")),
    responses((status = 200, body = ProfileView), (status = 404, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<ProfileView>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    Ok(Json(find(&state, tenant, &name).await?.into()))
}

/// A profile's settings, as `PUT` takes them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"connection": "acme-smartsheet", "reclaim": false, "activity_from_days": 60, "rule": {"threshold_days": 90}}))]
pub struct ProfileRequest {
    /// One of the tenant's connections.
    pub connection: String,
    /// Whether it downloads activity (default true).
    pub download_activity: Option<bool>,
    /// Whether it deactivates reclaimed accounts (default false: report only).
    #[serde(default)]
    pub reclaim: bool,
    /// Analyze activity from this day (YYYY-MM-DD, at most 60 days back).
    #[schema(format = Date)]
    pub activity_from: Option<String>,
    /// Or from this many days back, 1 to 60 (default 60).
    pub activity_from_days: Option<u32>,
    /// Cron expression for the subscriptions job (default: the scheduler's).
    pub subscriptions_schedule: Option<String>,
    /// Cron expression for the activity job (default: the scheduler's).
    pub activity_schedule: Option<String>,
    /// Which accounts become candidates; left out, a new profile runs the
    /// default rule and a changed one keeps its rule.
    pub rule: Option<RuleRequest>,
}

/// A reclamation rule, checked as the file's `[profiles.NAME.rule]` is;
/// fields left out take the defaults.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    /// Days without activity that make an account a candidate, 1 to 3650 (default 60).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold_days: Option<u32>,
    /// Only accounts whose attribute has one of these values (e.g. `{"department": ["sales"]}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<BTreeMap<String, Vec<String>>>,
    /// Administrators may become candidates too (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_admins: Option<bool>,
    /// Principals never reclaimed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protected: Option<Vec<String>>,
    /// Principals the built-in protection would spare that may be reclaimed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_protected: Option<Vec<String>>,
    /// Whether idle accounts become candidates at all (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_candidates: Option<bool>,
    /// Days of notice before reclaiming, 1 to 90 (default: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_days: Option<u32>,
    /// The largest share of active accounts one reclaim run may deactivate, 1 to 100 (default 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker_percent: Option<u32>,
    /// The most accounts one reclaim run may deactivate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker_max: Option<u32>,
}

impl RuleRequest {
    fn check(&self) -> ApiResult<ReclamationRule> {
        let value = serde_json::to_value(self).map_err(|e| ApiError::Internal(e.into()))?;
        parse_rule(value).map_err(|(field, problem)| ApiError::field(&field, problem))
    }
}

impl ProfileRequest {
    fn settings(self) -> ApiResult<ProfileSettings> {
        let activity_from = match (self.activity_from, self.activity_from_days) {
            (Some(_), Some(_)) => {
                return Err(ApiError::field(
                    "activity_from",
                    "both activity_from and activity_from_days are set: set one of them",
                ));
            }
            (Some(date), None) => ActivityFrom::Date(date.parse().map_err(|e| {
                ApiError::field(
                    "activity_from",
                    format!("{date:?} is not a date (YYYY-MM-DD): {e}"),
                )
            })?),
            (None, Some(days)) if (1..=60).contains(&days) => ActivityFrom::DaysBack(days),
            (None, Some(days)) => {
                return Err(ApiError::field(
                    "activity_from_days",
                    format!("{days} is outside 1..=60"),
                ));
            }
            (None, None) => ActivityFrom::DaysBack(60),
        };
        for (field, cron) in [
            ("subscriptions_schedule", &self.subscriptions_schedule),
            ("activity_schedule", &self.activity_schedule),
        ] {
            if let Some(cron) = cron {
                if cron.len() > 200 {
                    return Err(ApiError::field(field, "is longer than 200 bytes"));
                }
                CronSchedule::parse(cron).map_err(|e| ApiError::field(field, e))?;
            }
        }
        Ok(ProfileSettings {
            connection: self.connection,
            download_activity: self.download_activity.unwrap_or(true),
            reclaim: self.reclaim,
            activity_from,
            subscriptions_cron: self.subscriptions_schedule,
            activity_cron: self.activity_schedule,
        })
    }
}

/// The reclamation rule in force for a profile.
#[derive(Serialize, ToSchema)]
pub struct RuleView {
    /// Bumped on every change; each candidate records the version that made it.
    pub version: i64,
    /// Days without activity that make an account a candidate.
    pub threshold_days: u32,
    /// Only accounts whose attribute has one of these values.
    pub conditions: BTreeMap<String, Vec<String>>,
    /// Whether administrators may become candidates.
    pub include_admins: bool,
    /// Principals never reclaimed.
    pub protected: Vec<String>,
    /// Principals the built-in protection would spare that may be reclaimed.
    pub include_protected: Vec<String>,
    /// Whether idle accounts become candidates at all.
    pub create_candidates: bool,
    /// Days of notice before reclaiming, if any.
    pub notify_days: Option<u32>,
    /// The largest share of active accounts one reclaim run may deactivate.
    pub breaker_percent: u32,
    /// The most accounts one reclaim run may deactivate, if limited.
    pub breaker_max: Option<u32>,
}

impl From<ReclamationRule> for RuleView {
    fn from(r: ReclamationRule) -> RuleView {
        RuleView {
            version: r.version,
            threshold_days: r.threshold_days,
            conditions: r.conditions,
            include_admins: r.include_admins,
            protected: r.protected,
            include_protected: r.include_protected,
            create_candidates: r.create_candidates,
            notify_days: r.notify_days,
            breaker_percent: r.breaker_percent,
            breaker_max: r.breaker_max,
        }
    }
}

/// The reclamation rule in force for the profile (the defaults when none
/// was ever set).
#[utoipa::path(get, path = "/api/v1/profiles/{name}/rule", tag = "profiles",
    params(("name" = String, Path, description = "The profile's name")),
    responses((status = 200, body = RuleView), (status = 404, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn rule(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<RuleView>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    let record = find(&state, tenant, &name).await?;
    let rule = state
        .app
        .storage
        .current_rule(record.id)
        .await?
        .unwrap_or_default();
    Ok(Json(rule.into()))
}

/// A profile the configuration file defines belongs to the file: `seatwarden
/// apply` would undo any change made here.
fn not_in_file(state: &ApiState, tenant_name: &str, name: &str) -> ApiResult<()> {
    if state
        .app
        .config
        .profiles
        .get(name)
        .is_some_and(|p| p.tenant == tenant_name)
    {
        return Err(ApiError::Conflict(format!(
            "profile {name:?} is defined in the configuration file: change it there and run seatwarden apply"
        )));
    }
    Ok(())
}

/// Makes a draft profile (201) or changes one (200). A change to a
/// published profile's connection or activity download sends it back to
/// draft, as on the command line.
#[utoipa::path(put, path = "/api/v1/profiles/{name}", tag = "profiles",
    params(("name" = String, Path, description = "The profile's name")),
    request_body = ProfileRequest,
    responses((status = 201, body = ProfileView, description = "Made (a draft)"), (status = 200, body = ProfileView, description = "Changed"),
        (status = 409, body = crate::problem::Problem, description = "Defined in the configuration file")),
    security(("token" = [])))]
pub async fn put(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<ProfileRequest>,
) -> ApiResult<(StatusCode, Json<ProfileView>)> {
    let tenant = tenant_of(&caller, Scope::Admin)?;
    seatwarden_app::connections::check_name(&name).map_err(|p| {
        ApiError::field("name", format!("{p}: use lowercase letters, digits and -"))
    })?;
    not_in_file(&state, &tenant.1, &name)?;
    let rule = body.rule.as_ref().map(RuleRequest::check).transpose()?;
    let settings = body.settings()?;
    let connections = crate::routes::connectors::service(&state, &caller, Scope::Admin)?;
    if connections.get(&settings.connection).await?.is_none() {
        return Err(ApiError::field(
            "connection",
            format!(
                "this tenant has no connection {:?} (GET /api/v1/connections lists them)",
                settings.connection
            ),
        ));
    }
    let profiles = lifecycle(&state, &caller, tenant.clone());
    let status = if state.app.storage.profile(tenant.0, &name).await?.is_some() {
        profiles.update(&name, &settings).await?;
        StatusCode::OK
    } else {
        profiles.create(&name, &settings, Source::Api).await?;
        StatusCode::CREATED
    };
    if let Some(rule) = &rule {
        profiles.set_rule(&name, rule).await?;
    }
    Ok((status, Json(find(&state, tenant.0, &name).await?.into())))
}

/// Deletes a profile with its subscriptions, candidates and jobs (the
/// audit log keeps what happened).
#[utoipa::path(delete, path = "/api/v1/profiles/{name}", tag = "profiles",
    params(("name" = String, Path, description = "The profile's name")),
    responses((status = 204, description = "Deleted"), (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem, description = "Defined in the configuration file")),
    security(("token" = [])))]
pub async fn remove(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let tenant = tenant_of(&caller, Scope::Admin)?;
    find(&state, tenant.0, &name).await?;
    not_in_file(&state, &tenant.1, &name)?;
    lifecycle(&state, &caller, tenant)
        .delete(&name, true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks the profile's connection through its connector (read-only) and records the outcome.
#[utoipa::path(post, path = "/api/v1/profiles/{name}/validate", tag = "profiles",
    params(("name" = String, Path, description = "The profile's name")),
    responses((status = 200, body = ProfileView, description = "The profile with the new validation; a failed validation is recorded, not an error"),
        (status = 404, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn validate(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<ProfileView>> {
    lifecycle_step(&state, &caller, &name, Step::Validate).await
}

/// Publishes a validated profile: its jobs start running on schedule.
#[utoipa::path(post, path = "/api/v1/profiles/{name}/publish", tag = "profiles",
    params(("name" = String, Path, description = "The profile's name")),
    responses((status = 200, body = ProfileView), (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem, description = "Never validated, validation failed or stale, or already published")),
    security(("token" = [])))]
pub async fn publish(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<ProfileView>> {
    lifecycle_step(&state, &caller, &name, Step::Publish).await
}

/// Back to draft: its scheduled jobs are removed.
#[utoipa::path(post, path = "/api/v1/profiles/{name}/unpublish", tag = "profiles",
    params(("name" = String, Path, description = "The profile's name")),
    responses((status = 200, body = ProfileView), (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn unpublish(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<ProfileView>> {
    lifecycle_step(&state, &caller, &name, Step::Unpublish).await
}

/// Which job to run now.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "subscriptions"}))]
pub struct RunRequest {
    /// `subscriptions` or `activity`.
    pub kind: String,
}

/// A job made due.
#[derive(Serialize, ToSchema)]
pub struct RunAccepted {
    /// The profile.
    pub profile: String,
    /// The job made due.
    pub kind: String,
    /// What happens next.
    pub detail: String,
}

/// Makes one of a published profile's jobs due now; a scheduler on this
/// database starts it within a minute, and its result appears under jobs.
#[utoipa::path(post, path = "/api/v1/profiles/{name}/run", tag = "profiles",
    params(("name" = String, Path, description = "The profile's name")),
    request_body = RunRequest,
    responses((status = 202, body = RunAccepted), (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem, description = "The profile is a draft")),
    security(("token" = [])))]
pub async fn run(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<RunRequest>,
) -> ApiResult<(StatusCode, Json<RunAccepted>)> {
    let (tenant, _) = tenant_of(&caller, Scope::Operate)?;
    let record = find(&state, tenant, &name).await?;
    let Some(kind) = JobKind::parse_scheduled(&body.kind) else {
        return Err(ApiError::field(
            "kind",
            format!(
                "{:?} is not a scheduled job: subscriptions or activity",
                body.kind
            ),
        ));
    };
    let actor = caller.actor();
    let detail = format!("asked to run the {} job now", kind.as_str());
    let note = AuditNote {
        actor: &actor,
        action: "job.run-now",
        detail: &detail,
        at: state.app.now(),
    };
    if !state
        .app
        .storage
        .request_run(&record, kind.as_str(), &note)
        .await?
    {
        return Err(ApiError::Conflict(format!(
            "profile {name} has no scheduled {} job: publish it first (or it does not download activity)",
            kind.as_str()
        )));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(RunAccepted {
            profile: name,
            kind: kind.as_str().to_string(),
            detail: "due now; a running `seatwarden serve` starts it within a minute".into(),
        }),
    ))
}

/// A reclaim run to plan, and perhaps to run.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"apply": false}))]
pub struct ReclaimRequest {
    /// Deactivate for real; without it (or `false`), a dry run that
    /// changes nothing and says exactly who would be deactivated.
    #[serde(default)]
    pub apply: bool,
}

/// One deactivation that failed.
#[derive(Serialize, ToSchema)]
pub struct FailedDeactivation {
    /// The account's principal.
    pub principal: String,
    /// The connector's error; the candidate now needs attention.
    pub error: String,
}

/// What a reclaim run would do or did.
#[derive(Serialize, ToSchema)]
pub struct ReclaimView {
    /// Nothing was deactivated because none was asked for.
    pub dry_run: bool,
    /// The candidates the rule in force allows to deactivate now.
    pub deactivate: Vec<CandidateView>,
    /// Accounts of the profile active and still at the vendor: the circuit breaker's base.
    pub active_accounts: u64,
    /// The circuit breaker's limit for this run.
    pub limit: u64,
    /// Why nothing may be deactivated (the circuit breaker, a report-only
    /// profile, an empty download); recorded in the jobs and the audit log.
    pub refused: Option<String>,
    /// Principals deactivated at the vendor, in order.
    pub deactivated: Vec<String>,
    /// Deactivations that failed.
    pub failed: Vec<FailedDeactivation>,
}

/// Plans a reclaim of the profile's ready candidates under the rule in
/// force, with the circuit breaker's verdict; with `apply`, deactivates
/// them through the connector. A refused plan is recorded even on a dry run.
#[utoipa::path(post, path = "/api/v1/profiles/{name}/reclaim", tag = "profiles",
    params(("name" = String, Path, description = "The profile's name")),
    request_body = ReclaimRequest,
    responses((status = 200, body = ReclaimView), (status = 404, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn reclaim(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<ReclaimRequest>,
) -> ApiResult<Json<ReclaimView>> {
    let (tenant, tenant_name) = tenant_of(&caller, Scope::Operate)?;
    find(&state, tenant, &name).await?;
    let ctx = state.app.open_profile(tenant, &tenant_name, &name).await?;
    let reclaimed = on_demand::reclaim(&state.app, &ctx, &caller.actor(), body.apply).await?;
    let plan = reclaimed.plan;
    let mut view = ReclaimView {
        dry_run: matches!(reclaimed.result, ReclaimResult::DryRun),
        deactivate: plan
            .deactivate
            .into_iter()
            .map(|c| CandidateView::new(name.clone(), c))
            .collect(),
        active_accounts: plan.active_accounts as u64,
        limit: plan.limit as u64,
        refused: plan.refused,
        deactivated: Vec::new(),
        failed: Vec::new(),
    };
    if let ReclaimResult::Done(outcome) = reclaimed.result {
        view.deactivated = outcome.deactivated;
        view.failed = outcome
            .failed
            .into_iter()
            .map(|(principal, error)| FailedDeactivation { principal, error })
            .collect();
    }
    Ok(Json(view))
}
