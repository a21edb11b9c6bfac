//! What reconciliation counts with: the tenant's entitlements (read, added
//! and removed over the API), its exclusions and its identifier-to-model
//! mappings (read; they come from the configuration file).
//!
//! An entitlement added here is checked by the same `entitlements::Draft`
//! as `seatwarden entitlements add`, records that it came from the API, and
//! is left alone by `seatwarden apply`; one from the file cannot be changed
//! or removed here (409, change the file).

use crate::ApiState;
use crate::auth::{Authed, tenant_of};
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ApiError, ApiResult};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use seatwarden_domain::access::Scope;
use seatwarden_domain::entitlements::{Draft, Entitlement};
use seatwarden_domain::rules::Exclusion;
use seatwarden_store::Source;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An entitlement: rights to a software model bought for a term.
#[derive(Serialize, ToSchema)]
pub struct EntitlementView {
    /// Its name, unique in the tenant (e.g. a contract number).
    pub name: String,
    /// The software model's publisher.
    pub publisher: String,
    /// The product.
    pub product: String,
    /// The edition.
    pub edition: String,
    /// How many rights were bought.
    pub quantity: u32,
    /// The cost of one right per period, a decimal string.
    pub unit_cost: String,
    /// ISO 4217 code of the cost.
    pub currency: String,
    /// `month` or `year`.
    pub period: String,
    /// The term's first day.
    #[schema(format = Date)]
    pub start: String,
    /// The term's last day.
    #[schema(format = Date)]
    pub end: String,
    /// The renewal date, if any.
    #[schema(format = Date)]
    pub renewal: Option<String>,
    /// `config` (the configuration file; change it there), `cli` or `api`.
    pub source: String,
}

impl EntitlementView {
    fn new(e: Entitlement, source: Source) -> EntitlementView {
        EntitlementView {
            name: e.name,
            publisher: e.model.publisher,
            product: e.model.product,
            edition: e.model.edition,
            quantity: e.quantity,
            unit_cost: e.unit_cost.amount.to_string(),
            currency: e.unit_cost.currency,
            period: e.period.as_str().to_string(),
            start: e.start.to_string(),
            end: e.end.to_string(),
            renewal: e.renewal.map(|d| d.to_string()),
            source: source.as_str().to_string(),
        }
    }
}

/// The tenant's entitlements, by name.
#[utoipa::path(get, path = "/api/v1/entitlements", tag = "catalog",
    responses((status = 200, body = Vec<EntitlementView>)),
    security(("token" = [])))]
pub async fn entitlements(
    State(state): State<ApiState>,
    Authed(caller): Authed,
) -> ApiResult<Json<Vec<EntitlementView>>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    let stored = state.app.storage.entitlements_with_source(tenant).await?;
    Ok(Json(
        stored
            .into_iter()
            .map(|(e, source)| EntitlementView::new(e, source))
            .collect(),
    ))
}

/// A new entitlement (or a replacement for one added over the API or the
/// command line under the same name).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "PO-2026-118", "publisher": "SmartRecruiters",
    "product": "SmartRecruiters", "edition": "Recruiter", "quantity": 10,
    "unit_cost": "40.00", "currency": "EUR", "period": "month",
    "start": "2026-01-01", "end": "2026-12-31"}))]
pub struct NewEntitlement {
    /// A name unique in the tenant, e.g. the contract or order number.
    pub name: String,
    /// The software model's publisher, as the compliance report names it.
    pub publisher: String,
    /// The product.
    pub product: String,
    /// The edition.
    pub edition: String,
    /// How many rights were bought.
    pub quantity: u32,
    /// The cost of one right per period, as a decimal string (`"12.50"`).
    pub unit_cost: String,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    /// `month` or `year` (default `year`).
    pub period: Option<String>,
    /// The term's first day, `YYYY-MM-DD`.
    pub start: String,
    /// The term's last day, `YYYY-MM-DD`.
    pub end: String,
    /// The renewal date, `YYYY-MM-DD`.
    pub renewal: Option<String>,
}

/// Adds (or replaces) an entitlement; audited with the token.
#[utoipa::path(post, path = "/api/v1/entitlements", tag = "catalog",
    request_body = NewEntitlement,
    responses((status = 201, body = EntitlementView),
        (status = 200, body = EntitlementView, description = "The same entitlement was already there; nothing changed"),
        (status = 400, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem, description = "The name belongs to an entitlement from the configuration file")),
    security(("token" = [])))]
pub async fn add_entitlement(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiJson(body): ApiJson<NewEntitlement>,
) -> ApiResult<(StatusCode, Json<EntitlementView>)> {
    let (tenant, _) = tenant_of(&caller, Scope::Admin)?;
    let draft = Draft {
        name: body.name,
        publisher: body.publisher,
        product: body.product,
        edition: body.edition,
        quantity: body.quantity,
        unit_cost: body.unit_cost,
        currency: body.currency,
        period: body.period,
        start: body.start,
        end: body.end,
        renewal: body.renewal,
    };
    let entitlement = draft
        .check()
        .map_err(|p| ApiError::field(p.field, format!("{} ({})", p.problem, p.fix)))?;
    for (field, value) in [
        ("name", &entitlement.name),
        ("publisher", &entitlement.model.publisher),
        ("product", &entitlement.model.product),
        ("edition", &entitlement.model.edition),
    ] {
        if value.len() > 200
            || value
                .chars()
                .any(|c| c.is_control() || seatwarden_domain::text::rewrites_display(c))
        {
            return Err(ApiError::field(
                field,
                "at most 200 bytes of plain text (no control or invisible characters)",
            ));
        }
    }
    let changed = state
        .app
        .storage
        .add_entitlement(
            tenant,
            &entitlement,
            Source::Api,
            &caller.actor(),
            state.app.now(),
        )
        .await?;
    // Answer with what is stored (an unchanged one keeps its old source).
    let stored = state
        .app
        .storage
        .entitlements_with_source(tenant)
        .await?
        .into_iter()
        .find(|(e, _)| e.name == entitlement.name)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "entitlement {:?} vanished after it was stored",
                entitlement.name
            )
        })?;
    let status = if changed.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(EntitlementView::new(stored.0, stored.1))))
}

/// Removes an entitlement added over the API or the command line; audited.
#[utoipa::path(delete, path = "/api/v1/entitlements/{name}", tag = "catalog",
    params(("name" = String, Path, description = "The entitlement's name")),
    responses((status = 204, description = "Removed"),
        (status = 404, body = crate::problem::Problem, description = "No entitlement of that name in this tenant"),
        (status = 409, body = crate::problem::Problem, description = "It comes from the configuration file; remove it there")),
    security(("token" = [])))]
pub async fn remove_entitlement(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let (tenant, _) = tenant_of(&caller, Scope::Admin)?;
    state
        .app
        .storage
        .remove_entitlement(tenant, &name, &caller.actor(), state.app.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An exclusion: accounts spared from reclamation.
#[derive(Serialize, ToSchema)]
pub struct ExclusionView {
    /// `user` (one person in every profile) or `identifier` (every account
    /// holding a subscription identifier, in one connector's profiles).
    pub kind: String,
    /// For `identifier`: the connector type.
    pub connector: Option<String>,
    /// The principal (`user`) or the identifier.
    pub subject: String,
    /// Whether it is in force (ones removed from the file stay, switched off).
    pub active: bool,
    /// Why.
    pub reason: String,
}

/// The tenant's exclusions, switched-off ones included.
#[utoipa::path(get, path = "/api/v1/exclusions", tag = "catalog",
    responses((status = 200, body = Vec<ExclusionView>)),
    security(("token" = [])))]
pub async fn exclusions(
    State(state): State<ApiState>,
    Authed(caller): Authed,
) -> ApiResult<Json<Vec<ExclusionView>>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    let stored = state.app.storage.exclusions(tenant).await?;
    Ok(Json(
        stored
            .into_iter()
            .map(|e| match e {
                Exclusion::User {
                    principal,
                    active,
                    reason,
                } => ExclusionView {
                    kind: "user".into(),
                    connector: None,
                    subject: principal,
                    active,
                    reason,
                },
                Exclusion::Identifier {
                    connector,
                    identifier,
                    active,
                    reason,
                } => ExclusionView {
                    kind: "identifier".into(),
                    connector: Some(connector),
                    subject: identifier,
                    active,
                    reason,
                },
            })
            .collect(),
    ))
}

/// A subscription identifier and the software model it stands for.
#[derive(Serialize, ToSchema)]
pub struct ModelView {
    /// The connector type reporting the identifier.
    pub connector: String,
    /// The identifier as the connector reports it.
    pub identifier: String,
    /// The publisher.
    pub publisher: String,
    /// The product.
    pub product: String,
    /// The edition.
    pub edition: String,
    /// How rights are counted, e.g. `per-user`.
    pub metric: String,
    /// `config` (a `[[models]]` mapping, which wins) or `connector` (what
    /// the connector declares).
    pub source: String,
}

/// The tenant's software models: the configuration's mappings first, then
/// what its connectors declare.
#[utoipa::path(get, path = "/api/v1/models", tag = "catalog",
    responses((status = 200, body = Vec<ModelView>)),
    security(("token" = [])))]
pub async fn models(
    State(state): State<ApiState>,
    Authed(caller): Authed,
) -> ApiResult<Json<Vec<ModelView>>> {
    let (tenant, _) = tenant_of(&caller, Scope::Read)?;
    let storage = &state.app.storage;
    let mapped = storage.model_mappings(tenant).await?;
    let declared = storage.declared_models(tenant).await?;
    let view = |m: seatwarden_domain::software_models::Mapping, source: &str| ModelView {
        connector: m.connector,
        identifier: m.identifier,
        publisher: m.model.publisher,
        product: m.model.product,
        edition: m.model.edition,
        metric: m.model.metric.as_str().to_string(),
        source: source.to_string(),
    };
    let mut out: Vec<ModelView> = mapped.into_iter().map(|m| view(m, "config")).collect();
    out.extend(declared.into_iter().map(|m| view(m, "connector")));
    Ok(Json(out))
}
