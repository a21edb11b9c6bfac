//! The console's page shell (title, navigation, who is signed in, the
//! sign-out button), its stylesheet, and small pieces every page uses.

use super::Signed;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// Which navigation entry a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Candidates,
    Reports,
    Audit,
}

/// A whole page for a signed-in person.
pub fn page(
    signed: &Signed,
    section: Section,
    title: &str,
    notice: Option<&str>,
    body: Markup,
) -> Markup {
    let nav = [
        (Section::Overview, "/console", "Overview"),
        (Section::Candidates, "/console/candidates", "Candidates"),
        (Section::Reports, "/console/reports", "Reports"),
        (Section::Audit, "/console/audit", "Audit log"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(&format!("{title} · {}", signed.tenant())))
            body {
                header {
                    span.brand { "Seatwarden" }
                    span.tenant { "tenant " strong #tenant { (signed.tenant()) } }
                    nav {
                        @for (s, href, label) in nav {
                            @if s == section {
                                a.current href=(href) { (label) }
                            } @else {
                                a href=(href) { (label) }
                            }
                        }
                    }
                    form.signout method="post" action="/console/sign-out" {
                        (csrf(signed))
                        span #person { (signed.session.person) " (" (signed.session.scope) ")" }
                        button type="submit" { "Sign out" }
                    }
                }
                main {
                    h1 { (title) }
                    @if let Some(notice) = notice {
                        p.notice role="status" { (notice) }
                    }
                    (body)
                }
            }
        }
    }
}

/// Text that came from a vendor or a connector (a principal, a name, an
/// explanation, an error): bidi, invisible and control characters are
/// shown as `\uXXXX`, as the command line shows them, so such text cannot
/// reorder or hide what is around it; maud escapes the HTML as always.
pub struct Shown<'a>(pub &'a str);

impl maud::Render for Shown<'_> {
    fn render(&self) -> Markup {
        html! { (seatwarden_app::output::escape(self.0).as_ref()) }
    }
}

/// A page's `<head>`: its title and the stylesheet.
pub fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Seatwarden" }
            link rel="stylesheet" href="/console/static/console.css";
        }
    }
}

/// The hidden field that carries the session's CSRF token.
pub fn csrf(signed: &Signed) -> Markup {
    html! { input type="hidden" name="csrf" value=(signed.csrf); }
}

/// A page for an error, signed in or not.
pub fn error_page(title: &str, detail: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                main {
                    h1 { (title) }
                    p.problem role="alert" { (detail) }
                    p { a href="/console" { "Back to the overview" } }
                }
            }
        }
    }
}

/// An epoch-milliseconds time as `YYYY-MM-DD HH:MM` UTC.
pub fn when(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| "?".into())
}

/// An RFC 3339 time from a view as `YYYY-MM-DD HH:MM` UTC.
pub fn when_text(rfc3339: &str) -> String {
    rfc3339
        .parse::<jiff::Timestamp>()
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// The stylesheet, served from this origin so the policy needs no inline style.
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        STYLESHEET,
    )
        .into_response()
}

const STYLESHEET: &str = r#"
:root { --ink: #1d2433; --muted: #5b6478; --line: #d9dde5; --accent: #1f5fbf; --bad: #b42318; --good: #067647; --warn: #b54708; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #f6f7f9; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
.brand { font-weight: 700; letter-spacing: .02em; }
.tenant { color: var(--muted); }
nav { display: flex; gap: 1rem; }
nav a { color: var(--ink); text-decoration: none; padding: .2rem 0; }
nav a.current { border-bottom: 2px solid var(--accent); font-weight: 600; }
form.signout { margin-left: auto; display: flex; gap: .6rem; align-items: center; color: var(--muted); }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.5rem; margin: .8rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.8rem 0 .6rem; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-weight: 600; font-size: .9rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(13rem, 1fr)); gap: 1rem; }
.card { background: #fff; border: 1px solid var(--line); padding: .8rem 1rem; }
.card .figure { font-size: 1.5rem; font-weight: 700; }
.card .label { color: var(--muted); font-size: .9rem; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: .6rem; font-size: .85rem; background: #eef1f5; }
.badge.bad { background: #fee4e2; color: var(--bad); }
.badge.good { background: #dcfae6; color: var(--good); }
.badge.warn { background: #fef0c7; color: var(--warn); }
.notice { background: #dcfae6; border: 1px solid #a6f4c5; padding: .5rem .8rem; }
.problem { background: #fee4e2; border: 1px solid #fecdca; padding: .5rem .8rem; }
.muted { color: var(--muted); }
form.inline { display: inline-flex; gap: .3rem; margin: 0 .2rem .2rem 0; }
button { font: inherit; padding: .25rem .7rem; border: 1px solid var(--line); background: #fff; cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { background: var(--bad); border-color: var(--bad); color: #fff; }
input[type=text], input[type=password] { font: inherit; padding: .3rem .5rem; border: 1px solid var(--line); min-width: 20rem; }
img.chart { max-width: 100%; background: #fff; border: 1px solid var(--line); }
"#;
