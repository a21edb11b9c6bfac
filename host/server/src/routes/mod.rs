//! The route table: every path of `/api/v1`, its handler, and the OpenAPI
//! document generated from the same handlers.
//!
//! A route is added here and in [`ApiDoc`] together; the suite checks the
//! two agree (every documented path answers, every path with a parameter
//! answers 404 to another tenant's token), so a route cannot be left out of
//! the published contract or of the isolation test.

pub mod audit;
pub mod candidates;
pub mod jobs;
pub mod profiles;
pub mod subscriptions;
pub mod tenants;
pub mod tokens;

use crate::ApiState;
use axum::Router;
use axum::routing::{delete, get, post};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
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
        .route("/api/v1/profiles/{name}", get(profiles::get))
        .route("/api/v1/profiles/{name}/validate", post(profiles::validate))
        .route("/api/v1/profiles/{name}/publish", post(profiles::publish))
        .route(
            "/api/v1/profiles/{name}/unpublish",
            post(profiles::unpublish),
        )
        .route("/api/v1/profiles/{name}/run", post(profiles::run))
        .route("/api/v1/subscriptions", get(subscriptions::list))
        .route("/api/v1/candidates", get(candidates::list))
        .route("/api/v1/candidates/{id}", get(candidates::get))
        .route("/api/v1/candidates/{id}/decision", post(candidates::decide))
        .route("/api/v1/jobs", get(jobs::list))
        .route("/api/v1/audit", get(audit::list))
        .route("/api/v1/audit/verify", get(audit::verify))
}

/// The published contract of `/api/v1`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Seatwarden API",
        description = "Tenant-scoped access to Seatwarden: profiles, subscriptions, removal candidates, jobs and the audit log. Authenticate with `Authorization: Bearer <token>`; errors are RFC 9457 problem documents; lists page with `cursor` and `limit`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(
        tenants::list, tenants::create, tenants::tokens_of, tenants::issue_for,
        tokens::list, tokens::issue, tokens::revoke,
        profiles::list, profiles::get, profiles::validate, profiles::publish, profiles::unpublish, profiles::run,
        subscriptions::list,
        candidates::list, candidates::get, candidates::decide,
        jobs::list,
        audit::list, audit::verify,
    ),
    modifiers(&BearerToken),
    tags(
        (name = "operator", description = "Tenants and their first tokens (operator tokens only)"),
        (name = "tokens", description = "A tenant's API tokens (admin)"),
        (name = "profiles", description = "Integration profiles and their lifecycle"),
        (name = "subscriptions", description = "Accounts and their subscriptions as last downloaded"),
        (name = "candidates", description = "Removal candidates and decisions"),
        (name = "jobs", description = "Job runs"),
        (name = "audit", description = "The tenant's hash-chained audit log"),
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
