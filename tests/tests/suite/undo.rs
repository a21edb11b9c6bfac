//! Undoing a reclamation against the Smartsheet fake: `reactivate-user`
//! restores the account, the audit log links the undo to the deactivation,
//! the account gets a fresh grace period, a second undo is refused, and
//! past Smartsheet's 30-day window the vendor's refusal is recorded and
//! shown. Accounts are stored with chosen ages through the calls a sync
//! uses.

use seatwarden_app::reclamation::undo_reclaim;
use seatwarden_domain::rules::{DAY_MS, ReclamationRule};
use seatwarden_store::{AuditCheck, CandidateState};
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::published::Published;
use seatwarden_tests::smartsheet_fake::{SmartsheetFake, SsTenant, aged_accounts, seed_tenant};

const TOKEN: &str = "ll352u9jujauoqz4gstvsae05";

struct Rig {
    vendor: SmartsheetFake,
    profile: Published,
}

async fn rig(name: &str) -> Rig {
    let vendor = SmartsheetFake::start(SsTenant {
        requests_per_minute: None,
        ..seed_tenant(TOKEN, 20, now_ms(), false)
    })
    .await;
    let profile = Published::plain(name, "smartsheet", &vendor.base_url(), TOKEN).await;
    Rig { vendor, profile }
}

impl Rig {
    /// Stores the vendor's users as a complete download: users 1 and 2
    /// never logged in, everyone is 400 days old.
    async fn download(&self) {
        let now = now_ms();
        let accounts = aged_accounts(&self.vendor.users(), 1..=2, now);
        self.profile.store(&accounts, now).await;
    }

    async fn refresh(&self) -> usize {
        self.profile.refresh().await.report.opened
    }

    async fn undo(&self, id: i64) -> anyhow::Result<i64> {
        let tenant = self.profile.record().await.tenant;
        let (_, candidate) = self
            .profile
            .app
            .storage
            .find_candidate(tenant, id)
            .await
            .unwrap()
            .unwrap();
        undo_as_alice(&self.profile, &candidate).await
    }
}

/// Undoes `candidate`'s reclamation through the profile's connector, as
/// alice.
async fn undo_as_alice(
    profile: &Published,
    candidate: &seatwarden_store::Candidate,
) -> anyhow::Result<i64> {
    let ctx = profile.context().await;
    undo_reclaim(
        &profile.app,
        &ctx.record,
        &ctx.connected.connector,
        &ctx.connected.connection,
        candidate,
        "alice",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reclamation_is_undone_within_the_window_and_refused_after_it() {
    let rig = rig("undo").await;
    rig.download().await;
    assert_eq!(rig.refresh().await, 2);
    let record = rig.profile.record().await;
    let (_, outcome) = rig.profile.reclaim(&ReclamationRule::default()).await;
    let outcome = outcome.unwrap();
    assert_eq!(outcome.deactivated.len(), 2);
    let reclaimed = rig
        .profile
        .app
        .storage
        .candidates(record.id, true)
        .await
        .unwrap();
    let (first, second) = (&reclaimed[1], &reclaimed[0]);
    assert!(
        reclaimed
            .iter()
            .all(|c| c.state == CandidateState::ClosedComplete
                && c.deactivated_at.is_some()
                && c.reclaim_audit_id.is_some())
    );
    let user = |id: &str| {
        rig.vendor
            .users()
            .into_iter()
            .find(|u| u.id.to_string() == id)
            .unwrap()
    };
    assert_eq!(user(&first.account_id).status, "DEACTIVATED");

    // Undo within the window: the vendor has the account back...
    rig.undo(first.id).await.unwrap();
    assert_eq!(user(&first.account_id).status, "ACTIVE");
    let (_, undone) = rig
        .profile
        .app
        .storage
        .find_candidate(record.tenant, first.id)
        .await
        .unwrap()
        .unwrap();
    assert!(undone.reactivated_at.is_some());
    assert_eq!(undone.state, CandidateState::ClosedComplete);
    // ...the audit entry names the deactivation it reverses...
    let history = rig
        .profile
        .app
        .storage
        .candidate_history(record.tenant, first.id)
        .await
        .unwrap();
    let undo_entry = history
        .iter()
        .find(|e| e.action == "candidate.undo")
        .expect("an undo entry");
    assert_eq!(undo_entry.actor, "alice");
    assert!(
        undo_entry
            .detail
            .contains(&format!("audit entry #{}", first.reclaim_audit_id.unwrap())),
        "{}",
        undo_entry.detail
    );
    let deactivation = history
        .iter()
        .find(|e| Some(e.id) == first.reclaim_audit_id)
        .expect("the linked entry is in the candidate's history");
    assert!(deactivation.detail.contains("closed-complete"));
    // ...the stored account is active with a fresh grace period, so the
    // next refresh does not make it a candidate again.
    let stored = rig
        .profile
        .app
        .storage
        .find_subscription(record.id, &first.account_id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.active && stored.reactivated_at.is_some());
    assert_eq!(rig.refresh().await, 0);

    // A second undo of the same reclamation is refused, and writes nothing.
    let writes = rig.vendor.server.requests().len();
    let again = rig.undo(first.id).await.unwrap_err();
    assert!(
        format!("{again:#}").contains("already reactivated"),
        "{again:#}"
    );
    assert_eq!(rig.vendor.server.requests().len(), writes);

    // Past Smartsheet's 30 days, the vendor refuses; the refusal is shown,
    // recorded, and the candidate stays reclaimed.
    rig.vendor.edit(|t| t.now_ms += 31 * DAY_MS);
    let late = format!("{:#}", rig.undo(second.id).await.unwrap_err());
    assert!(late.contains("30 days"), "{late}");
    assert_eq!(user(&second.account_id).status, "DEACTIVATED");
    let history = rig
        .profile
        .app
        .storage
        .candidate_history(record.tenant, second.id)
        .await
        .unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.action == "candidate.undo-failed" && e.detail.contains("30 days"))
    );
    let runs = rig.profile.app.storage.job_runs(record.id).await.unwrap();
    let reactivations: Vec<_> = runs.iter().filter(|r| r.kind == "reactivate").collect();
    assert_eq!(reactivations.len(), 2);
    assert_eq!(reactivations[0].status, "failed");
    assert_eq!(reactivations[1].status, "succeeded");
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
async fn only_a_reclaimed_candidate_can_be_undone() {
    let rig = rig("undo-open").await;
    rig.download().await;
    rig.refresh().await;
    let record = rig.profile.record().await;
    let open = rig
        .profile
        .app
        .storage
        .candidates(record.id, false)
        .await
        .unwrap();
    let err = format!("{:#}", rig.undo(open[0].id).await.unwrap_err());
    assert!(err.contains("nothing to undo"), "{err}");
    assert!(rig.vendor.server.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactivation_is_refused_before_any_call_when_the_connector_cannot_reactivate() {
    use seatwarden_tests::fixtures::guest;
    use seatwarden_tests::published::TENANT;
    use seatwarden_tests::server::{Reply, TestServer};
    use seatwarden_tests::workspace::Workspace;
    // The hostile fixture deactivates (DELETE to its base URL) but does
    // not declare reactivate.
    let vendor = TestServer::start(|request| match request.method.as_str() {
        "DELETE" => Reply::Respond {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
        },
        _ => Reply::text(200, "ok"),
    })
    .await;
    let ws = Workspace::new("undo-incapable");
    ws.secret("vendor.key", TOKEN);
    ws.write_config(&format!(
        "[tenants.{TENANT}]\n\n[connections.hostile]\ntenant = \"{TENANT}\"\nconnector = \"{}\"\nbase_url = \"{}\"\nprivate_targets = \"allow-loopback\"\ncredential = {{ file = \"vendor.key\" }}\noptions = {{ scenario = \"fetch\" }}\n\n[profiles.hostile]\ntenant = \"{TENANT}\"\nconnection = \"hostile\"\nreclaim = true\n",
        guest("fixture_hostile").display(),
        vendor.url()
    ));
    let profile = Published {
        app: ws.app().await.unwrap(),
        ws,
        profile: "hostile".into(),
    };
    let p = profile.profiles("test").await;
    p.apply().await.unwrap();
    let validation = p.validate("hostile").await.unwrap();
    assert!(validation.passed, "{}", validation.detail);
    p.publish("hostile").await.unwrap();
    let now = now_ms();
    // One stale account of twenty: within the breaker's 10%.
    let accounts: Vec<seatwarden_domain::account::Account> = (0..20)
        .map(|i| seatwarden_domain::account::Account {
            id: format!("u{i}"),
            principal: format!("user{i}@acme.example"),
            display_name: None,
            active: true,
            subscriptions: vec!["SEAT".into()],
            last_active_at: (i > 0).then_some(now - DAY_MS),
            created_at: Some(now - 400 * DAY_MS),
            attributes: Vec::new(),
        })
        .collect();
    profile.store(&accounts, now).await;
    assert_eq!(profile.refresh().await.report.opened, 1);
    let (_, outcome) = profile.reclaim(&ReclamationRule::default()).await;
    assert_eq!(outcome.unwrap().deactivated.len(), 1);
    let record = profile.record().await;
    let reclaimed = profile
        .app
        .storage
        .candidates(record.id, true)
        .await
        .unwrap();
    let candidate = reclaimed
        .iter()
        .find(|c| c.state == CandidateState::ClosedComplete)
        .unwrap()
        .clone();
    let requests_before = vendor.requests().len();
    let jobs_before = profile.app.storage.job_runs(record.id).await.unwrap().len();

    let err = undo_as_alice(&profile, &candidate).await.unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        format!(
            "connector hostile cannot reactivate accounts: restore {} in the vendor's admin console",
            candidate.principal
        )
    );
    // Nothing went to the vendor, and nothing changed here.
    assert_eq!(vendor.requests().len(), requests_before);
    let after = profile
        .app
        .storage
        .candidates(record.id, true)
        .await
        .unwrap();
    assert_eq!(after, reclaimed);
    assert_eq!(
        profile.app.storage.job_runs(record.id).await.unwrap().len(),
        jobs_before
    );
}
