//! Reclaiming against the SmartRecruiters fake: a dry run writes nothing,
//! `apply` deactivates exactly the ready candidates and records each one,
//! a failed deactivation needs attention, and the run refuses outright
//! past the circuit breaker, after an empty download, or on a report-only
//! profile. Accounts are stored with chosen ages (the vendor gives none),
//! through the same storage calls a sync uses.

use seatwarden::Account;
use seatwarden::app::App;
use seatwarden::profiles::Profiles;
use seatwarden::reclamation::{execute_reclaim, plan_reclaim, refresh};
use seatwarden::rules::{DAY_MS, ReclamationRule};
use seatwarden::storage::{AuditCheck, CandidateState, ProfileRecord, Stream, Trigger};
use seatwarden::sync::now_ms;
use seatwarden_tests::smartrecruiters_fake::{
    Fault, SmartRecruitersFake, SrTenant, seed_users_only,
};
use seatwarden_tests::workspace::{Workspace, smartrecruiters_connection};
use std::sync::Arc;

const TOKEN: &str = "DCRA1-reclaim";

struct Rig {
    vendor: SmartRecruitersFake,
    app: Arc<App>,
    _ws: Workspace,
}

async fn rig(name: &str, reclaim: bool) -> Rig {
    let vendor = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_users_only(TOKEN, 20, now_ms())
    })
    .await;
    let ws = Workspace::new(name);
    ws.secret("sr.key", TOKEN);
    ws.write_config(&format!(
        "[tenants.acme]\n\n{}\n[profiles.sr]\ntenant = \"acme\"\nconnection = \"sr\"\nreclaim = {reclaim}\n",
        smartrecruiters_connection("sr", "acme", &vendor.url(), "sr.key")
    ));
    let app = ws.app().await.unwrap();
    {
        let (tenant_name, tenant) = app.tenant(Some("acme")).await.unwrap();
        let p = Profiles {
            app: &app,
            tenant,
            tenant_name,
            actor: "test".into(),
        };
        p.apply().await.unwrap();
        assert!(p.validate("sr").await.unwrap().passed);
        p.publish("sr").await.unwrap();
    }
    Rig {
        vendor,
        app,
        _ws: ws,
    }
}

impl Rig {
    async fn record(&self) -> ProfileRecord {
        let (tenant_name, tenant) = self.app.tenant(Some("acme")).await.unwrap();
        self.app
            .find_profile(tenant, &tenant_name, "sr")
            .await
            .unwrap()
    }

    /// Stores a complete download of the vendor's users in which the first
    /// `idle` never logged in, and everyone is 400 days old.
    async fn download(&self, idle: usize) {
        let now = now_ms();
        let accounts: Vec<Account> = self
            .vendor
            .users()
            .iter()
            .enumerate()
            .map(|(i, u)| Account {
                id: u.id.clone(),
                principal: u.email.clone(),
                display_name: None,
                active: true,
                subscriptions: vec![u.role.clone()],
                created_at: Some(now - 400 * DAY_MS),
                last_active_at: (i >= idle).then_some(now - 5 * DAY_MS),
                attributes: vec![],
            })
            .collect();
        self.store(&accounts, now).await;
    }

    async fn store(&self, accounts: &[Account], now: i64) {
        let record = self.record().await;
        let storage = &self.app.storage;
        let run = storage
            .begin_or_resume(record.id, Stream::Users, None, Trigger::Manual, now)
            .await
            .unwrap();
        storage
            .upsert_accounts_page(record.id, run.run_id, accounts, None, now)
            .await
            .unwrap();
        storage
            .finish_users_run(record.id, run.run_id, now)
            .await
            .unwrap();
    }

    async fn refresh(&self) {
        let record = self.record().await;
        refresh(&self.app, &record, Trigger::Manual, "test", now_ms())
            .await
            .unwrap();
    }

    fn writes(&self) -> usize {
        self.vendor
            .server
            .requests()
            .iter()
            .filter(|r| r.method != http::Method::GET)
            .count()
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

    let (_, outcome) = attempt(&rig, &record, ReclamationRule::default()).await;
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
    let (_, outcome) = attempt(&rig, &record, ReclamationRule::default()).await;
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
    let (plan, result) = attempt(&rig, &record, ReclamationRule::default()).await;
    let refusal = plan.refused.unwrap();
    assert!(
        refusal.contains("circuit breaker: 5 ready candidates of 20"),
        "{refusal}"
    );
    assert!(format!("{:#}", result.unwrap_err()).contains("circuit breaker"));
    // A count limit binds even when the share would allow it.
    let (plan, _) = attempt(
        &rig,
        &record,
        ReclamationRule {
            breaker_percent: 50,
            breaker_max: Some(3),
            ..ReclamationRule::default()
        },
    )
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
    let (plan, _) = attempt(
        &rig,
        &record,
        ReclamationRule {
            breaker_percent: 100,
            ..ReclamationRule::default()
        },
    )
    .await;
    assert!(plan.refused.unwrap().contains("was empty"));

    assert_eq!(rig.writes(), 0, "no refused run wrote to the vendor");
    let refusals = rig
        .app
        .storage
        .audit_entries(record.tenant)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "reclaim.refused")
        .count();
    assert_eq!(refusals, 3, "each refusal is recorded");

    // A report-only profile never reclaims.
    let report_only = rig_report_only().await;
    assert_eq!(report_only, Some(true));
}

/// Plans and executes one reclaim run.
async fn attempt(
    rig: &Rig,
    record: &ProfileRecord,
    rule: ReclamationRule,
) -> (
    seatwarden::reclamation::ReclaimPlan,
    anyhow::Result<seatwarden::reclamation::ReclaimOutcome>,
) {
    let plan = plan_reclaim(&rig.app.storage, record, &rule).await.unwrap();
    let ctx = rig
        .app
        .open_profile(record.tenant, &record.tenant_name, "sr")
        .await
        .unwrap();
    let result = execute_reclaim(
        &rig.app.storage,
        record,
        &ctx.connected.connector,
        &ctx.connected.connection,
        &plan,
        "test",
    )
    .await;
    (plan, result)
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
