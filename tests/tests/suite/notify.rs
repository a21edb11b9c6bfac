//! Telling users and taking their answer, end to end: notices go through a
//! real SMTP server (aiosmtpd from PyPI) to each candidate's user with the
//! reclamation date and two signed links; the links are answered through
//! the real answer pages over HTTP; keep waits for approval, release and
//! silence lead to reclamation; links work once, cannot be forged, and
//! opening one changes nothing. A notice that cannot be sent leaves the
//! candidate ready and is sent at the next refresh.

use http_body_util::{BodyExt, Full};
use seatwarden_app::clock::{Clock, ManualClock};
use seatwarden_app::reclamation::plan_reclaim;
use seatwarden_app::scheduler::{JobResult, Scheduler, SchedulerOptions};
use seatwarden_domain::rules::{DAY_MS, ReclamationRule};
use seatwarden_store::JobKind;
use seatwarden_store::{AuditCheck, Candidate, CandidateState};
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::published::{Published, Setup};
use seatwarden_tests::smartrecruiters_fake::{
    SmartRecruitersFake, SrTenant, aged_accounts, seed_users_only,
};
use seatwarden_tests::smtp_sink::{Mail, SmtpSink};
use seatwarden_tests::workspace::{Workspace, smartrecruiters_connection};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "DCRA1-notify";
const LINK_KEY: &str = "k3y-for-answer-links-at-least-32-bytes-long";

struct Rig {
    vendor: SmartRecruitersFake,
    profile: Published,
    answers_port: u16,
    _answers: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// A published SmartRecruiters profile whose rule gives users 7 days, with
/// notices going to `smtp_port` and the answer pages served in-process.
async fn rig(name: &str, smtp_port: u16) -> Rig {
    rig_reclaiming(name, smtp_port, true).await
}

/// [`rig`], with the profile's `reclaim` toggle as given.
async fn rig_reclaiming(name: &str, smtp_port: u16, reclaim: bool) -> Rig {
    rig_configured(name, smtp_port, reclaim, 100).await
}

/// [`rig`], with the `reclaim` toggle and the rule's `breaker_percent`
/// as given.
async fn rig_configured(name: &str, smtp_port: u16, reclaim: bool, breaker_percent: u32) -> Rig {
    let vendor = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_users_only(TOKEN, 20, now_ms())
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let answers_port = listener.local_addr().unwrap().port();
    let extra = format!(
        r#"[profiles.smartrecruiters.rule]
notify_days = 7
breaker_percent = {breaker_percent}

[notifications]
from = "Seatwarden <seatwarden@acme.example>"
answer_url = "http://127.0.0.1:{answers_port}/"
link_key = {{ file = "link.key" }}

[notifications.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
"#
    );
    let profile = Published::start(Setup {
        name,
        connector: "smartrecruiters",
        base_url: &vendor.url(),
        credential: TOKEN,
        reclaim,
        extra: &extra,
        secrets: &[("link.key", LINK_KEY)],
    })
    .await;
    let answers = tokio::spawn(seatwarden_app::answers::serve(
        profile.app.clone(),
        listener,
        std::future::pending(),
    ));
    Rig {
        vendor,
        profile,
        answers_port,
        _answers: answers,
    }
}

impl Rig {
    /// Stores a download in which the first `idle` users never logged in.
    async fn download(&self, idle: usize) {
        let now = now_ms();
        self.profile
            .store(&aged_accounts(&self.vendor.users(), idle, now), now)
            .await;
    }

    async fn candidates(&self) -> Vec<Candidate> {
        let record = self.profile.record().await;
        let mut all = self
            .profile
            .app
            .storage
            .candidates(record.id, true)
            .await
            .unwrap();
        all.sort_by(|a, b| a.principal.cmp(&b.principal));
        all
    }

    async fn state_of(&self, principal: &str) -> CandidateState {
        self.candidates()
            .await
            .into_iter()
            .find(|c| c.principal == principal)
            .unwrap()
            .state
    }

    /// One request to the answer pages: status, headers, body.
    async fn http(&self, method: &str, target: &str, form: Option<String>) -> Response {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", self.answers_port))
            .await
            .unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let mut request = http::Request::builder()
            .method(method)
            .uri(target)
            .header("host", format!("127.0.0.1:{}", self.answers_port));
        if form.is_some() {
            request = request.header("content-type", "application/x-www-form-urlencoded");
        }
        let request = request
            .body(Full::new(bytes::Bytes::from(form.unwrap_or_default())))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Response {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// Confirms the answer a link stands for, as the page's form does.
    async fn confirm(&self, link: &str) -> Response {
        let token = token(link);
        self.http("POST", "/answer", Some(format!("t={token}")))
            .await
    }
}

struct Response {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

/// The links in a notice: (keep, release).
fn links(mail: &Mail) -> (String, String) {
    let found: Vec<&str> = mail
        .body
        .split_whitespace()
        .filter(|w| w.starts_with("http://127.0.0.1:") && w.contains("/answer?t="))
        .collect();
    assert_eq!(found.len(), 2, "{}", mail.body);
    (found[0].to_string(), found[1].to_string())
}

fn token(link: &str) -> &str {
    link.split_once("?t=").unwrap().1
}

fn path(link: &str) -> String {
    format!("/answer?t={}", token(link))
}

fn mail_to<'a>(mails: &'a [Mail], to: &str) -> &'a Mail {
    mails
        .iter()
        .find(|m| m.header("to") == Some(to))
        .unwrap_or_else(|| panic!("no mail to {to}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_told_and_answer_keep_release_or_nothing() {
    let sink = SmtpSink::start().unwrap();
    let rig = rig("notify-answers", sink.port).await;
    rig.download(3).await;
    let refreshed = rig.profile.refresh().await;
    assert_eq!(refreshed.report.opened, 3);
    assert!(
        refreshed
            .summary
            .contains("3 users told (7 days to answer)"),
        "{}",
        refreshed.summary
    );

    // One notice per candidate, to the account's own address, with the date.
    let mails = sink.messages();
    assert_eq!(mails.len(), 3);
    let candidates = rig.candidates().await;
    for c in &candidates {
        assert_eq!(c.state, CandidateState::AwaitingUser);
        let reclaim_after = c.reclaim_after.unwrap();
        assert_eq!(reclaim_after - c.notified_at.unwrap(), 7 * DAY_MS);
        let mail = mail_to(&mails, &c.principal);
        let date = seatwarden_app::notify::day(reclaim_after);
        assert!(mail.header("subject").unwrap().contains(&date));
        assert!(mail.body.contains(&date), "{}", mail.body);
        assert!(
            mail.header("from")
                .unwrap()
                .contains("seatwarden@acme.example")
        );
        assert!(!mail.body.contains(LINK_KEY) && !mail.body.contains(TOKEN));
    }
    let (keeper, releaser, silent) = (
        &candidates[0].principal,
        &candidates[1].principal,
        &candidates[2].principal,
    );

    // Opening a link shows a confirmation and changes nothing: mail
    // scanners fetch links.
    let (keep, keep_release) = links(mail_to(&mails, keeper));
    let page = rig.http("GET", &path(&keep), None).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Keep my account") && page.body.contains("method=\"post\""));
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert!(
        page.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(rig.state_of(keeper).await, CandidateState::AwaitingUser);

    // Keep: the candidate waits for an administrator's approval.
    let kept = rig.confirm(&keep).await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert!(kept.body.contains("review"));
    assert_eq!(rig.state_of(keeper).await, CandidateState::AwaitingApproval);
    // The pair works once: neither link answers again.
    assert_eq!(rig.confirm(&keep).await.status, 410);
    assert_eq!(rig.confirm(&keep_release).await.status, 410);
    assert_eq!(
        rig.http("GET", &path(&keep_release), None).await.status,
        410
    );
    assert_eq!(rig.state_of(keeper).await, CandidateState::AwaitingApproval);

    // A forged link (a keep link turned into another candidate's, or a
    // broken signature) is refused and changes nothing.
    let (_, release) = links(mail_to(&mails, releaser));
    let mut forged = token(&release).to_string();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let refused = rig
        .http("POST", "/answer", Some(format!("t={forged}")))
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("not valid"));
    assert_eq!(rig.state_of(releaser).await, CandidateState::AwaitingUser);

    // Release: the seat may go.
    assert_eq!(rig.confirm(&release).await.status, 200);
    assert_eq!(
        rig.state_of(releaser).await,
        CandidateState::AwaitingRevocation
    );

    // Silence: after the reclamation date the candidate is approved by
    // timeout at the next refresh.
    let record = rig.profile.record().await;
    let rule = ReclamationRule {
        notify_days: Some(7),
        breaker_percent: 50,
        ..ReclamationRule::default()
    };
    let early = plan_reclaim(&rig.profile.app.storage, &record, &rule)
        .await
        .unwrap();
    assert_eq!(early.deactivate.len(), 1, "only the released one so far");
    let later = rig.profile.refresh_at(now_ms() + 8 * DAY_MS).await;
    assert_eq!(later.report.timed_out, 1, "{}", later.summary);
    assert_eq!(
        rig.state_of(silent).await,
        CandidateState::AwaitingRevocation
    );
    assert_eq!(sink.messages().len(), 3, "nobody is told twice");

    // The reclaim run takes the released and the silent ones, not the kept.
    let (_, outcome) = rig.profile.reclaim(&rule).await;
    let outcome = outcome.unwrap();
    let mut deactivated = outcome.deactivated.clone();
    deactivated.sort();
    assert_eq!(deactivated, vec![releaser.clone(), silent.clone()]);
    assert_eq!(rig.state_of(keeper).await, CandidateState::AwaitingApproval);

    // The user's answers are in the audit log under their name.
    let entries = rig
        .profile
        .app
        .storage
        .audit_entries(record.tenant)
        .await
        .unwrap();
    assert!(entries.iter().any(|e| {
        e.actor == format!("user:{keeper} (answer link)")
            && e.detail
                .contains("awaiting-user -> awaiting-approval (keep)")
    }));
    assert!(entries.iter().any(|e| e.detail.contains("(no-answer)")));
    assert!(matches!(
        rig.profile
            .app
            .storage
            .verify_audit(record.tenant)
            .await
            .unwrap(),
        AuditCheck::Intact { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_tells_users_and_reclaims_when_nobody_answers() {
    let sink = SmtpSink::start().unwrap();
    let rig = rig("notify-scheduled", sink.port).await;
    let day = |n: i64| Duration::from_millis((n * DAY_MS) as u64);
    // The whole schedule runs on this clock: sync, refresh, notices,
    // reclaim, undo. Nothing sleeps; time moves when the test says so.
    let start = now_ms() + DAY_MS;
    let clock = Arc::new(ManualClock::new(start));
    let app = Arc::new(rig.profile.app.on_clock(clock.clone()));
    let scheduler = Scheduler::new(app.clone(), SchedulerOptions::default());
    // The runs of the setup (validation) were on the wall clock.
    let setup_runs = {
        let record = rig.profile.record().await;
        let runs = app.storage.job_runs(record.id).await.unwrap();
        runs.iter().map(|r| r.id).max().unwrap_or(0)
    };
    let deactivations = |outcomes: &[seatwarden_app::scheduler::JobOutcome]| {
        outcomes
            .iter()
            .filter(|o| o.kind == JobKind::Deactivate)
            .map(|o| o.result.clone())
            .collect::<Vec<_>>()
    };

    // First sync: the vendor gives no creation dates, so everyone is in
    // grace from today.
    let first = scheduler.run_due().await.unwrap();
    assert!(deactivations(&first).is_empty());
    assert!(rig.candidates().await.is_empty());

    // Two months on, the daily run finds the never-used accounts and tells
    // their users; nothing is reclaimed before they could answer.
    clock.advance(day(62));
    let told = scheduler.run_due().await.unwrap();
    assert!(deactivations(&told).is_empty(), "{told:?}");
    let open = rig.candidates().await;
    assert!(!open.is_empty());
    assert!(open.iter().all(|c| c.state == CandidateState::AwaitingUser));
    assert_eq!(sink.messages().len(), open.len());
    assert!(rig.vendor.users().iter().all(|u| u.active));

    // Nobody answers: after the reclamation date the next run reclaims.
    clock.advance(day(8));
    let reclaimed = scheduler.run_due().await.unwrap();
    match &deactivations(&reclaimed)[..] {
        [JobResult::Succeeded(detail)] => assert!(
            detail.starts_with(&format!("deactivated {} approved candidates", open.len())),
            "{detail}"
        ),
        other => panic!("expected one reclaim, got {other:?}"),
    }
    let users = rig.vendor.users();
    assert_eq!(users.iter().filter(|u| !u.active).count(), open.len());
    assert!(
        rig.candidates()
            .await
            .iter()
            .all(|c| c.state == CandidateState::ClosedComplete)
    );
    // The next day there is nothing left to do.
    clock.advance(day(1));
    assert!(deactivations(&scheduler.run_due().await.unwrap()).is_empty());

    // One user asks for the seat back: the undo (the service the command
    // line calls) reactivates the account, dated by the same clock.
    let undone = open[0].id;
    let record = rig.profile.record().await;
    clock.advance(day(1));
    let reactivated_at = clock.now();
    let (_, before) =
        seatwarden_app::on_demand::reactivate(&app, record.tenant, "acme", "alice", undone)
            .await
            .unwrap();
    assert_eq!(before.state, CandidateState::ClosedComplete);
    let vendor_user = |id: &str| rig.vendor.users().into_iter().find(|u| u.id == id).unwrap();
    assert!(vendor_user(&open[0].account_id).active);
    let after = rig.candidates().await;
    let again = after.iter().find(|c| c.id == undone).unwrap();
    assert_eq!(again.reactivated_at, Some(reactivated_at));
    // Its grace period starts again: the next daily runs (a sync, a
    // refresh) leave the account alone although it is still unused.
    clock.advance(day(1));
    let next = scheduler.run_due().await.unwrap();
    assert!(deactivations(&next).is_empty(), "{next:?}");
    assert!(vendor_user(&open[0].account_id).active);
    assert!(
        rig.candidates()
            .await
            .iter()
            .all(|c| c.account_id != open[0].account_id || c.id == undone),
        "no new candidate for the reactivated account within its grace"
    );

    // Every time the services recorded is the manual clock's (the wall
    // clock is more than two months behind it): jobs, the lease the jobs
    // held, candidates and their history.
    let runs = app.storage.job_runs(record.id).await.unwrap();
    let scheduled: Vec<_> = runs.iter().filter(|r| r.id > setup_runs).collect();
    assert!(scheduled.len() >= 8, "{runs:?}");
    for run in scheduled {
        assert!(run.started_at >= start, "{run:?} started before the clock");
        assert!(run.finished_at.unwrap_or(start) >= start, "{run:?}");
        assert_ne!(run.status, "running", "{run:?}");
    }
    for c in rig.candidates().await {
        assert!(c.created_at >= start, "{c:?}");
        for at in [c.notified_at, c.deactivated_at, c.reactivated_at] {
            assert!(at.is_none_or(|at| at >= start), "{c:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_that_cannot_be_sent_keeps_the_candidate_ready_until_it_is() {
    // Nothing listens on this port yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rig = rig("notify-retry", port).await;
    rig.download(2).await;
    let first = rig.profile.refresh().await;
    assert!(
        first
            .summary
            .contains("2 notices not sent, tried again at the next refresh"),
        "{}",
        first.summary
    );
    assert!(
        rig.candidates()
            .await
            .iter()
            .all(|c| c.state == CandidateState::Ready && c.notified_at.is_none())
    );
    // Unnotified candidates are not reclaimed, whatever the time.
    let record = rig.profile.record().await;
    let rule = ReclamationRule {
        notify_days: Some(7),
        ..ReclamationRule::default()
    };
    let plan = plan_reclaim(&rig.profile.app.storage, &record, &rule)
        .await
        .unwrap();
    assert!(plan.deactivate.is_empty());

    // The relay comes up: the next refresh tells them.
    let sink = SmtpSink::start_on(port).unwrap();
    let second = rig.profile.refresh().await;
    assert!(
        second.summary.contains("2 users told"),
        "{}",
        second.summary
    );
    assert_eq!(sink.messages().len(), 2);
    assert!(
        rig.candidates()
            .await
            .iter()
            .all(|c| c.state == CandidateState::AwaitingUser)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_settings_are_checked() {
    let ws = Workspace::new("notify-config");
    ws.secret("k", "key");
    let base = format!(
        "[tenants.acme]\n{}",
        smartrecruiters_connection("c", "acme", "https://api.smartrecruiters.com", "k")
    );
    let cases = [
        (
            "[profiles.p]\ntenant = \"acme\"\nconnection = \"c\"\n[profiles.p.rule]\nnotify_days = 3\n",
            "profiles.p.rule.notify_days: users are to be told, but there is no [notifications] table",
        ),
        (
            "[notifications]\nfrom = \"a@b.example\"\nanswer_url = \"https://s.example\"\nlink_key = { env = \"K\" }\n[notifications.smtp]\nhost = \"smtp.example.com\"\nsecurity = \"none\"\n",
            "plaintext SMTP to smtp.example.com",
        ),
        (
            "[notifications]\nfrom = \"a@b.example\"\nanswer_url = \"http://s.example\"\nlink_key = { env = \"K\" }\n[notifications.smtp]\nhost = \"smtp.example.com\"\n",
            "notifications.answer_url",
        ),
        (
            "[notifications]\nfrom = \"a@b.example\"\nanswer_url = \"https://s.example\"\nlink_key = \"inline-secret\"\n[notifications.smtp]\nhost = \"smtp.example.com\"\n",
            "notifications.link_key: secrets are never written in the configuration",
        ),
        (
            "[notifications]\nfrom = \"a@b.example\"\nanswer_url = \"https://s.example\"\nlink_key = { env = \"K\" }\n[notifications.smtp]\nhost = \"smtp.example.com\"\nusername = \"u\"\n",
            "username and password go together",
        ),
    ];
    for (body, expected) in cases {
        ws.write_config(&format!("{base}{body}"));
        let err = seatwarden_config::Config::load(&ws.config_path())
            .err()
            .unwrap_or_else(|| panic!("accepted:\n{body}"));
        assert!(
            err.to_string().contains(expected),
            "{err}\nexpected: {expected}"
        );
    }
    // A key too short to sign with is refused when the host starts.
    ws.secret("short.key", "too-short");
    ws.write_config(&format!(
        "{base}[notifications]\nfrom = \"a@b.example\"\nanswer_url = \"https://s.example\"\nlink_key = {{ file = \"short.key\" }}\n[notifications.smtp]\nhost = \"smtp.example.com\"\n"
    ));
    let err = ws.app().await.err().unwrap();
    assert!(format!("{err:#}").contains("at least 32"), "{err:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_that_cannot_reclaim_tells_nobody() {
    let sink = SmtpSink::start().unwrap();
    let rig = rig_reclaiming("notify-report-only", sink.port, false).await;
    rig.download(2).await;
    let refreshed = rig.profile.refresh().await;
    assert_eq!(refreshed.report.opened, 2);
    assert!(
        refreshed
            .summary
            .contains("users not told: profile smartrecruiters is report only"),
        "{}",
        refreshed.summary
    );
    assert!(
        sink.messages().is_empty(),
        "a notice promising the impossible was sent"
    );
    assert!(
        rig.candidates()
            .await
            .iter()
            .all(|c| c.state == CandidateState::Ready && c.notified_at.is_none())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principal_with_a_display_name_gets_no_mail_through_the_relay() {
    let sink = SmtpSink::start().unwrap();
    let rig = rig("notify-bare-address", sink.port).await;
    let now = now_ms();
    let mut accounts = aged_accounts(&rig.vendor.users(), 2, now);
    let forged = "Urgent: sign in at http://evil.example <victim@example.com>";
    accounts[0].principal = forged.into();
    rig.profile.store(&accounts, now).await;
    let refreshed = rig.profile.refresh().await;
    assert!(
        refreshed.summary.contains("1 users told")
            && refreshed.summary.contains("1 notices not sent")
            && refreshed.summary.contains("is not a plain mail address"),
        "{}",
        refreshed.summary
    );
    let mails = sink.messages();
    assert_eq!(mails.len(), 1);
    assert!(
        mails.iter().all(|m| !m.body.contains("evil.example")
            && !m.header("to").unwrap_or_default().contains("evil")),
        "{mails:?}"
    );
}

/// The scheduled reclaim after notices is held to the circuit breaker the
/// configuration sets: with more unanswered candidates than its share, the
/// run is refused, the refusal is the deactivate job's outcome (in memory
/// and in `jobs`), and nobody is deactivated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_reclaim_is_refused_by_the_configured_breaker() {
    let sink = SmtpSink::start().unwrap();
    let rig = rig_configured("notify-breaker", sink.port, true, 15).await;
    let record = rig.profile.record().await;
    assert_eq!(
        rig.profile.app.config.profiles["smartrecruiters"]
            .rule
            .breaker_percent,
        15,
        "read from the file"
    );
    let day = |n: i64| Duration::from_millis((n * DAY_MS) as u64);
    let clock = Arc::new(ManualClock::new(now_ms() + DAY_MS));
    let scheduler = Scheduler::new(
        Arc::new(rig.profile.app.on_clock(clock.clone())),
        SchedulerOptions::default(),
    );
    scheduler.run_due().await.unwrap();
    clock.advance(day(62));
    scheduler.run_due().await.unwrap();
    let told = rig.candidates().await.len();
    assert!(told > 3, "more than 15% of 20 accounts: {told}");
    clock.advance(day(8));
    let outcomes = scheduler.run_due().await.unwrap();
    let refused: Vec<_> = outcomes
        .iter()
        .filter(|o| o.kind == JobKind::Deactivate)
        .map(|o| o.result.clone())
        .collect();
    let expected = format!(
        "circuit breaker: {told} candidates to deactivate of 20 active accounts is over this run's limit of 3 (15%)"
    );
    match &refused[..] {
        [JobResult::Failed { kind, message }] => {
            assert_eq!(kind, "refused");
            assert!(message.contains(&expected), "{message}");
        }
        other => panic!("expected one refused reclaim, got {other:?}"),
    }
    assert!(
        rig.vendor.users().iter().all(|u| u.active),
        "nobody deactivated"
    );
    assert!(rig.vendor.server.writes().is_empty());
    let failed = rig
        .profile
        .app
        .storage
        .tenant_job_runs(record.tenant, Some(record.id), true, 10)
        .await
        .unwrap();
    assert!(
        failed.iter().any(|r| r.kind == "deactivate"
            && r.error_kind.as_deref() == Some("refused")
            && r.detail.as_deref().is_some_and(|d| d.contains(&expected))),
        "{failed:?}"
    );
}
