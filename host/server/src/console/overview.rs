//! The tenant's overview: seats owned against used per software model,
//! potential and actual savings, and every profile with its last job's
//! outcome and its next run, failing profiles first.

use super::layout::{self, Section, when};
use super::{ConsoleResult, Signed};
use crate::ApiState;
use crate::auth::Authed;
use crate::problem::ApiError;
use crate::routes::reports::{self, RunView};
use axum::extract::{Query, State};
use maud::{Markup, html};
use seatwarden_store::{JobFilter, JobRun};
use serde::Deserialize;

/// What a redirect back to a page says was done.
#[derive(Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

/// The notice for a `?done=` code; codes only, so a link cannot put words
/// of its own on the page.
pub fn notice(done: &Option<String>) -> Option<&'static str> {
    Some(match done.as_deref()? {
        "validated" => "Validation ran; its result is below.",
        "published" => "The profile is published: its jobs run on schedule.",
        "unpublished" => "The profile is unpublished: its jobs no longer run.",
        "run" => "The job is due now; the scheduler starts it within a minute.",
        "decided" => "Decision recorded.",
        "undone" => "The account was reactivated at the vendor.",
        "reclaimed" => "Reclaim ran; the results are below.",
        "reconciled" => "Reconciled now.",
        _ => return None,
    })
}

/// The newest kept reconciliation run, if there is one.
pub async fn newest_run(state: &ApiState, signed: &Signed) -> ConsoleResult<Option<RunView>> {
    match reports::compliance(State(state.clone()), Authed(signed.caller.clone())).await {
        Ok(run) => Ok(Some(run.0)),
        Err(ApiError::NotFound(_)) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

struct ProfileRow {
    name: String,
    status: &'static str,
    connector: String,
    last: Option<JobRun>,
    next: Option<i64>,
}

/// `GET /console`.
pub async fn page(
    State(state): State<ApiState>,
    signed: Signed,
    Query(done): Query<Done>,
) -> ConsoleResult<Markup> {
    let storage = &state.app.storage;
    let tenant = signed.session.tenant.0;
    let mut rows = Vec::new();
    for record in storage.profiles(tenant).await? {
        let filter = JobFilter {
            profile: Some(record.id),
            failed_only: false,
        };
        let last = storage
            .job_runs_page(tenant, &filter, None, 1)
            .await?
            .into_iter()
            .next();
        let next = if record.status.as_str() == "published" {
            storage
                .scheduled_jobs(record.id)
                .await?
                .iter()
                .map(|j| j.next_due_at)
                .min()
        } else {
            None
        };
        rows.push(ProfileRow {
            name: record.name,
            status: record.status.as_str(),
            connector: format!("{}@{}", record.connector.name, record.connector.version),
            last,
            next,
        });
    }
    let failing = |r: &ProfileRow| {
        r.last
            .as_ref()
            .is_some_and(|j| j.status != "succeeded" && j.status != "running")
    };
    rows.sort_by(|a, b| failing(b).cmp(&failing(a)).then(a.name.cmp(&b.name)));
    let run = newest_run(&state, &signed).await?;
    // Savings months are the scheduler's, so this month is too.
    let zone = &state.app.config.scheduler.time_zone;
    let month = seatwarden_app::reconciliation::day(state.app.now(), zone)?
        .strftime("%Y-%m")
        .to_string();
    let body = html! {
        @match &run {
            None => {
                p.muted { "No reconciliation yet, so no seat figures. " }
                @if signed.may(seatwarden_domain::access::Scope::Operate) {
                    form.inline method="post" action="/console/reports/reconcile" {
                        (layout::csrf(&signed))
                        button.primary type="submit" { "Reconcile now" }
                    }
                }
            }
            Some(run) => {
                div.cards {
                    div.card { div.figure #seats-owned { (run.owned) } div.label { "seats owned" } }
                    div.card { div.figure #seats-used { (run.used) } div.label { "seats used" } }
                    @for t in &run.totals {
                        div.card {
                            div.figure { (t.potential_savings) " " (t.currency) }
                            div.label { "potential savings per year (open candidates)" }
                        }
                        div.card {
                            div.figure { (t.actual_savings) " " (t.currency) }
                            div.label { "actual savings per year (reclaimed)" }
                        }
                    }
                    div.card {
                        div.figure { (run.savings.iter().filter(|s| s.month == month).map(|s| s.reclaimed).sum::<u64>()) }
                        div.label { "seats reclaimed this month (" (month) ")" }
                    }
                }
                h2 { "Seats per software model" }
                p.muted { "As of " (run.as_of) ", reconciled " (layout::when_text(&run.finished_at)) "." }
                table #models {
                    thead { tr { th { "Model" } th { "Status" } th.num { "Owned" } th.num { "Used" } th.num { "Open candidates" } th.num { "Potential savings" } } }
                    tbody {
                        @for m in &run.models {
                            tr {
                                td { (m.publisher) " " (m.product) " (" (m.edition) ")" }
                                td { span class=(status_class(&m.status)) { (m.status) } }
                                td.num { (m.owned) }
                                td.num { (m.used) }
                                td.num { (m.open_candidates) }
                                td.num { @if let Some(p) = &m.potential_savings { (p.amount) " " (p.currency) } @else { "—" } }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Profiles" }
        @if rows.is_empty() {
            p.muted { "No profiles yet: add one to the configuration and run seatwarden apply." }
        } @else {
            table #profiles {
                thead { tr { th { "Profile" } th { "Status" } th { "Connector" } th { "Last job" } th { "Next run" } } }
                tbody {
                    @for r in &rows {
                        tr {
                            td { a href={ "/console/profiles/" (r.name) } { (r.name) } }
                            td { span.badge { (r.status) } }
                            td { (r.connector) }
                            td {
                                @match &r.last {
                                    None => span.muted { "never ran" },
                                    Some(j) => {
                                        span class=(job_class(&j.status)) { (j.status) }
                                        " " (j.kind) ", " (when(j.started_at))
                                        @if let Some(kind) = &j.error_kind { " · " (kind) }
                                    }
                                }
                            }
                            td { @match r.next { Some(at) => (when(at)), None => span.muted { "not scheduled" } } }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &signed,
        Section::Overview,
        "Overview",
        notice(&done.done),
        body,
    ))
}

/// The badge class of a compliance status.
pub fn status_class(status: &str) -> &'static str {
    match status {
        "compliant" => "badge good",
        "under-licensed" => "badge bad",
        "over-licensed" => "badge warn",
        _ => "badge",
    }
}

/// The badge class of a job's status.
pub fn job_class(status: &str) -> &'static str {
    match status {
        "succeeded" => "badge good",
        "running" => "badge",
        _ => "badge bad",
    }
}
