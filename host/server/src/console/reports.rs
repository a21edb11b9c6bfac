//! Reports (compliance, the savings trend, the activity histogram as a
//! picture that helps choose a threshold, unrecognized identifiers) and the
//! audit log with its verification result.

use super::layout::{self, Section, Shown, when_text};
use super::overview::{Done, newest_run, notice, status_class};
use super::{ConsoleResult, Signed};
use crate::ApiState;
use crate::auth::Authed;
use crate::extract::ApiQuery;
use crate::routes::{audit, reports};
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

/// `GET /console/reports`.
pub async fn page(
    State(state): State<ApiState>,
    signed: Signed,
    Query(done): Query<Done>,
) -> ConsoleResult<Markup> {
    let caller = || Authed(signed.caller.clone());
    let run = newest_run(&state, &signed).await?;
    let history = reports::history(
        State(state.clone()),
        caller(),
        ApiQuery(reports::HistoryQuery { limit: Some(12) }),
    )
    .await?
    .0;
    let unrecognized = reports::unrecognized(State(state.clone()), caller())
        .await?
        .0;
    let body = html! {
        h2 { "Activity" }
        p.muted { "Active accounts by days since their last activity: a threshold of 60 days reclaims the bars from 60 on." }
        img.chart #activity src="/console/reports/activity.svg" alt="Active accounts per profile by days since last activity";
        h2 { "Compliance" }
        @match &run {
            None => p.muted { "No reconciliation yet." },
            Some(run) => {
                p.muted { "As of " (run.as_of) "." }
                table #compliance {
                    thead { tr { th { "Model" } th { "Status" } th.num { "Owned" } th.num { "Used" } th.num { "Available" } th.num { "Shortfall" } th.num { "True-up cost" } th.num { "Over-licensed" } } }
                    tbody {
                        @for m in &run.models {
                            tr {
                                td { (m.publisher) " " (m.product) " (" (m.edition) ")" }
                                td { span class=(status_class(&m.status)) { (m.status) } }
                                td.num { (m.owned) } td.num { (m.used) } td.num { (m.available) } td.num { (m.shortfall) }
                                td.num { @if let Some(c) = &m.true_up_cost { (c.amount) " " (c.currency) } @else { "—" } }
                                td.num { @if let Some(c) = &m.over_licensed { (c.amount) " " (c.currency) } @else { "—" } }
                            }
                        }
                    }
                }
            }
        }
        @if signed.may(seatwarden_domain::access::Scope::Operate) {
            form.inline method="post" action="/console/reports/reconcile" {
                (layout::csrf(&signed))
                button #reconcile type="submit" { "Reconcile now" }
            }
        }
        h2 { "Savings trend" }
        @if history.is_empty() {
            p.muted { "No runs yet." }
        } @else {
            table #history {
                thead { tr { th { "Reconciled" } th.num { "Owned" } th.num { "Used" } th { "Potential savings / year" } th { "Actual savings / year" } } }
                tbody {
                    @for r in &history {
                        tr {
                            td { (when_text(&r.finished_at)) }
                            td.num { (r.owned) } td.num { (r.used) }
                            td { @for t in &r.totals { (t.potential_savings) " " (t.currency) " " } }
                            td { @for t in &r.totals { (t.actual_savings) " " (t.currency) " " } }
                        }
                    }
                }
            }
        }
        h2 { "Unrecognized identifiers" }
        @if unrecognized.is_empty() {
            p.muted { "Every identifier maps to a software model." }
        } @else {
            table #unrecognized {
                thead { tr { th { "Connector" } th { "Identifier" } th.num { "Subscriptions" } th { "Profiles" } } }
                tbody {
                    @for u in &unrecognized {
                        tr { td { (u.connector) } td { (Shown(&u.identifier)) } td.num { (u.subscriptions) } td { (u.profiles.join(", ")) } }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &signed,
        Section::Reports,
        "Reports",
        notice(&done.done),
        body,
    ))
}

/// The picture on the reports page, for the signed-in tenant.
pub async fn activity_svg(
    State(state): State<ApiState>,
    signed: Signed,
) -> ConsoleResult<Response> {
    let svg = reports::activity_picture(&state, signed.session.tenant.0).await?;
    Ok(reports::svg_response(svg))
}

/// Reconcile as posted.
#[derive(Deserialize)]
pub struct ReconcileForm {
    csrf: String,
}

/// `POST /console/reports/reconcile`.
pub async fn reconcile(
    State(state): State<ApiState>,
    signed: Signed,
    Form(form): Form<ReconcileForm>,
) -> ConsoleResult<Redirect> {
    signed.check_form(&form.csrf)?;
    let _run = reports::reconcile(State(state), Authed(signed.caller.clone())).await?;
    Ok(Redirect::to("/console/reports?done=reconciled"))
}

/// `GET /console/audit`: the newest entries and whether the chain is whole.
pub async fn audit(State(state): State<ApiState>, signed: Signed) -> ConsoleResult<Markup> {
    let caller = || Authed(signed.caller.clone());
    let check = audit::verify(State(state.clone()), caller()).await?.0;
    let newest = state
        .app
        .storage
        .audit_newest(signed.session.tenant.0, 200)
        .await?;
    let body = html! {
        p #verification {
            @if check.intact {
                span.badge.good { "chain intact" } " "
                (check.entries.unwrap_or(0)) " entries; head " code { (check.head.as_deref().unwrap_or("")) }
            } @else {
                span.badge.bad { "chain broken" } " at entry " (check.broken_at.unwrap_or(0)) ": " (check.reason.as_deref().unwrap_or(""))
            }
        }
        table #audit {
            thead { tr { th { "When" } th { "Who" } th { "What" } th { "Profile" } th { "Detail" } } }
            tbody {
                @for e in &newest {
                    tr {
                        td { (layout::when(e.at)) }
                        td { (Shown(&e.actor)) }
                        td { (e.action) }
                        td { (e.profile.as_deref().unwrap_or("")) }
                        td { (Shown(&e.detail)) }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &signed,
        Section::Audit,
        "Audit log",
        None,
        body,
    ))
}
