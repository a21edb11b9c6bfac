//! Removal candidates in the database: a refresh opens candidates for stale
//! and never-used accounts with their evidence, leaves excluded and
//! protected accounts alone and counts them, is idempotent, cancels a
//! candidate when new activity arrives, skips one whose account disappears,
//! judges again only what changed (or everything when the rule's inputs
//! change), and only measures when the rule says so. Every decision is in the
//! audit chain. Accounts are written through the same storage calls a sync
//! uses, at chosen times, so no test waits for days to pass.

use seatwarden_domain::account::Account;
use seatwarden_domain::account::Activity;
use seatwarden_domain::rules::{DAY_MS, Exclusion, ReclamationRule};
use seatwarden_store::{
    AuditCheck, CandidateState, ProfileId, RefreshScope, RuleChange, Storage, Stream, TenantId,
    Trigger,
};
use seatwarden_tests::fixtures::{acme_profile, fresh_database};

const NOW: i64 = 1_800_000_000_000;

struct Rig {
    storage: Storage,
    tenant: TenantId,
    profile: ProfileId,
}

async fn rig(name: &str) -> Rig {
    let path = fresh_database(&format!("candidates-{name}"));
    let storage = Storage::open(&path).await.unwrap();
    let (tenant, profile) = acme_profile(&storage, "smartrecruiters", "d").await;
    Rig {
        storage,
        tenant,
        profile,
    }
}

fn account(id: &str, created_days_ago: i64, last_active_days_ago: Option<i64>) -> Account {
    Account {
        id: id.into(),
        principal: format!("{id}@acme.com"),
        display_name: None,
        active: true,
        subscriptions: vec!["EMPLOYEE".into()],
        created_at: Some(NOW - created_days_ago * DAY_MS),
        last_active_at: last_active_days_ago.map(|d| NOW - d * DAY_MS),
        attributes: vec![("role".into(), "EMPLOYEE".into())],
    }
}

impl Rig {
    /// One complete users run with exactly these accounts.
    async fn users(&self, accounts: &[Account], now: i64) {
        let run = self
            .storage
            .begin_or_resume(self.profile, Stream::Users, None, Trigger::Manual, now)
            .await
            .unwrap();
        self.storage
            .upsert_accounts_page(self.profile, run.run_id, accounts, None, now)
            .await
            .unwrap();
        self.storage
            .finish_users_run(self.profile, run.run_id, now)
            .await
            .unwrap();
    }

    async fn refresh(
        &self,
        rule: &ReclamationRule,
        exclusions: &[Exclusion],
        now: i64,
    ) -> seatwarden_store::RefreshReport {
        self.refresh_as(rule, exclusions, None, now).await
    }

    /// A refresh whose credentials act as `credential_account`.
    async fn refresh_as(
        &self,
        rule: &ReclamationRule,
        exclusions: &[Exclusion],
        credential_account: Option<&str>,
        now: i64,
    ) -> seatwarden_store::RefreshReport {
        self.storage
            .refresh_candidates(
                RefreshScope {
                    tenant: self.tenant,
                    profile: self.profile,
                    profile_name: "sr",
                    connector: "smartrecruiters",
                    credential_account,
                    actor: "test",
                    now,
                    activity_overlay: None,
                },
                rule,
                exclusions,
            )
            .await
            .unwrap()
    }
}

fn population() -> Vec<Account> {
    let mut admin = account("admin", 400, Some(200));
    admin.attributes.push(("admin".into(), "true".into()));
    let mut free_seat = account("reviewer", 400, Some(200));
    free_seat.subscriptions = vec!["REVIEWER".into()];
    vec![
        account("stale", 400, Some(70)),
        account("fresh", 400, Some(10)),
        account("never", 100, None),
        account("newbie", 5, None),
        admin,
        account("onleave", 400, Some(200)),
        free_seat,
    ]
}

fn exclusions() -> Vec<Exclusion> {
    vec![
        Exclusion::User {
            principal: "onleave@acme.com".into(),
            active: true,
            reason: "parental leave".into(),
        },
        Exclusion::Identifier {
            connector: "smartrecruiters".into(),
            identifier: "REVIEWER".into(),
            active: true,
            reason: "reviewer seats are free".into(),
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_opens_candidates_with_their_evidence_and_is_idempotent() {
    let rig = rig("open").await;
    rig.users(&population(), NOW).await;
    let rule = ReclamationRule::default();
    let report = rig.refresh(&rule, &exclusions(), NOW).await;
    assert_eq!(report.opened, 2, "{report:?}");
    assert_eq!(report.protected, 1);
    assert_eq!(report.excluded.len(), 2);
    assert!(report.excluded.keys().any(|k| k.contains("parental leave")));

    let open = rig.storage.candidates(rig.profile, false).await.unwrap();
    let stale = open.iter().find(|c| c.account_id == "stale").unwrap();
    assert_eq!(stale.state, CandidateState::Ready);
    assert_eq!(stale.reason, "stale");
    assert_eq!(stale.days_inactive, 70);
    assert_eq!(stale.last_active_at, Some(NOW - 70 * DAY_MS));
    assert_eq!(stale.rule_version, 1);
    assert_eq!(stale.threshold_days, 60);
    let never = open.iter().find(|c| c.account_id == "never").unwrap();
    assert_eq!(never.reason, "never-logged-in");
    assert_eq!(never.days_inactive, 100);
    assert_eq!(never.last_active_at, None);

    // The same data again changes nothing.
    let again = rig.refresh(&rule, &exclusions(), NOW + 1_000).await;
    assert_eq!((again.opened, again.still_open), (0, 2));
    assert_eq!(
        rig.storage
            .candidates(rig.profile, true)
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_activity_cancels_and_a_vanished_account_skips_its_candidate() {
    let rig = rig("close").await;
    rig.users(&population(), NOW).await;
    let rule = ReclamationRule::default();
    rig.refresh(&rule, &exclusions(), NOW).await;

    // "stale" logs in the next day; "never" is removed at the vendor.
    let later = NOW + DAY_MS;
    let run = rig
        .storage
        .begin_or_resume(
            rig.profile,
            Stream::Activity,
            Some(NOW),
            Trigger::Manual,
            later,
        )
        .await
        .unwrap();
    rig.storage
        .apply_activity_page(
            rig.profile,
            run.run_id,
            &[Activity {
                account_id: "stale".into(),
                at: later - 60_000,
                kind: "USER_AUTHENTICATION_SUCCESS".into(),
            }],
            None,
        )
        .await
        .unwrap();
    rig.storage
        .finish_activity_run(rig.profile, run.run_id, later, later, None)
        .await
        .unwrap();
    let remaining: Vec<Account> = population()
        .into_iter()
        .filter(|a| a.id != "never")
        .collect();
    rig.users(&remaining, later).await;

    let report = rig.refresh(&rule, &exclusions(), later).await;
    assert_eq!(
        (report.canceled, report.skipped, report.opened),
        (1, 1, 0),
        "{report:?}"
    );
    let all = rig.storage.candidates(rig.profile, true).await.unwrap();
    let stale = all.iter().find(|c| c.account_id == "stale").unwrap();
    assert_eq!(stale.state, CandidateState::ClosedCanceled);
    assert!(
        stale
            .close_reason
            .as_deref()
            .unwrap()
            .contains("new activity")
    );
    let never = all.iter().find(|c| c.account_id == "never").unwrap();
    assert_eq!(never.state, CandidateState::ClosedSkipped);
    assert!(
        rig.storage
            .candidates(rig.profile, false)
            .await
            .unwrap()
            .is_empty()
    );

    // Each decision is in the tenant's audit chain, and the chain holds.
    let actions: Vec<String> = rig
        .storage
        .audit_entries(rig.tenant)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "candidate.open",
            "candidate.open",
            "candidate.close",
            "candidate.close"
        ]
    );
    assert!(matches!(
        rig.storage.verify_audit(rig.tenant).await.unwrap(),
        AuditCheck::Intact { entries: 4, .. }
    ));
}

/// A refresh reads only open candidates whose account changed (the
/// database marks them, whichever code writes the account) unless the
/// rule's inputs changed: then it judges every open candidate again. What
/// it judged is its cost, and it is reported: an incremental refresh reads
/// the idle accounts without a candidate (always read) and the changed
/// open candidates, a full one every open candidate too. Each input that
/// decides a verdict is changed in turn: an account, an exclusion, the
/// rule, the credentials' account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_judges_again_what_changed_and_everything_when_its_inputs_change() {
    let rig = rig("incremental").await;
    // The population's stale and never-used accounts, and twenty more idle
    // ones: 22 candidates. The idle accounts that never become candidates
    // (newbie, admin, onleave, reviewer) are read by every refresh.
    let mut population = population();
    population.extend((0..20).map(|i| account(&format!("idle-{i}"), 400, Some(90))));
    rig.users(&population, NOW).await;
    let rule = ReclamationRule::default();
    let first = rig.refresh(&rule, &exclusions(), NOW).await;
    assert_eq!(
        (first.opened, first.judged, first.judged_every_open),
        (22, 26, false),
        "{first:?}"
    );
    let close_reason = |all: &[seatwarden_store::Candidate], id: &str| {
        let candidate = all.iter().find(|c| c.account_id == id).unwrap();
        (
            candidate.state,
            candidate.close_reason.clone().unwrap_or_default(),
        )
    };
    let counts = |r: &seatwarden_store::RefreshReport| {
        (
            r.skipped,
            r.canceled,
            r.still_open,
            r.opened,
            r.judged,
            r.judged_every_open,
        )
    };

    // The vendor makes "stale" an administrator: no activity changed, only
    // an attribute the rule reads. Judged: the four idle accounts without
    // a candidate and the one changed candidate, not the other 21.
    let mut changed = population.clone();
    let stale = changed.iter_mut().find(|a| a.id == "stale").unwrap();
    stale.attributes.push(("admin".into(), "true".into()));
    let day = NOW + DAY_MS;
    rig.users(&changed, day).await;
    let report = rig.refresh(&rule, &exclusions(), day).await;
    assert_eq!(counts(&report), (1, 0, 21, 0, 5, false), "{report:?}");
    let all = rig.storage.candidates(rig.profile, true).await.unwrap();
    let (state, why) = close_reason(&all, "stale");
    assert_eq!(state, CandidateState::ClosedSkipped);
    assert!(why.contains("protected"), "{why}");

    // The same data synced again: nothing changed, no candidate is read;
    // "stale", its candidate closed, is now one of the idle accounts
    // without one (five).
    let day = day + DAY_MS;
    rig.users(&changed, day).await;
    let report = rig.refresh(&rule, &exclusions(), day).await;
    assert_eq!(counts(&report), (0, 0, 21, 0, 5, false), "{report:?}");

    // A new exclusion (no account changed): every open candidate is judged
    // again, and "never" is spared.
    let mut more = exclusions();
    more.push(Exclusion::User {
        principal: "NEVER@acme.com".into(),
        active: true,
        reason: "contractor, paid apart".into(),
    });
    let report = rig.refresh(&rule, &more, day).await;
    assert_eq!(counts(&report), (1, 0, 20, 0, 26, true), "{report:?}");
    let all = rig.storage.candidates(rig.profile, true).await.unwrap();
    let (state, why) = close_reason(&all, "never");
    assert_eq!(state, CandidateState::ClosedSkipped);
    assert!(why.contains("contractor, paid apart"), "{why}");
    // Refreshed again with the same inputs: back to the idle accounts only.
    let report = rig.refresh(&rule, &more, day).await;
    assert_eq!(counts(&report), (0, 0, 20, 0, 6, false), "{report:?}");

    // The rule changes (idle-1 is now protected by it): all 20 again.
    let stricter = ReclamationRule {
        version: 2,
        protected: vec!["idle-1@acme.com".into()],
        ..rule.clone()
    };
    let report = rig.refresh(&stricter, &more, day).await;
    assert_eq!(counts(&report), (1, 0, 19, 0, 26, true), "{report:?}");
    let all = rig.storage.candidates(rig.profile, true).await.unwrap();
    assert_eq!(
        close_reason(&all, "idle-1").0,
        CandidateState::ClosedSkipped
    );
    let report = rig.refresh(&stricter, &more, day).await;
    assert_eq!(counts(&report), (0, 0, 19, 0, 7, false), "{report:?}");

    // The profile's credentials now act as idle-2 (a new token owner):
    // every open candidate again, and the credentials' own account is
    // spared.
    let report = rig.refresh_as(&stricter, &more, Some("idle-2"), day).await;
    assert_eq!(counts(&report), (1, 0, 18, 0, 26, true), "{report:?}");
    let all = rig.storage.candidates(rig.profile, true).await.unwrap();
    let (state, why) = close_reason(&all, "idle-2");
    assert_eq!(state, CandidateState::ClosedSkipped);
    assert!(why.contains("credentials"), "{why}");
    let report = rig.refresh_as(&stricter, &more, Some("idle-2"), day).await;
    assert_eq!(counts(&report), (0, 0, 18, 0, 8, false), "{report:?}");
    assert!(matches!(
        rig.storage.verify_audit(rig.tenant).await.unwrap(),
        AuditCheck::Intact { entries: 26, .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_measure_only_rule_counts_but_creates_nothing() {
    let rig = rig("measure").await;
    rig.users(&population(), NOW).await;
    let measuring = ReclamationRule {
        create_candidates: false,
        ..ReclamationRule::default()
    };
    let report = rig.refresh(&measuring, &exclusions(), NOW).await;
    assert_eq!((report.opened, report.measured_only), (0, 2));
    assert!(
        rig.storage
            .candidates(rig.profile, true)
            .await
            .unwrap()
            .is_empty()
    );
    // A stricter threshold finds more: "fresh" is 10 days idle.
    let strict = ReclamationRule {
        threshold_days: 7,
        ..ReclamationRule::default()
    };
    assert_eq!(rig.refresh(&strict, &exclusions(), NOW).await.opened, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_are_versioned_and_unchanged_rules_are_not_stored_twice() {
    let rig = rig("versions").await;
    let rule = ReclamationRule::default();
    let store = |rule: ReclamationRule| {
        let storage = rig.storage.clone();
        let (tenant, profile) = (rig.tenant, rig.profile);
        async move {
            storage
                .store_rule(tenant, profile, "sr", &rule, "test", NOW)
                .await
                .unwrap()
        }
    };
    assert_eq!(store(rule.clone()).await, RuleChange::Created(1));
    assert_eq!(
        store(rule.clone()).await,
        RuleChange::Unchanged(1),
        "unchanged: same version"
    );
    let stricter = ReclamationRule {
        threshold_days: 30,
        ..rule
    };
    assert_eq!(
        store(stricter).await,
        RuleChange::Replaced { from: 1, to: 2 }
    );
    let current = rig
        .storage
        .current_rule(rig.profile)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((current.version, current.threshold_days), (2, 30));
}

/// An account that leaves the vendor's listing closes its candidate; when
/// it comes back, its new candidate carries on from the state the old one
/// was in (here: kept by its user, awaiting an administrator), with the
/// notice date, instead of starting over and asking the user again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_whose_account_left_and_came_back_keeps_its_decisions() {
    let rig = rig("gone-and-back").await;
    rig.users(&population(), NOW).await;
    let rule = ReclamationRule::default();
    rig.refresh(&rule, &exclusions(), NOW).await;
    let open = rig.storage.candidates(rig.profile, false).await.unwrap();
    let stale = open.iter().find(|c| c.account_id == "stale").unwrap();
    let scope = RefreshScope {
        tenant: rig.tenant,
        profile: rig.profile,
        profile_name: "sr",
        connector: "smartrecruiters",
        credential_account: None,
        actor: "test",
        now: NOW,
        activity_overlay: None,
    };
    let kept = rig
        .storage
        .decide_candidate(
            scope,
            stale,
            seatwarden_domain::candidate_state::Decision::Keep,
            "the user needs it",
        )
        .await
        .unwrap();
    assert_eq!(kept, CandidateState::AwaitingApproval);
    // A second decision made on the same (now stale) reading is a typed
    // conflict, not a generic failure: the API answers it with 409.
    let again = rig
        .storage
        .decide_candidate(
            scope,
            stale,
            seatwarden_domain::candidate_state::Decision::Keep,
            "clicked twice",
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&again, seatwarden_store::StoreError::Conflict(text)
            if text.contains("changed while this decision was made")),
        "{again:?}"
    );

    // The vendor leaves "stale" out for a day, then lists it again.
    let without: Vec<Account> = population()
        .into_iter()
        .filter(|a| a.id != "stale")
        .collect();
    rig.users(&without, NOW + DAY_MS).await;
    rig.refresh(&rule, &exclusions(), NOW + DAY_MS).await;
    let closed = rig.storage.candidates(rig.profile, true).await.unwrap();
    let old = closed.iter().find(|c| c.id == stale.id).unwrap();
    assert_eq!(old.state, CandidateState::ClosedSkipped);
    assert!(
        old.close_reason
            .as_deref()
            .unwrap()
            .contains("left the vendor's listing; if it comes back, its candidate carries on from awaiting-approval"),
        "{old:?}"
    );

    rig.users(&population(), NOW + 2 * DAY_MS).await;
    let report = rig.refresh(&rule, &exclusions(), NOW + 2 * DAY_MS).await;
    assert_eq!(report.opened, 1, "{report:?}");
    let open = rig.storage.candidates(rig.profile, false).await.unwrap();
    let back = open.iter().find(|c| c.account_id == "stale").unwrap();
    assert_ne!(back.id, stale.id);
    assert_eq!(back.state, CandidateState::AwaitingApproval);
    let opened = rig
        .storage
        .audit_entries(rig.tenant)
        .await
        .unwrap()
        .into_iter()
        .rfind(|e| e.action == "candidate.open")
        .unwrap();
    assert!(
        opened.detail.contains(&format!(
            "came back: carries on from candidate {} in awaiting-approval",
            stale.id
        )),
        "{}",
        opened.detail
    );

    // An account that was closed for another reason starts afresh.
    let never = open.iter().find(|c| c.account_id == "never").unwrap();
    assert_eq!(never.state, CandidateState::Ready);
}
