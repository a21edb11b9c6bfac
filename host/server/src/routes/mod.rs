//! The route table: every path of `/api/v1`, its handler, and the OpenAPI
//! document generated from the same handlers.
//!
//! A route is added here and in [`ApiDoc`] together; the suite checks the
//! two agree (every documented path answers, every path with a parameter
//! answers 404 to another tenant's token), so a route cannot be left out of
//! the published contract or of the isolation test.

pub mod audit;
pub mod candidates;
pub mod catalog;
pub mod connections;
pub mod connectors;
pub mod jobs;
pub mod profiles;
pub mod reports;
pub mod subscriptions;
pub mod tenants;
pub mod tokens;

use crate::ApiState;
use axum::Router;
use axum::routing::{delete, get, post};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};

/// The routes under `/api/v1`, with their state still to be given.
pub fn table() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/tenants", get(tenants::list).post(tenants::create))
        .route(
            "/api/v1/tenants/{tenant}/tokens",
            get(tenants::tokens_of).post(tenants::issue_for),
        )
        .route("/api/v1/tokens", get(tokens::list).post(tokens::issue))
        .route("/api/v1/tokens/{id}", delete(tokens::revoke))
        .route("/api/v1/profiles", get(profiles::list))
        .route(
            "/api/v1/connectors",
            get(connectors::list).post(connectors::upload).layer(
                axum::extract::DefaultBodyLimit::max(
                    seatwarden_app::connections::MAX_COMPONENT_BYTES,
                ),
            ),
        )
        .route(
            "/api/v1/connectors/{digest}",
            get(connectors::get).delete(connectors::remove),
        )
        .route("/api/v1/connections", get(connections::list))
        .route(
            "/api/v1/connections/{name}",
            get(connections::get)
                .put(connections::put)
                .delete(connections::remove),
        )
        .route(
            "/api/v1/profiles/{name}",
            get(profiles::get)
                .put(profiles::put)
                .delete(profiles::remove),
        )
        .route("/api/v1/profiles/{name}/rule", get(profiles::rule))
        .route("/api/v1/profiles/{name}/validate", post(profiles::validate))
        .route("/api/v1/profiles/{name}/publish", post(profiles::publish))
        .route(
            "/api/v1/profiles/{name}/unpublish",
            post(profiles::unpublish),
        )
        .route("/api/v1/profiles/{name}/run", post(profiles::run))
        .route("/api/v1/profiles/{name}/reclaim", post(profiles::reclaim))
        .route("/api/v1/subscriptions", get(subscriptions::list))
        .route("/api/v1/candidates", get(candidates::list))
        .route("/api/v1/candidates/{id}", get(candidates::get))
        .route("/api/v1/candidates/{id}/decision", post(candidates::decide))
        .route("/api/v1/candidates/{id}/undo", post(candidates::undo))
        .route("/api/v1/jobs", get(jobs::list))
        .route("/api/v1/audit", get(audit::list))
        .route("/api/v1/audit/verify", get(audit::verify))
        .route(
            "/api/v1/entitlements",
            get(catalog::entitlements).post(catalog::add_entitlement),
        )
        .route(
            "/api/v1/entitlements/{name}",
            delete(catalog::remove_entitlement),
        )
        .route("/api/v1/exclusions", get(catalog::exclusions))
        .route("/api/v1/models", get(catalog::models))
        .route("/api/v1/reports/compliance", get(reports::compliance))
        .route("/api/v1/reports/reconcile", post(reports::reconcile))
        .route("/api/v1/reports/history", get(reports::history))
        .route("/api/v1/reports/unrecognized", get(reports::unrecognized))
        .route("/api/v1/reports/activity", get(reports::activity_json))
        .route("/api/v1/reports/activity.svg", get(reports::activity_svg))
        .route("/api/v1/reports/spend", get(reports::spend))
}

/// The published contract of `/api/v1`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Seatwarden API",
        description = "Tenant-scoped access to Seatwarden: profiles, subscriptions, removal candidates, jobs, entitlements, reports and the audit log. Authenticate with `Authorization: Bearer <token>`; errors are RFC 9457 problem documents; lists page with `cursor` and `limit`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(
        tenants::list, tenants::create, tenants::tokens_of, tenants::issue_for,
        tokens::list, tokens::issue, tokens::revoke,
        connectors::list, connectors::upload, connectors::get, connectors::remove,
        connections::list, connections::get, connections::put, connections::remove,
        profiles::list, profiles::get, profiles::put, profiles::remove, profiles::rule, profiles::validate, profiles::publish, profiles::unpublish, profiles::run, profiles::reclaim,
        subscriptions::list,
        candidates::list, candidates::get, candidates::decide, candidates::undo,
        jobs::list,
        audit::list, audit::verify,
        catalog::entitlements, catalog::add_entitlement, catalog::remove_entitlement,
        catalog::exclusions, catalog::models,
        reports::compliance, reports::reconcile, reports::history, reports::unrecognized,
        reports::activity_json, reports::activity_svg, reports::spend,
    ),
    components(schemas(crate::problem::Problem)),
    modifiers(&BearerToken, &ProblemResponses),
    tags(
        (name = "operator", description = "Tenants and their first tokens (operator tokens only)"),
        (name = "tokens", description = "A tenant's API tokens (admin)"),
        (name = "connections", description = "Connector components and connections (credentials are sealed at rest and never answered)"),
        (name = "profiles", description = "Integration profiles and their lifecycle"),
        (name = "subscriptions", description = "Accounts and their subscriptions as last downloaded"),
        (name = "candidates", description = "Removal candidates and decisions"),
        (name = "jobs", description = "Job runs"),
        (name = "audit", description = "The tenant's hash-chained audit log"),
        (name = "catalog", description = "Entitlements, exclusions and software models"),
        (name = "reports", description = "Compliance, savings, activity, spend and unrecognized identifiers"),
    )
)]
pub struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Every error answer is a problem document: this gives each operation's
/// 4xx and 5xx answers the `application/problem+json` media type (the
/// handlers name only their status and meaning) and adds the answers any
/// operation can give: 400 bad input, 401 no valid token, 403 not allowed,
/// 413 too large, 415 not JSON, 429 too many failed authentications, 500
/// and 503.
struct ProblemResponses;

impl ProblemResponses {
    const COMMON: [(&'static str, &'static str); 8] = [
        (
            "400",
            "The request's body, query or path does not fit; `field` names where",
        ),
        ("401", "No valid token was presented"),
        ("403", "The token's scope or kind does not allow this"),
        ("413", "The body is larger than the server accepts"),
        ("415", "The body is not sent as `application/json`"),
        (
            "429",
            "Too many failed authentications from this address; see Retry-After",
        ),
        ("500", "The server failed; its log has the details"),
        ("503", "The database is busy; retry"),
    ];

    fn problem(description: &str) -> RefOr<Response> {
        let mut response = Response::new(description);
        response.content.insert(
            crate::problem::PROBLEM_JSON.to_string(),
            Content::new(Some(Ref::from_schema_name("Problem"))),
        );
        RefOr::T(response)
    }
}

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                if operation.security.is_none() {
                    continue;
                }
                let responses = &mut operation.responses.responses;
                for (status, response) in responses.iter_mut() {
                    if status.starts_with('4') || status.starts_with('5') {
                        let description = match response {
                            RefOr::T(response) => response.description.clone(),
                            RefOr::Ref(_) => String::new(),
                        };
                        *response = Self::problem(&description);
                    }
                }
                for (status, description) in Self::COMMON {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| Self::problem(description));
                }
            }
        }
    }
}
