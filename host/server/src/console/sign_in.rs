//! Signing in with a one-time sign-in token, and signing out; the page
//! also offers single sign-on through the organisation's identity
//! provider ([`super::sso`]).
//!
//! The sign-in link (`/console/sign-in?token=...`) only fills the form: the
//! token is spent by the POST the person makes, so a link scanner or a
//! browser's prefetch that opens the link does not use it up. A wrong,
//! spent or expired token counts as a failed authentication against the
//! client's address, like a bad API token.

use super::{COOKIE, ConsoleError, ConsoleResult, Signed, cross_site, layout};
use crate::ApiState;
use crate::auth;
use crate::problem::ApiError;
use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use seatwarden_app::console_sessions::{self, SESSION_MS};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The sign-in link's query.
#[derive(Deserialize)]
pub struct Link {
    token: Option<String>,
}

fn sign_in_page(token: &str, problem: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (layout::head("Sign in"))
            body {
                main {
                    h1 { "Sign in to Seatwarden" }
                    @if let Some(problem) = problem {
                        p.problem role="alert" { (problem) }
                    }
                    h2 { "With your company account" }
                    form method="get" action="/console/sso" {
                        p {
                            label for="organisation" { "Organisation " }
                            input #organisation type="text" name="organisation" autocomplete="organization" required;
                        }
                        button #sso type="submit" { "Continue" }
                    }
                    h2 { "With a sign-in token" }
                    form method="post" action="/console/sign-in" {
                        p {
                            label for="token" { "Sign-in token " }
                            input #token type="password" name="token" value=(token) autocomplete="off" required;
                        }
                        button.primary #sign-in type="submit" { "Sign in" }
                    }
                    p.muted {
                        "A sign-in token opens one session and works once. Your administrator makes one with "
                        code { "seatwarden console sign-in --tenant T --person NAME --scope operate" } "."
                    }
                }
            }
        }
    }
}

/// The sign-in form, filled from the link's token if there is one.
pub async fn form(Query(link): Query<Link>) -> Markup {
    let token = link.token.unwrap_or_default();
    // Only a well-shaped token is echoed back into the page.
    let token = if token.len() <= 120
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        token
    } else {
        String::new()
    };
    sign_in_page(&token, None)
}

/// The sign-in form as posted.
#[derive(Deserialize)]
pub struct Posted {
    token: String,
}

/// The client's address key and whether the browser says the form came
/// from another site.
pub struct Origin {
    address: String,
    cross_site: bool,
}

impl Origin {
    /// The key failed authentications from this client count under.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl FromRequestParts<ApiState> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &ApiState) -> Result<Self, Self::Rejection> {
        Ok(Origin {
            address: auth::peer(parts),
            cross_site: cross_site(parts),
        })
    }
}

pub(super) fn session_cookie(value: &str, max_age_s: i64) -> HeaderValue {
    let text =
        format!("{COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age_s}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Spends the token and opens a session, or shows the form again.
pub async fn submit(
    State(state): State<ApiState>,
    origin: Origin,
    Form(posted): Form<Posted>,
) -> ConsoleResult<Response> {
    if origin.cross_site {
        return Err(ConsoleError::Api(ApiError::Forbidden(
            "the browser says this sign-in was sent from another site; it was refused".into(),
        )));
    }
    let presented = SecretString::from(posted.token);
    match console_sessions::sign_in(&state.app, &presented).await? {
        Some(opened) => {
            let cookie = session_cookie(opened.cookie.expose_secret(), SESSION_MS / 1000);
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/console")).into_response())
        }
        None => {
            auth::count_failure(&state, &origin.address).await?;
            Ok((
                axum::http::StatusCode::UNAUTHORIZED,
                sign_in_page(
                    "",
                    Some("That sign-in token does not open a session: it is mistyped, already used or expired. Ask for a new one."),
                ),
            )
                .into_response())
        }
    }
}

/// The sign-out form.
#[derive(Deserialize)]
pub struct SignOut {
    csrf: String,
}

/// Ends the session and clears its cookie.
pub async fn sign_out(
    State(state): State<ApiState>,
    signed: Signed,
    Form(form): Form<SignOut>,
) -> ConsoleResult<Response> {
    signed.check_form(&form.csrf)?;
    console_sessions::sign_out(&state.app, &signed.session).await?;
    Ok((
        [(header::SET_COOKIE, session_cookie("", 0))],
        Redirect::to("/console/sign-in"),
    )
        .into_response())
}
