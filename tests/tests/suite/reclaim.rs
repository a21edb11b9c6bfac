//! Reclaiming against the SmartRecruiters fake: a dry run writes nothing,
//! `apply` deactivates exactly the ready candidates and records each one,
//! a failed deactivation needs attention, and the run refuses outright
//! past the circuit breaker, after an empty download, or on a report-only
//! profile. Accounts are stored with chosen ages (the vendor gives none),
//! through the same storage calls a sync uses.

use seatwarden_app::reclamation::plan_reclaim;
use seatwarden_domain::rules::ReclamationRule;
use seatwarden_store::{AuditCheck, CandidateState};
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::published::{Published, Setup};
use seatwarden_tests::smartrecruiters_fake::{
    Fault, SmartRecruitersFake, SrTenant, aged_accounts, seed_users_only,
};
use std::ops::Deref;

const TOKEN: &str = "DCRA1-reclaim";

struct Rig {
    vendor: SmartRecruitersFake,
    profile: Published,
}

impl Deref for Rig {
    type Target = Published;
    fn deref(&self) -> &Published {
        &self.profile
    }
}

async fn rig(name: &str, reclaim: bool) -> Rig {
    rig_with(name, reclaim, |_| String::new()).await
}

/// A rig whose configuration ends with `extra(vendor)`.
async fn rig_with(
    name: &str,
    reclaim: bool,
    extra: impl FnOnce(&SmartRecruitersFake) -> String,
) -> Rig {
    let vendor = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_users_only(TOKEN, 20, now_ms())
    })
    .await;
    let profile = Published::start(Setup {
        name,
        connector: "smartrecruiters",
        base_url: &vendor.url(),
        credential: TOKEN,
        reclaim,
        extra: &extra(&vendor),
        secrets: &[],
    })
    .await;
    Rig { vendor, profile }
}

impl Rig {
    /// Stores a complete download in which the first `idle` users never
    /// logged in.
    async fn download(&self, idle: usize) {
        let now = now_ms();
        self.store(&aged_accounts(&self.vendor.users(), idle, now), now)
            .await;
    }

    async fn refresh(&self) {
        self.profile.refresh().await;
    }

    /// The audit entries whose action starts with `prefix`: (action, actor).
    async fn audited(&self, prefix: &str) -> Vec<(String, String)> {
        let record = self.record().await;
        let entries = self.app.storage.audit_entries(record.tenant).await.unwrap();
        entries
            .into_iter()
            .filter(|e| e.action.starts_with(prefix))
            .map(|e| (e.action, e.actor))
            .collect()
    }

    fn writes(&self) -> usize {
        self.vendor.server.writes().len()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_writes_nothing_and_apply_deactivates_each_candidate_once() {
    let rig = rig("reclaim-apply", true).await;
    rig.download(2).await;
    rig.refresh().await;
    let record = rig.record().await;
    let plan = plan_reclaim(&rig.app.storage, &record, &ReclamationRule::default())
        .await
        .unwrap();
    assert_eq!(plan.refused, None);
    assert_eq!(
        (plan.deactivate.len(), plan.active_accounts, plan.limit),
        (2, 20, 2)
    );
    assert_eq!(rig.writes(), 0, "planning is a dry run");

    let (_, outcome) = rig.reclaim(&ReclamationRule::default()).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.deactivated.len(), 2);
    assert!(outcome.failed.is_empty());
    let users = rig.vendor.users();
    assert!(!users[0].active && !users[1].active);
    assert!(
        users[2..].iter().all(|u| u.active),
        "nobody else was touched"
    );
    assert_eq!(rig.writes(), 2);

    let all = rig.app.storage.candidates(record.id, true).await.unwrap();
    assert!(
        all.iter()
            .all(|c| c.state == CandidateState::ClosedComplete)
    );
    let stored = rig.app.storage.subscriptions(record.id).await.unwrap();
    assert_eq!(stored.iter().filter(|s| !s.active).count(), 2);
    let runs = rig.app.storage.job_runs(record.id).await.unwrap();
    assert_eq!(
        runs.iter()
            .filter(|r| r.kind == "deactivate" && r.status == "succeeded")
            .count(),
        2
    );
    // Nothing is left to reclaim: a second run deactivates nobody.
    let again = plan_reclaim(&rig.app.storage, &record, &ReclamationRule::default())
        .await
        .unwrap();
    assert!(again.deactivate.is_empty());
    assert!(matches!(
        rig.app.storage.verify_audit(record.tenant).await.unwrap(),
        AuditCheck::Intact { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_deactivation_needs_attention_and_stays_open() {
    let rig = rig("reclaim-fail", true).await;
    rig.download(2).await;
    rig.refresh().await;
    let record = rig.record().await;
    rig.vendor.inject([Fault::Status(403)]);
    let (_, outcome) = rig.reclaim(&ReclamationRule::default()).await;
    let outcome = outcome.unwrap();
    assert_eq!((outcome.deactivated.len(), outcome.failed.len()), (1, 1));
    let open = rig.app.storage.candidates(record.id, false).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].state, CandidateState::AttentionRequired);
    assert!(
        open[0]
            .close_reason
            .as_deref()
            .unwrap()
            .contains("deactivation failed")
    );
    let failed = rig
        .app
        .storage
        .tenant_job_runs(record.tenant, Some(record.id), true, 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].error_kind.as_deref(), Some("forbidden"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_an_empty_download_and_report_only_each_refuse() {
    let rig = rig("reclaim-refuse", true).await;
    rig.download(5).await;
    rig.refresh().await;
    let record = rig.record().await;
    // 5 of 20 is over 10% (2).
    let (plan, result) = rig.reclaim(&ReclamationRule::default()).await;
    let refusal = plan.refused.unwrap();
    assert!(
        refusal.contains("circuit breaker: 5 candidates to deactivate of 20"),
        "{refusal}"
    );
    assert!(format!("{:#}", result.unwrap_err()).contains("circuit breaker"));
    // A count limit binds even when the share would allow it.
    let (plan, _) = rig
        .reclaim(&ReclamationRule {
            breaker_percent: 50,
            breaker_max: Some(3),
            ..ReclamationRule::default()
        })
        .await;
    assert_eq!(plan.limit, 3);
    assert!(plan.refused.is_some());
    // (Planned only: executing this one would deactivate five accounts.)
    let plan = plan_reclaim(
        &rig.app.storage,
        &record,
        &ReclamationRule {
            breaker_percent: 50,
            ..ReclamationRule::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(plan.refused, None, "5 of 20 is within 50%");

    // An empty download refuses, whatever the candidates.
    rig.store(&[], now_ms()).await;
    let (plan, _) = rig
        .reclaim(&ReclamationRule {
            breaker_percent: 100,
            ..ReclamationRule::default()
        })
        .await;
    assert!(plan.refused.unwrap().contains("was empty"));

    assert_eq!(rig.writes(), 0, "no refused run wrote to the vendor");
    let refusals = rig.audited("reclaim.refused").await.len();
    assert_eq!(refusals, 3, "each refusal is recorded");

    // A report-only profile never reclaims.
    let report_only = rig_report_only().await;
    assert_eq!(report_only, Some(true));
}

async fn rig_report_only() -> Option<bool> {
    let rig = rig("reclaim-report-only", false).await;
    rig.download(1).await;
    rig.refresh().await;
    let record = rig.record().await;
    let plan = plan_reclaim(&rig.app.storage, &record, &ReclamationRule::default())
        .await
        .unwrap();
    Some(plan.refused?.contains("report only") && rig.writes() == 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_move_candidates_and_only_approved_ones_are_reclaimed() {
    let rig = rig("reclaim-decisions", true).await;
    rig.download(2).await;
    rig.refresh().await;
    let record = rig.record().await;
    // A rule that tells users first: ready candidates wait for an answer.
    let notifying = ReclamationRule {
        notify_days: Some(7),
        ..ReclamationRule::default()
    };
    let plan = plan_reclaim(&rig.app.storage, &record, &notifying)
        .await
        .unwrap();
    assert!(plan.deactivate.is_empty(), "nobody was asked yet");

    let open = rig.app.storage.candidates(record.id, false).await.unwrap();
    let (kept, approved) = (&open[0], &open[1]);
    let decide = |c: &seatwarden_store::Candidate, decision| {
        let record = record.clone();
        let c = c.clone();
        let storage = rig.app.storage.clone();
        async move {
            let fresh = storage
                .find_candidate(record.tenant, c.id)
                .await
                .unwrap()
                .unwrap()
                .1;
            storage
                .decide_candidate(
                    seatwarden_store::RefreshScope::of(&record, "alice", now_ms()),
                    &fresh,
                    decision,
                    "alice chose it",
                )
                .await
        }
    };
    use seatwarden_domain::candidate_state::Decision;
    // The user keeps the seat; the manager turns the reclamation down.
    assert_eq!(
        decide(kept, Decision::Keep).await.unwrap(),
        CandidateState::AwaitingApproval
    );
    let early = decide(kept, Decision::Release).await.unwrap_err();
    assert!(
        format!("{early:#}").contains("cannot take `release`"),
        "{early:#}"
    );
    assert_eq!(
        decide(kept, Decision::Reject).await.unwrap(),
        CandidateState::ClosedSkipped
    );
    assert!(decide(kept, Decision::Approve).await.is_err(), "closed");
    // The other is approved and the next run reclaims exactly that one.
    assert_eq!(
        decide(approved, Decision::Approve).await.unwrap(),
        CandidateState::AwaitingRevocation
    );
    let (plan, outcome) = rig.reclaim(&notifying).await;
    assert_eq!(plan.deactivate.len(), 1);
    assert_eq!(plan.deactivate[0].id, approved.id);
    assert_eq!(
        outcome.unwrap().deactivated,
        vec![approved.principal.clone()]
    );
    assert_eq!(rig.writes(), 1);
    // Every decision is in the candidate's history, by whom.
    let history = rig
        .app
        .storage
        .candidate_history(record.tenant, kept.id)
        .await
        .unwrap();
    let actions: Vec<_> = history.iter().map(|e| e.detail.clone()).collect();
    assert_eq!(history.len(), 3, "{actions:#?}");
    assert!(actions[1].contains("ready -> awaiting-approval (keep)"));
    assert!(actions[2].contains("awaiting-approval -> closed-skipped (reject)"));
    assert!(history[1..].iter().all(|e| e.actor == "alice"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_skips_reclaims_and_undoes() {
    let rig = rig("reclaim-cli", true).await;
    rig.download(2).await;
    rig.refresh().await;
    let record = rig.record().await;
    let open = rig.app.storage.candidates(record.id, false).await.unwrap();
    let (skipped, reclaimed) = (open[0].id.to_string(), open[1].id.to_string());
    let state = |id: &str| {
        let app = rig.app.clone();
        let id: i64 = id.parse().unwrap();
        async move {
            app.storage
                .find_candidate(record.tenant, id)
                .await
                .unwrap()
                .unwrap()
                .1
        }
    };

    rig.cli(&[
        "candidates",
        "skip",
        &skipped,
        "--reason",
        "on parental leave",
    ])
    .await
    .unwrap();
    let c = state(&skipped).await;
    assert_eq!(c.state, CandidateState::ClosedSkipped);
    assert!(c.close_reason.unwrap().contains("on parental leave"));

    // A dry run writes nothing; --apply deactivates the one left.
    rig.cli(&["candidates", "reclaim", "--profile", "smartrecruiters"])
        .await
        .unwrap();
    assert_eq!(rig.writes(), 0);
    rig.cli(&[
        "candidates",
        "reclaim",
        "--profile",
        "smartrecruiters",
        "--apply",
    ])
    .await
    .unwrap();
    assert_eq!(rig.writes(), 1);
    assert_eq!(
        state(&reclaimed).await.state,
        CandidateState::ClosedComplete
    );
    let principal = state(&reclaimed).await.principal;
    let user = |users: Vec<seatwarden_tests::smartrecruiters_fake::SrUser>| {
        users.into_iter().find(|u| u.email == principal).unwrap()
    };
    assert!(!user(rig.vendor.users()).active);

    // Undo through the command line.
    rig.cli(&["reactivate", &reclaimed]).await.unwrap();
    assert!(user(rig.vendor.users()).active);
    let c = state(&reclaimed).await;
    assert!(c.reactivated_at.is_some());

    // `candidates show` prints the candidate's evidence, dates and whole
    // history; --json the same record.
    let history = rig
        .app
        .storage
        .candidate_history(record.tenant, c.id)
        .await
        .unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["candidate.open", "candidate.close", "candidate.undo"]
    );
    let shown = rig.printed(&["candidates", "show", &reclaimed]);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(
        lines[..4],
        [
            format!("candidate {reclaimed} in profile smartrecruiters").as_str(),
            &format!("account:        {} ({})", c.principal, c.account_id),
            "state:          closed-complete",
            "why:            never-logged-in for 400 days (rule v1, threshold 60 days)",
        ],
        "{shown}"
    );
    assert_eq!(lines[4], "last active:    never", "{shown}");
    for (label, shown_at) in [
        ("user notified:  ", "-"),
        ("deactivated:    ", "20"),
        ("reactivated:    ", "20"),
    ] {
        let line = lines.iter().find(|l| l.starts_with(label)).unwrap();
        assert!(line[label.len()..].starts_with(shown_at), "{shown}");
    }
    let history_at = lines.iter().position(|l| *l == "history:").unwrap();
    assert_eq!(lines.len(), history_at + 1 + history.len(), "{shown}");
    for (line, entry) in lines[history_at + 1..].iter().zip(&history) {
        assert!(
            line.starts_with(&format!("  #{} ", entry.id))
                && line.contains(&format!(" {}: {}", entry.action, entry.detail)),
            "{line}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&rig.printed(&["candidates", "show", &reclaimed, "--json"])).unwrap();
    assert_eq!(json["profile"], "smartrecruiters");
    assert_eq!(json["candidate"]["id"], c.id);
    assert_eq!(json["candidate"]["state"], "closed-complete");
    assert_eq!(json["history"].as_array().unwrap().len(), history.len());

    // Decisions on closed or unknown candidates are refused with a reason.
    let closed = rig
        .cli(&["candidates", "approve", &skipped])
        .await
        .unwrap_err();
    assert!(format!("{closed:#}").contains("it is closed"), "{closed:#}");
    let unknown = rig
        .cli(&["candidates", "show", "999999"])
        .await
        .unwrap_err();
    assert!(
        format!("{unknown:#}").contains("tenant acme has no removal candidate 999999"),
        "{unknown:#}"
    );
    let twice = rig.cli(&["reactivate", &reclaimed]).await.unwrap_err();
    assert!(
        format!("{twice:#}").contains("already reactivated"),
        "{twice:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exclusions_take_effect_when_applied_and_are_switched_off_not_forgotten() {
    use seatwarden_app::profiles::{Applied, Profiles};
    use seatwarden_domain::rules::Exclusion;

    let exclusion = |vendor: &SmartRecruitersFake| {
        format!(
            "[[exclusions]]\ntenant = \"acme\"\nprincipal = \"{}\"\nreason = \"on parental leave\"\n",
            vendor.users()[0].email
        )
    };
    let rig = rig_with("reclaim-exclusions", true, exclusion).await;
    let spared = rig.vendor.users()[0].email.clone();
    let record = rig.record().await;
    let stored = rig.app.storage.exclusions(record.tenant).await.unwrap();
    assert_eq!(
        stored,
        vec![Exclusion::User {
            principal: spared.clone(),
            active: true,
            reason: "on parental leave".into(),
        }]
    );

    // Three never logged in; the excluded one is spared, and the report
    // says by which exclusion.
    rig.download(3).await;
    let first = rig.profile.refresh().await;
    assert_eq!(first.report.opened, 2);
    assert_eq!(first.report.excluded.values().sum::<usize>(), 1);
    assert!(
        first.report.excluded.keys().any(|k| k.contains(&spared)),
        "{:?}",
        first.report.excluded
    );

    // Applying the same file again changes nothing.
    fn applies(
        app: &seatwarden_app::wiring::App,
        tenant: seatwarden_store::TenantId,
    ) -> Profiles<'_> {
        Profiles {
            app,
            tenant,
            tenant_name: "acme".into(),
            actor: "ops@acme.com".into(),
        }
    }
    let again = applies(&rig.app, record.tenant).apply().await.unwrap();
    assert!(
        !again.iter().any(|a| matches!(a, Applied::TenantSetting(_))),
        "{again:?}"
    );

    // The exclusion leaves the file: the next apply switches it off (the
    // row stays, with the audit entry saying why), and the next refresh,
    // which reads the database and not the file, makes a candidate.
    let text = std::fs::read_to_string(rig.ws.config_path()).unwrap();
    std::fs::write(
        rig.ws.config_path(),
        text.replace(&exclusion(&rig.vendor), ""),
    )
    .unwrap();
    let edited = rig.ws.app().await.unwrap();
    let removed = applies(&edited, record.tenant).apply().await.unwrap();
    let line = format!("user exclusion {spared}: switched off (no longer in the configuration)");
    assert!(
        removed
            .iter()
            .any(|a| matches!(a, Applied::TenantSetting(l) if *l == line)),
        "{removed:?}"
    );
    let stored = rig.app.storage.exclusions(record.tenant).await.unwrap();
    assert!(matches!(
        &stored[..],
        [Exclusion::User { active: false, .. }]
    ));

    rig.cli(&["exclusions"]).await.unwrap();
    let second = rig.profile.refresh().await;
    assert_eq!(second.report.opened, 1, "{:?}", second.report);
    assert!(second.report.excluded.is_empty());

    assert_eq!(
        rig.audited("exclusion.").await,
        vec![
            ("exclusion.create".into(), "test".into()),
            ("exclusion.update".into(), "ops@acme.com".into()),
        ]
    );
    assert!(matches!(
        rig.app.storage.verify_audit(record.tenant).await.unwrap(),
        AuditCheck::Intact { .. }
    ));
}

/// Reclaiming refuses while the latest subscriptions download is missing,
/// failed, interrupted, or was cut off by a crash (a partial list would
/// make present accounts look stale); each refusal is the job's recorded
/// outcome and reaches no vendor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reclaim_refuses_after_a_missing_failed_or_interrupted_download() {
    use seatwarden_store::{RunOutcome, Stream, Trigger};
    let rig = rig("reclaim-downloads", true).await;
    let record = rig.record().await;
    let storage = &rig.app.storage;
    let rule = ReclamationRule {
        breaker_percent: 100,
        ..ReclamationRule::default()
    };
    let refused = |expected: String| {
        let rig = &rig;
        let rule = &rule;
        async move {
            let (plan, result) = rig.reclaim(rule).await;
            let refusal = plan.refused.expect("refused");
            assert!(refusal.contains(&expected), "{refusal}");
            assert!(result.is_err());
            let runs = rig.app.storage.job_runs(record.id).await.unwrap();
            let job = runs.iter().find(|r| r.kind == "deactivate").unwrap();
            assert_eq!(
                (job.status.as_str(), job.error_kind.as_deref()),
                ("failed", Some("refused"))
            );
            assert!(
                job.detail.as_deref().unwrap().contains(&expected),
                "{job:?}"
            );
        }
    };
    refused("no subscriptions have been downloaded yet".into()).await;

    // A good download opens candidates; then downloads go wrong.
    rig.download(2).await;
    rig.refresh().await;
    let attempt = |outcome: Option<RunOutcome>| async move {
        let run = storage
            .begin_or_resume(record.id, Stream::Users, None, Trigger::Manual, now_ms())
            .await
            .unwrap();
        if let Some(outcome) = outcome {
            storage
                .fail_run(
                    record.id,
                    run.run_id,
                    now_ms(),
                    outcome,
                    Some("unavailable"),
                    "HTTP 503",
                )
                .await
                .unwrap();
        }
        run.run_id
    };
    let failed = attempt(Some(RunOutcome::Failed)).await;
    refused(format!(
        "the latest subscriptions download (job {failed}) failed"
    ))
    .await;
    let interrupted = attempt(Some(RunOutcome::Interrupted)).await;
    refused(format!(
        "the latest subscriptions download (job {interrupted}) interrupted"
    ))
    .await;
    // A download whose process died mid-run: its row still says running,
    // but no live lease holds it.
    let killed = attempt(None).await;
    refused(format!(
        "the latest subscriptions download (job {killed}) interrupted"
    ))
    .await;

    assert_eq!(rig.writes(), 0, "no refused run reached the vendor");
    assert_eq!(rig.audited("reclaim.refused").await.len(), 4);
    // A complete download lifts the refusal.
    rig.download(2).await;
    rig.refresh().await;
    let (plan, result) = rig.reclaim(&rule).await;
    assert_eq!(plan.refused, None);
    assert_eq!(result.unwrap().deactivated.len(), 2);
}
