//! The web console: server-rendered pages for a software asset manager,
//! over the same handlers as the API.
//!
//! Every page is HTML written with maud (escaped by construction) and
//! works without script; the pages carry a Content-Security-Policy that
//! allows no script at all, only this server's stylesheet and pictures,
//! and forms posting back here. A person signs in through the tenant's
//! OpenID Connect provider ([`sso`]) or with a one-time sign-in token
//! ([`sign_in`]); the session lives in the database and its cookie is
//! `Secure`, `HttpOnly` and `SameSite=Strict`. Every form carries the
//! session's CSRF token, and a POST that a browser says came from another
//! site is refused before its handler runs.
//!
//! A console page acts as a [`Caller`] whose tenant and scope are the
//! session's and calls the API's own handlers, so the console cannot see
//! or do anything the same person could not through the API, and every
//! change it makes is audited with the person's name.

mod candidates;
mod layout;
mod overview;
mod profile;
mod reports;
mod sign_in;
mod sso;

use crate::ApiState;
use crate::problem::ApiError;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use seatwarden_app::console_sessions;
use seatwarden_app::tokens::{Caller, Via};
use seatwarden_domain::access::Scope;
use seatwarden_store::Session;

/// The session cookie's name; the `__Host-` prefix makes browsers insist on
/// `Secure`, `Path=/` and no `Domain`, so no other site can set it.
pub const COOKIE: &str = "__Host-seatwarden";

/// What every console answer may load: its own stylesheet and pictures.
/// No script, no frames, no form posting elsewhere.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes, under `/console`.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/console", get(overview::page))
        .route("/console/", get(|| async { Redirect::to("/console") }))
        .route("/console/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/console/sign-out", post(sign_in::sign_out))
        .route("/console/sso", get(sso::organisation))
        .route("/console/sso/callback", get(sso::callback))
        .route("/console/sso/{tenant}/start", get(sso::start))
        .route("/console/static/console.css", get(layout::stylesheet))
        .route("/console/profiles/{name}", get(profile::page))
        .route("/console/profiles/{name}/step", post(profile::step))
        .route("/console/profiles/{name}/run", post(profile::run))
        .route(
            "/console/profiles/{name}/reclaim",
            post(candidates::reclaim),
        )
        .route("/console/candidates", get(candidates::queue))
        .route(
            "/console/candidates/{id}/decision",
            post(candidates::decide),
        )
        .route("/console/candidates/{id}/undo", post(candidates::undo))
        .route("/console/reports", get(reports::page))
        .route("/console/reports/reconcile", post(reports::reconcile))
        .route("/console/reports/activity.svg", get(reports::activity_svg))
        .route("/console/audit", get(reports::audit))
        .layer(axum::middleware::map_response(harden))
}

/// Headers every console answer carries.
async fn harden(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Only the origin, never the path and query (the sign-in link's token
    // must not travel as a Referer); not `no-referrer`, under which
    // browsers send `Origin: null` with a form's POST.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin"),
    );
    response
}

/// A person signed in to the console.
pub struct Signed {
    /// The session as the API's handlers see it.
    pub caller: Caller,
    /// The session itself.
    pub session: Session,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
}

impl Signed {
    /// The tenant's name.
    pub fn tenant(&self) -> &str {
        &self.session.tenant.1
    }

    /// Whether the session's scope allows `needed`.
    pub fn may(&self, needed: Scope) -> bool {
        self.session.scope.allows(needed)
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_form(&self, presented: &str) -> Result<(), ConsoleError> {
        if console_sessions::csrf_matches_token(&self.csrf, presented) {
            Ok(())
        } else {
            Err(ConsoleError::Api(ApiError::Forbidden(
                "this form is stale or did not come from this console; reload the page and try again"
                    .into(),
            )))
        }
    }
}

/// The session cookie's value in a request, if any.
pub(crate) fn cookie_value(parts: &Parts) -> Option<String> {
    named_cookie(&parts.headers, COOKIE)
}

/// The value of cookie `name` in a request's headers, if any.
fn named_cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

impl FromRequestParts<ApiState> for Signed {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ConsoleError> {
        if parts.method == Method::POST && cross_site(parts) {
            return Err(ConsoleError::Api(ApiError::Forbidden(
                "the browser says this form was sent from another site; it was refused".into(),
            )));
        }
        let Some(cookie) = cookie_value(parts) else {
            return Err(ConsoleError::SignIn);
        };
        let Some(session) = console_sessions::session(&state.app, &cookie).await? else {
            return Err(ConsoleError::SignIn);
        };
        Ok(Signed {
            caller: Caller {
                via: Via::Console {
                    session: session.id,
                    person: session.person.clone(),
                },
                scope: session.scope,
                tenant: Some(session.tenant.clone()),
            },
            csrf: console_sessions::csrf_token(&cookie),
            session,
        })
    }
}

/// Whether the browser marks the request as sent from another site. A
/// browser's own `Sec-Fetch-Site` decides when it is there (a proxy that
/// rewrites `Host` does not change it); without it, an `Origin` that names
/// another host than `Host` does.
fn cross_site(parts: &Parts) -> bool {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return site != "same-origin" && site != "none";
    }
    match (header("origin"), header("host")) {
        (Some(origin), Some(host)) => {
            let origin_host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .unwrap_or(origin);
            origin_host != host
        }
        (Some(_), None) => true,
        _ => false,
    }
}

/// What went wrong on a console page.
pub enum ConsoleError {
    /// No live session: off to the sign-in page.
    SignIn,
    /// Anything the API's handlers report, shown as a page.
    Api(ApiError),
    /// A page of its own with this status.
    Page(StatusCode, maud::Markup),
}

impl<E: Into<ApiError>> From<E> for ConsoleError {
    fn from(err: E) -> ConsoleError {
        ConsoleError::Api(err.into())
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::SignIn => Redirect::to("/console/sign-in").into_response(),
            ConsoleError::Page(status, page) => (status, page).into_response(),
            ConsoleError::Api(err) => {
                if let ApiError::Internal(cause) = &err {
                    tracing::error!("console request failed: {cause:#}");
                }
                let problem = err.problem();
                let status = StatusCode::from_u16(problem.status)
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, layout::error_page(&problem.title, &problem.detail)).into_response()
            }
        }
    }
}

/// What a console handler returns.
pub type ConsoleResult<T> = Result<T, ConsoleError>;
