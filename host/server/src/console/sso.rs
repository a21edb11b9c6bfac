//! Signing in through the tenant's identity provider (OpenID Connect).
//!
//! `/console/sso?organisation=NAME` (the sign-in page's second form) shows
//! the organisation's sign-in link; following it (`/console/sso/NAME/start`)
//! stores the attempt and sends the browser to the provider with a cookie
//! holding the PKCE verifier (one cookie per attempt, named after its
//! state, so two tabs signing in at once do not collide); the provider
//! sends it back to
//! `/console/sso/callback`, which opens the session. The start is a link,
//! not a form, because the console's `form-action 'self'` would stop a
//! form's redirect to the provider.
//!
//! Starting counts against the client's address (a loop of starts cannot
//! push everyone's attempts out); a callback from an address over its
//! failure limit is refused before any work, and a refused one counts. A
//! provider failure shows only which step failed: the details (addresses,
//! the provider's words) go to the server's log.
//!
//! The verifier's cookie is `SameSite=Lax` (the provider's redirect back is
//! a cross-site navigation, on which a `Strict` cookie is not sent) and
//! lives ten minutes. The callback answers with a page that moves on to the
//! console by itself: a redirect would be part of the provider's
//! cross-site navigation, on which the new `Strict` session cookie is not
//! sent, so the console would ask for a sign-in again.

use super::{ConsoleError, ConsoleResult, layout, sign_in::Origin};
use crate::ApiState;
use crate::auth;
use crate::problem::ApiError;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use seatwarden_app::console_sessions::SESSION_MS;
use seatwarden_app::sign_on::{self, ATTEMPT_MS, Callback, SignOnError};
use secrecy::ExposeSecret;
use serde::Deserialize;

/// The cookie that carries the PKCE verifier between start and callback.
const BINDING_COOKIE: &str = "__Host-seatwarden-sso";

/// The organisation form's query.
#[derive(Deserialize)]
pub struct Organisation {
    organisation: Option<String>,
}

fn well_formed(name: &str) -> bool {
    seatwarden_app::connections::check_name(name).is_ok()
}

fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (layout::head(title))
            body { main { h1 { (title) } (body) } }
        }
    }
}

/// The organisation's sign-in link, or the form again with a problem.
pub async fn organisation(
    State(state): State<ApiState>,
    Query(query): Query<Organisation>,
) -> Response {
    let name = query.organisation.unwrap_or_default().trim().to_lowercase();
    let offered = well_formed(&name)
        .then(|| sign_on::display_name(&state.app, &name))
        .flatten();
    match offered {
        Some(display) => page(
            "Sign in to Seatwarden",
            html! {
                p { "People of " strong #organisation { (display) } " sign in with their company account." }
                p { a.button.primary #sso-start href=(format!("/console/sso/{name}/start")) { "Continue to " (display) "'s sign-in" } }
                p.muted { a href="/console/sign-in" { "Use a sign-in token instead" } }
            },
        )
        .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            page(
                "Sign in to Seatwarden",
                html! {
                    p.problem role="alert" { "That organisation does not sign in through an identity provider here. Check the name, or use a sign-in token." }
                    p { a href="/console/sign-in" { "Back to the sign-in page" } }
                },
            ),
        )
            .into_response(),
    }
}

/// The cookie of one attempt (one per attempt: two tabs signing in at
/// once do not overwrite each other's).
fn binding_cookie(slot: &str, value: &str, max_age_s: i64) -> HeaderValue {
    let text = format!(
        "{BINDING_COOKIE}-{slot}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age_s}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A sign-on failure as a page, with the status a person's browser shows.
fn failure(err: SignOnError) -> ConsoleError {
    let (status, detail) = match err {
        SignOnError::NotOffered(what) => (
            StatusCode::NOT_FOUND,
            format!("{what} does not sign in through an identity provider here."),
        ),
        SignOnError::Provider { step, detail } => {
            // The detail (addresses, the provider's words) is the
            // operator's: this page is shown to anyone who asks.
            tracing::warn!("single sign-on: the identity provider failed: {step}: {detail}");
            (
                StatusCode::BAD_GATEWAY,
                format!(
                    "The identity provider could not be used: {step}. Try again; if it persists, tell your administrator (the server's log says more)."
                ),
            )
        }
        SignOnError::Refused(why) => (StatusCode::UNAUTHORIZED, why),
        SignOnError::NotAllowed(why) => (StatusCode::FORBIDDEN, why),
        SignOnError::Internal(cause) => return ConsoleError::Api(ApiError::Internal(cause)),
    };
    ConsoleError::Page(
        status,
        page(
            "Not signed in",
            html! {
                p.problem #sign-on-problem role="alert" { (detail) }
                p { a href="/console/sign-in" { "Back to the sign-in page" } }
            },
        ),
    )
}

/// Sign-ins one client address may start per failure window: plenty for
/// the people behind one address, few for a loop pushing theirs out.
const MAX_STARTS: i64 = 60;

/// Stores the attempt and sends the browser to the provider.
pub async fn start(
    State(state): State<ApiState>,
    origin: Origin,
    Path(name): Path<String>,
) -> ConsoleResult<Response> {
    if !well_formed(&name) {
        return Err(failure(SignOnError::NotOffered(format!(
            "organisation {name:?}"
        ))));
    }
    let starts = format!("sign-on start {}", origin.address());
    auth::count_against(&state, &starts, MAX_STARTS).await?;
    let started = sign_on::begin(&state.app, &name).await.map_err(failure)?;
    let location = HeaderValue::from_str(&started.authorize_url).map_err(|_| {
        failure(SignOnError::Provider {
            step: "its authorization URL is not a valid header value".into(),
            detail: String::new(),
        })
    })?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                binding_cookie(
                    &started.slot,
                    started.binding.expose_secret(),
                    ATTEMPT_MS / 1000,
                ),
            ),
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}

/// What the provider sent the browser back with.
#[derive(Deserialize)]
pub struct Answer {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    iss: Option<String>,
}

/// Finishes the sign-in: opens the session and moves on to the console.
pub async fn callback(
    State(state): State<ApiState>,
    origin: Origin,
    headers: HeaderMap,
    Query(answer): Query<Answer>,
) -> ConsoleResult<Response> {
    // An address over its failure limit is refused before any work.
    auth::refuse_if_blocked(&state, origin.address()).await?;
    let Some(state_param) = answer
        .state
        .as_deref()
        .filter(|s| !s.is_empty() && s.len() <= 512)
    else {
        auth::count_failure(&state, origin.address()).await?;
        return Err(failure(SignOnError::Refused(
            "the identity provider's answer has no state; start again from the sign-in page".into(),
        )));
    };
    let slot = sign_on::slot(state_param);
    let binding = super::named_cookie(&headers, &format!("{BINDING_COOKIE}-{slot}"));
    let callback = Callback {
        state: state_param,
        code: answer.code.as_deref(),
        error: answer
            .error
            .as_deref()
            .map(|e| (e, answer.error_description.as_deref().unwrap_or(""))),
        issuer: answer.iss.as_deref(),
    };
    let opened = match sign_on::finish(&state.app, &callback, binding.as_deref()).await {
        Ok(opened) => opened,
        Err(err) => {
            // A person who cancelled at the provider guessed nothing.
            if matches!(err, SignOnError::Refused(_)) && callback.error.is_none() {
                auth::count_failure(&state, origin.address()).await?;
            }
            return Err(failure(err));
        }
    };
    let session = super::sign_in::session_cookie(opened.cookie.expose_secret(), SESSION_MS / 1000);
    let body = page(
        "Signed in",
        html! {
            p #signed-in { "Signed in as " strong { (opened.session.person) } " (" (opened.session.scope) ")." }
            p { a #continue href="/console" { "Continue to the console" } }
        },
    );
    let mut response = (
        [
            (header::SET_COOKIE, session),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::REFRESH, HeaderValue::from_static("0; url=/console")),
        ],
        body,
    )
        .into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, binding_cookie(&slot, "", 0));
    Ok(response)
}
