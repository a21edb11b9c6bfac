//! The page behind the answer links in notices: a user says "keep" or
//! "release" about their own seat.
//!
//! Opening a link (GET) only shows what it will do and a confirm button: mail
//! scanners and link previews fetch URLs, and must not answer for the user.
//! The confirmation (POST) checks the signature and expiry, then the
//! database applies the answer only with the nonce of the candidate's
//! current links and clears it, so each pair of links works once. Pages are
//! not cached, not framed, and send no referrer (the token is in the URL):
//! `serving` sets that on every response, the framework's errors included.
//!
//! An answer to a profile that was unpublished since the notice is still
//! recorded: it is the user's word about their own account, it changes
//! nothing at the vendor by itself (reclaiming needs the profile published
//! with `reclaim = true`), and it stands if the profile is published again.

use crate::notify::day;
use crate::notify::links::{LinkClaim, LinkError};
use crate::serving::ServeLimits;
use crate::wiring::App;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use seatwarden_domain::candidate_state::Decision;
use seatwarden_store::{Candidate, CandidateState, RefreshScope};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
struct Link {
    t: String,
}

/// The routes: `GET /answer?t=...` (confirm page) and `POST /answer`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/answer", get(confirm).post(answer))
        .with_state(app)
}

/// Serves the answer pages on `listener` until `shutdown` completes, under
/// the host's serving limits and security headers.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    crate::serving::serve(listener, router(app), ServeLimits::default(), shutdown).await
}

async fn confirm(State(app): State<Arc<App>>, Query(link): Query<Link>) -> Response {
    let (claim, candidate) = match lookup(&app, &link.t).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let (label, effect) = match claim.decision {
        Decision::Keep => (
            "Keep my account",
            "Your administrator will review your request to keep it.",
        ),
        _ => (
            "Release my account",
            "The account will be deactivated and its licence freed.",
        ),
    };
    page(
        StatusCode::OK,
        "Confirm your answer",
        &format!(
            "<p>Account <b>{}</b> is to be deactivated after {} because it has not been used.</p>\
             <p>{effect}</p>\
             <form method=\"post\" action=\"answer\"><input type=\"hidden\" name=\"t\" value=\"{}\">\
             <button type=\"submit\">{label}</button></form>",
            escape(&candidate.principal),
            day(claim.expires_at),
            escape(&link.t),
        ),
    )
}

async fn answer(State(app): State<Arc<App>>, Form(link): Form<Link>) -> Response {
    let (claim, candidate) = match lookup(&app, &link.t).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let applied = async {
        let (tenant, tenant_name, profile) = app
            .storage
            .candidate_owner(candidate.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("candidate {} is gone", candidate.id))?;
        let record = app.find_profile(tenant, &tenant_name, &profile).await?;
        let actor = format!("user:{} (answer link)", candidate.principal);
        app.storage
            .answer_candidate(
                RefreshScope::of(&record, &actor, app.now()),
                &candidate,
                &claim.nonce_hash,
                claim.decision,
            )
            .await
    }
    .await;
    match applied {
        Ok(CandidateState::AwaitingApproval) => page(
            StatusCode::OK,
            "Request recorded",
            "<p>Thank you. Your administrator will review your request to keep the account; until then it stays active.</p>",
        ),
        Ok(_) => page(
            StatusCode::OK,
            "Answer recorded",
            "<p>Thank you. The account will be deactivated and its licence freed.</p>",
        ),
        Err(err) => {
            tracing::info!(candidate = candidate.id, "answer link refused: {err:#}");
            used()
        }
    }
}

/// Verifies the link and finds its candidate, or the page that says why not.
async fn lookup(app: &App, token: &str) -> Result<(LinkClaim, Candidate), Response> {
    let Some(notifier) = &app.notifier else {
        return Err(page(
            StatusCode::NOT_FOUND,
            "Not found",
            "<p>Answers are not enabled here.</p>",
        ));
    };
    let claim = notifier.signer.verify(token, app.now()).map_err(|err| {
        let status = match err {
            LinkError::Expired => StatusCode::GONE,
            LinkError::Malformed | LinkError::BadSignature => StatusCode::BAD_REQUEST,
        };
        page(
            status,
            "Link not accepted",
            &format!("<p>{}</p>", escape(&err.to_string())),
        )
    })?;
    let found = async {
        let Some((tenant, _, _)) = app.storage.candidate_owner(claim.candidate).await? else {
            return Ok(None);
        };
        Ok::<_, anyhow::Error>(
            app.storage
                .find_candidate(tenant, claim.candidate)
                .await?
                .map(|(_, c)| c),
        )
    }
    .await;
    match found {
        Ok(Some(candidate)) if candidate.state == CandidateState::AwaitingUser => {
            Ok((claim, candidate))
        }
        Ok(_) => Err(used()),
        Err(err) => {
            tracing::error!("answer link lookup failed: {err:#}");
            Err(page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again later",
                "<p>Your answer could not be looked up just now. Please try the link again later.</p>",
            ))
        }
    }
}

fn used() -> Response {
    page(
        StatusCode::GONE,
        "Link already used",
        "<p>This link was already used, or the decision about this account has been made. Ask your administrator if this is unexpected.</p>",
    )
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1>{body}</body></html>"
    );
    // Security headers come from the serving layer, for every response.
    (status, Html(html)).into_response()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
