//! The candidates queue: why each account is a candidate, the decisions
//! on it, reclaim with a preview of exactly what would be deactivated and
//! the circuit breaker's verdict, and undo.
//!
//! A reclaim is previewed first (a dry run) and the confirm button carries
//! the candidates the preview showed; if the plan is different when the
//! person confirms (a sync or another reviewer changed it), nothing is
//! deactivated and the new plan is shown for review instead.

use super::layout::{self, Section, Shown, when_text};
use super::overview::notice;
use super::{ConsoleResult, Signed};
use crate::ApiState;
use crate::auth::Authed;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::{candidates, profiles};
use crate::views::CandidateView;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use seatwarden_domain::access::Scope;
use serde::Deserialize;

/// The queue's filter.
#[derive(Deserialize)]
pub struct QueueQuery {
    profile: Option<String>,
    done: Option<String>,
}

/// Candidates shown per page.
const SHOWN: u32 = 200;

fn decision_forms(signed: &Signed, c: &CandidateView) -> Markup {
    let reclaimed = c.deactivated_at.is_some() && c.reactivated_at.is_none();
    html! {
        @if reclaimed {
            form.inline method="post" action={ "/console/candidates/" (c.id) "/undo" } {
                (layout::csrf(signed))
                button id={ "undo-" (c.id) } type="submit" { "Undo (reactivate)" }
            }
        } @else if c.closed_at.is_none() {
            @for (decision, label) in [("keep", "Keep"), ("release", "Release"), ("approve", "Approve"), ("reject", "Reject")] {
                form.inline method="post" action={ "/console/candidates/" (c.id) "/decision" } {
                    (layout::csrf(signed))
                    input type="hidden" name="decision" value=(decision);
                    button id={ (decision) "-" (c.id) } type="submit" { (label) }
                }
            }
        }
    }
}

/// `GET /console/candidates`.
pub async fn queue(
    State(state): State<ApiState>,
    signed: Signed,
    Query(query): Query<QueueQuery>,
) -> ConsoleResult<Markup> {
    let page = candidates::list(
        State(state.clone()),
        Authed(signed.caller.clone()),
        ApiQuery(candidates::CandidateQuery {
            profile: query.profile.clone(),
            state: None,
            all: Some(true),
            cursor: None,
            limit: Some(SHOWN),
        }),
    )
    .await?
    .0;
    let profiles = state.app.storage.profiles(signed.session.tenant.0).await?;
    let operate = signed.may(Scope::Operate);
    let body = html! {
        @if operate {
            h2 { "Reclaim" }
            p.muted { "Preview first: you see exactly which accounts would be deactivated and whether the circuit breaker allows it." }
            @for p in &profiles {
                form.inline method="post" action={ "/console/profiles/" (p.name) "/reclaim" } {
                    (layout::csrf(&signed))
                    input type="hidden" name="apply" value="false";
                    button id={ "preview-" (p.name) } type="submit" { "Preview reclaim of " (p.name) }
                }
            }
        }
        h2 { "Candidates" }
        @if page.items.is_empty() {
            p.muted { "No removal candidates." }
        } @else {
            table #candidates {
                thead { tr { th { "Account" } th { "Profile" } th { "State" } th { "Why" } th.num { "Days inactive" } th { "Signal" } th { "" } } }
                tbody {
                    @for c in &page.items {
                        tr id={ "candidate-" (c.id) } {
                            td { (Shown(&c.principal)) }
                            td { (c.profile) }
                            td.state { span.badge { (c.state) } }
                            td { (Shown(&c.explanation)) }
                            td.num { (c.days_inactive) " / " (c.threshold_days) }
                            td {
                                @match (&c.last_active_source, &c.last_active_at) {
                                    (Some(source), Some(at)) => { (source) ", " (when_text(at)) },
                                    _ => span.muted { "no activity recorded" },
                                }
                            }
                            td { @if operate { (decision_forms(&signed, c)) } }
                        }
                    }
                }
            }
            @if page.next_cursor.is_some() {
                p.muted { "The newest " (SHOWN) "; the API's /api/v1/candidates pages through all of them." }
            }
        }
    };
    Ok(layout::page(
        &signed,
        Section::Candidates,
        "Removal candidates",
        notice(&query.done),
        body,
    ))
}

/// A decision as posted.
#[derive(Deserialize)]
pub struct DecisionForm {
    csrf: String,
    decision: String,
    reason: Option<String>,
}

/// `POST /console/candidates/{id}/decision`.
pub async fn decide(
    State(state): State<ApiState>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> ConsoleResult<Redirect> {
    signed.check_form(&form.csrf)?;
    let _decided = candidates::decide(
        State(state),
        Authed(signed.caller.clone()),
        ApiPath(id),
        ApiJson(candidates::DecisionRequest {
            decision: form.decision,
            reason: form.reason.filter(|r| !r.trim().is_empty()),
        }),
    )
    .await?;
    Ok(Redirect::to("/console/candidates?done=decided"))
}

/// Undo as posted.
#[derive(Deserialize)]
pub struct UndoForm {
    csrf: String,
}

/// `POST /console/candidates/{id}/undo`.
pub async fn undo(
    State(state): State<ApiState>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<UndoForm>,
) -> ConsoleResult<Redirect> {
    signed.check_form(&form.csrf)?;
    let _undone =
        candidates::undo(State(state), Authed(signed.caller.clone()), ApiPath(id)).await?;
    Ok(Redirect::to("/console/candidates?done=undone"))
}

/// A reclaim as posted: a preview, or the confirmation of one.
#[derive(Deserialize)]
pub struct ReclaimForm {
    csrf: String,
    apply: bool,
    /// The candidate ids the confirmed preview showed, comma-separated.
    expect: Option<String>,
}

fn plan_ids(view: &profiles::ReclaimView) -> String {
    view.deactivate
        .iter()
        .map(|c| c.id.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// `POST /console/profiles/{name}/reclaim`: the preview, or the reclaim
/// itself once confirmed with an unchanged plan.
pub async fn reclaim(
    State(state): State<ApiState>,
    signed: Signed,
    Path(name): Path<String>,
    Form(form): Form<ReclaimForm>,
) -> ConsoleResult<Response> {
    signed.check_form(&form.csrf)?;
    let call = |apply: bool| {
        profiles::reclaim(
            State(state.clone()),
            Authed(signed.caller.clone()),
            ApiPath(name.clone()),
            ApiJson(profiles::ReclaimRequest { apply }),
        )
    };
    let preview = call(false).await?.0;
    let changed = form.apply && form.expect.as_deref() != Some(plan_ids(&preview).as_str());
    if !form.apply || changed || preview.refused.is_some() {
        return Ok(preview_page(&signed, &name, &preview, changed).into_response());
    }
    let done = call(true).await?.0;
    Ok(result_page(&signed, &name, &done).into_response())
}

fn preview_page(
    signed: &Signed,
    name: &str,
    plan: &profiles::ReclaimView,
    changed: bool,
) -> Markup {
    let notice = changed.then_some(
        "The plan changed since your preview (a sync or another decision moved it). Nothing was deactivated; review the plan below.",
    );
    let body = html! {
        p #breaker {
            @match &plan.refused {
                Some(why) => { span.badge.bad { "circuit breaker: refused" } " " (why) },
                None => { span.badge.good { "circuit breaker: allowed" } " "
                    (plan.deactivate.len()) " of " (plan.active_accounts) " active accounts; the limit is " (plan.limit) "." },
            }
        }
        @if plan.deactivate.is_empty() {
            p.muted { "Nothing would be deactivated: no candidate is approved and ready." }
        } @else {
            table #plan {
                thead { tr { th { "Account" } th { "Why" } } }
                tbody {
                    @for c in &plan.deactivate {
                        tr { td { (Shown(&c.principal)) } td { (Shown(&c.explanation)) } }
                    }
                }
            }
            @if plan.refused.is_none() {
                form method="post" action={ "/console/profiles/" (name) "/reclaim" } {
                    (layout::csrf(signed))
                    input type="hidden" name="apply" value="true";
                    input type="hidden" name="expect" value=(plan_ids(plan));
                    button.danger #confirm-reclaim type="submit" { "Deactivate these " (plan.deactivate.len()) " accounts" }
                }
            }
        }
        p { a href="/console/candidates" { "Back to the candidates" } }
    };
    layout::page(
        signed,
        Section::Candidates,
        &format!("Reclaim preview: {name}"),
        notice,
        body,
    )
}

fn result_page(signed: &Signed, name: &str, done: &profiles::ReclaimView) -> Markup {
    let body = html! {
        @if let Some(why) = &done.refused {
            p.problem role="alert" { "Refused: " (why) }
        }
        h2 { "Deactivated" }
        @if done.deactivated.is_empty() {
            p.muted { "None." }
        } @else {
            ul #deactivated { @for who in &done.deactivated { li { (Shown(who)) } } }
        }
        @if !done.failed.is_empty() {
            h2 { "Failed" }
            ul #failed { @for f in &done.failed { li { (Shown(&f.principal)) ": " (Shown(&f.error)) } } }
        }
        p { a href="/console/candidates" { "Back to the candidates (undo is there)" } }
    };
    layout::page(
        signed,
        Section::Candidates,
        &format!("Reclaimed: {name}"),
        Some("Reclaim ran; the results are below."),
        body,
    )
}
