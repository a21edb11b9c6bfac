//! A profile's page: its lifecycle with the validate, publish and
//! unpublish buttons, run-now, its rule, its jobs and its accounts with
//! their last activity and where that came from.

use super::layout::{self, Section, Shown, when, when_text};
use super::overview::{Done, job_class, notice};
use super::{ConsoleResult, Signed};
use crate::ApiState;
use crate::auth::Authed;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::problem::ApiError;
use crate::routes::{profiles, subscriptions};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use maud::{Markup, html};
use seatwarden_domain::access::Scope;
use seatwarden_store::JobFilter;
use serde::Deserialize;

/// Accounts shown on the page (the API pages through all of them).
const ACCOUNTS_SHOWN: u32 = 200;
/// Jobs shown on the page.
const JOBS_SHOWN: u32 = 20;

/// `GET /console/profiles/{name}`.
pub async fn page(
    State(state): State<ApiState>,
    signed: Signed,
    Path(name): Path<String>,
    Query(done): Query<Done>,
) -> ConsoleResult<Markup> {
    let caller = || Authed(signed.caller.clone());
    let profile = profiles::get(State(state.clone()), caller(), ApiPath(name.clone()))
        .await?
        .0;
    let tenant = signed.session.tenant.0;
    let record = profiles::find(&state, tenant, &name).await?;
    let rule = state.app.storage.current_rule(record.id).await?;
    let jobs = state
        .app
        .storage
        .job_runs_page(
            tenant,
            &JobFilter {
                profile: Some(record.id),
                failed_only: false,
            },
            None,
            JOBS_SHOWN,
        )
        .await?;
    let accounts = subscriptions::list(
        State(state.clone()),
        caller(),
        ApiQuery(subscriptions::SubscriptionQuery {
            profile: Some(name.clone()),
            state: None,
            inactive_since: None,
            active_since: None,
            cursor: None,
            limit: Some(ACCOUNTS_SHOWN),
        }),
    )
    .await?
    .0;
    let admin = signed.may(Scope::Admin);
    let operate = signed.may(Scope::Operate);
    let action = |step: &str| format!("/console/profiles/{name}/{step}");
    let body = html! {
        p {
            "Status " span.badge #status { (profile.status) }
            " · connector " (profile.connector.name) "@" (profile.connector.version)
            " · connection " (profile.connection)
        }
        @match &profile.validation {
            None => p.muted #validation { "Never validated." },
            Some(v) => p #validation {
                @if v.passed { span.badge.good { "validation passed" } } @else { span.badge.bad { "validation failed" } }
                " " (when_text(&v.at)) ": " (Shown(&v.detail))
            },
        }
        @if admin {
            div {
                @for (step, label) in [("validate", "Validate"), ("publish", "Publish"), ("unpublish", "Unpublish")] {
                    form.inline method="post" action=(action("step")) {
                        (layout::csrf(&signed))
                        input type="hidden" name="step" value=(step);
                        button.primary id=(step) type="submit" { (label) }
                    }
                }
            }
        }
        @if operate && profile.status == "published" {
            div {
                form.inline method="post" action=(action("run")) {
                    (layout::csrf(&signed))
                    input type="hidden" name="kind" value="subscriptions";
                    button #run-subscriptions type="submit" { "Download users now" }
                }
                @if profile.download_activity {
                    form.inline method="post" action=(action("run")) {
                        (layout::csrf(&signed))
                        input type="hidden" name="kind" value="activity";
                        button #run-activity type="submit" { "Download activity now" }
                    }
                }
                a href={ "/console/candidates?profile=" (name) } { "Its candidates and reclaim" }
            }
        }
        h2 { "Rule" }
        @match &rule {
            None => p.muted { "No rule stored yet." },
            Some(rule) => p #rule {
                "Version " (rule.version) ": accounts with no activity for " (rule.threshold_days)
                " days become removal candidates"
                @if !rule.include_admins { " (administrators are left alone)" }
                "."
                @if !rule.protected.is_empty() { " Protected: " (rule.protected.join(", ")) "." }
                " Circuit breaker: at most " (rule.breaker_percent) "% of active accounts"
                @if let Some(max) = rule.breaker_max { " and at most " (max) }
                " per reclaim."
            },
        }
        p.muted {
            "Users download " (profile.subscriptions_schedule.as_deref().unwrap_or("not scheduled"))
            "; activity " (profile.activity_schedule.as_deref().unwrap_or("not downloaded"))
            "; reclaim " @if profile.reclaim { "on" } @else { "off (reports only)" } "."
        }
        h2 { "Jobs" }
        @if jobs.is_empty() {
            p.muted { "No job has run yet." }
        } @else {
            table #jobs {
                thead { tr { th { "Started" } th { "Job" } th { "Trigger" } th { "Outcome" } th.num { "Items" } } }
                tbody {
                    @for j in &jobs {
                        tr {
                            td { (when(j.started_at)) }
                            td { (j.kind) }
                            td { (j.trigger) }
                            td {
                                span class=(job_class(&j.status)) { (j.status) }
                                @if let Some(kind) = &j.error_kind { " " (kind) }
                            }
                            td.num { (j.items) }
                        }
                    }
                }
            }
        }
        h2 { "Accounts" }
        table #accounts {
            thead { tr { th { "Principal" } th { "Name" } th { "State" } th { "Last active" } th { "Source" } } }
            tbody {
                @for a in &accounts.items {
                    tr {
                        td { (Shown(&a.principal)) }
                        td { (Shown(a.display_name.as_deref().unwrap_or(""))) }
                        td { (a.state) }
                        td { @match &a.last_active_at { Some(t) => (when_text(t)), None => span.muted { "never" } } }
                        td { (a.last_active_source.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
        @if accounts.next_cursor.is_some() {
            p.muted { "The first " (ACCOUNTS_SHOWN) " accounts; the API's /api/v1/subscriptions pages through all of them." }
        }
    };
    Ok(layout::page(
        &signed,
        Section::Overview,
        &format!("Profile {name}"),
        notice(&done.done),
        body,
    ))
}

/// A lifecycle step as posted.
#[derive(Deserialize)]
pub struct StepForm {
    csrf: String,
    step: String,
}

/// `POST /console/profiles/{name}/step`: validate, publish or unpublish.
pub async fn step(
    State(state): State<ApiState>,
    signed: Signed,
    Path(name): Path<String>,
    Form(form): Form<StepForm>,
) -> ConsoleResult<Redirect> {
    signed.check_form(&form.csrf)?;
    let (caller, path) = (Authed(signed.caller.clone()), ApiPath(name.clone()));
    let state_ = State(state.clone());
    let done = match form.step.as_str() {
        "validate" => {
            let _ = profiles::validate(state_, caller, path).await?;
            "validated"
        }
        "publish" => {
            let _ = profiles::publish(state_, caller, path).await?;
            "published"
        }
        "unpublish" => {
            let _ = profiles::unpublish(state_, caller, path).await?;
            "unpublished"
        }
        _ => return Err(ApiError::field("step", "validate, publish or unpublish").into()),
    };
    Ok(Redirect::to(&format!(
        "/console/profiles/{name}?done={done}"
    )))
}

/// Run-now as posted.
#[derive(Deserialize)]
pub struct RunForm {
    csrf: String,
    kind: String,
}

/// `POST /console/profiles/{name}/run`.
pub async fn run(
    State(state): State<ApiState>,
    signed: Signed,
    Path(name): Path<String>,
    Form(form): Form<RunForm>,
) -> ConsoleResult<Redirect> {
    signed.check_form(&form.csrf)?;
    let _accepted = profiles::run(
        State(state),
        Authed(signed.caller.clone()),
        ApiPath(name.clone()),
        ApiJson(profiles::RunRequest { kind: form.kind }),
    )
    .await?;
    Ok(Redirect::to(&format!("/console/profiles/{name}?done=run")))
}
