//! The candidates refresh plan: which candidates a refresh opens, which it
//! moves and why, and what it counts, decided from what the store read.
//! Pure decisions: no database, no vendor, nothing to wait for (the store's
//! application of a plan is tested with the store).

use seatwarden_domain::candidate_state::{CandidateState, Decision};
use seatwarden_domain::refresh::{Change, Judge, OpenCandidate, plan};
use seatwarden_domain::rules::{DAY_MS, Exclusion, ReclamationRule};
use seatwarden_domain::subscription::StoredSubscription;

const NOW: i64 = 1_800_000_000_000;

fn account(principal: &str, last_active_days_ago: Option<i64>) -> StoredSubscription {
    StoredSubscription {
        account_id: format!("id-{principal}"),
        principal: principal.into(),
        display_name: None,
        active: true,
        identifiers: vec!["EMPLOYEE".into()],
        attributes: vec![],
        created_at: Some(NOW - 400 * DAY_MS),
        last_active_at: last_active_days_ago.map(|d| NOW - d * DAY_MS),
        last_active_source: last_active_days_ago.map(|_| "activity:login".into()),
        first_seen_at: NOW - 400 * DAY_MS,
        last_seen_at: NOW,
        gone_at: None,
        reactivated_at: None,
    }
}

fn open(id: i64, principal: &str, state: CandidateState) -> OpenCandidate {
    OpenCandidate {
        id,
        principal: principal.into(),
        state,
        reclaim_after: None,
    }
}

fn judge<'a>(rule: &'a ReclamationRule, exclusions: &'a [Exclusion]) -> Judge<'a> {
    Judge {
        rule,
        exclusions,
        connector: "smartrecruiters",
        credential_account: None,
        now: NOW,
    }
}

/// (principal, decision, new state, reason) of every move in a plan.
fn moves(changes: &[Change<'_>]) -> Vec<(String, Decision, CandidateState, String)> {
    changes
        .iter()
        .filter_map(|change| match change {
            Change::Move {
                candidate,
                decision,
                to,
                why,
                ..
            } => Some((candidate.principal.clone(), *decision, *to, why.clone())),
            Change::Open { .. } => None,
        })
        .collect()
}

#[test]
fn an_idle_account_without_a_candidate_gets_one_with_its_evidence() {
    let rule = ReclamationRule::default();
    let accounts = vec![
        (account("stale@x.com", Some(90)), None),
        (account("never@x.com", None), None),
    ];
    let plan = plan(&judge(&rule, &[]), &accounts, &[]).unwrap();
    let opened: Vec<(&str, &str)> = plan
        .changes
        .iter()
        .map(|change| match change {
            Change::Open { account, why, .. } => (account.principal.as_str(), why.as_str()),
            Change::Move { .. } => panic!("nothing to move: {change:?}"),
        })
        .collect();
    assert_eq!(
        opened,
        [
            (
                "stale@x.com",
                "no activity for 90 days (last from activity:login)"
            ),
            ("never@x.com", "never logged in, account 400 days old"),
        ]
    );
    assert_eq!((plan.report.opened, plan.report.judged), (2, 2));

    // With create_candidates off the rule only measures.
    let measuring = ReclamationRule {
        create_candidates: false,
        ..ReclamationRule::default()
    };
    let plan = seatwarden_domain::refresh::plan(&judge(&measuring, &[]), &accounts, &[]).unwrap();
    assert!(plan.changes.is_empty());
    assert_eq!((plan.report.opened, plan.report.measured_only), (0, 2));
}

#[test]
fn open_candidates_move_on_activity_timeout_departure_and_exclusion() {
    let rule = ReclamationRule::default();
    let exclusions = [Exclusion::User {
        principal: "ceo@x.com".into(),
        active: true,
        reason: "the CEO".into(),
    }];
    let mut gone = account("left@x.com", Some(90));
    gone.gone_at = Some(NOW - DAY_MS);
    let mut waited = open(2, "waited@x.com", CandidateState::AwaitingUser);
    waited.reclaim_after = Some(NOW - 1);
    let mut waiting = open(3, "waiting@x.com", CandidateState::AwaitingUser);
    waiting.reclaim_after = Some(NOW + DAY_MS);
    let accounts = vec![
        (
            account("back@x.com", Some(3)),
            Some(open(1, "back@x.com", CandidateState::Ready)),
        ),
        (account("waited@x.com", Some(90)), Some(waited)),
        (account("waiting@x.com", Some(90)), Some(waiting)),
        (
            gone,
            Some(open(4, "left@x.com", CandidateState::AwaitingApproval)),
        ),
        (
            account("ceo@x.com", Some(90)),
            Some(open(5, "ceo@x.com", CandidateState::Ready)),
        ),
        (account("ceo@x.com", None), None),
    ];
    let orphans = [open(6, "deleted@x.com", CandidateState::Ready)];
    let plan = plan(&judge(&rule, &exclusions), &accounts, &orphans).unwrap();
    use CandidateState::*;
    use Decision::*;
    assert_eq!(
        moves(&plan.changes),
        [
            (
                "back@x.com".into(),
                NewActivity,
                ClosedCanceled,
                "new activity: last active 3 days ago (activity:login)".into()
            ),
            (
                "waited@x.com".into(),
                NoAnswer,
                AwaitingRevocation,
                "no answer from the user by the reclamation date".into()
            ),
            (
                "left@x.com".into(),
                NoLongerCandidate,
                ClosedSkipped,
                "no longer a candidate: the account left the vendor's listing; if it comes back, its candidate carries on from awaiting-approval".into()
            ),
            (
                "ceo@x.com".into(),
                NoLongerCandidate,
                ClosedSkipped,
                "no longer a candidate: excluded by user exclusion ceo@x.com (the CEO)".into()
            ),
            (
                "deleted@x.com".into(),
                NoLongerCandidate,
                ClosedSkipped,
                "the account is no longer stored for this profile".into()
            ),
        ]
    );
    let left_listing: Vec<bool> = plan
        .changes
        .iter()
        .map(|c| {
            matches!(
                c,
                Change::Move {
                    left_listing: true,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(left_listing, [false, false, true, false, false]);
    let report = &plan.report;
    assert_eq!(
        (
            report.canceled,
            report.timed_out,
            report.skipped,
            report.still_open,
            report.judged
        ),
        (1, 1, 3, 2, 7),
        "the timed-out candidate and the one still waiting stay open"
    );
    assert_eq!(report.excluded.values().sum::<usize>(), 2, "{report:?}");
}

#[test]
fn a_candidate_in_a_closed_state_but_read_as_open_refuses_the_plan() {
    // Only a database edited by hand gets here; the plan says which
    // candidate rather than closing it twice.
    let rule = ReclamationRule::default();
    let accounts = vec![(
        account("back@x.com", Some(3)),
        Some(open(9, "back@x.com", CandidateState::ClosedSkipped)),
    )];
    let refused = plan(&judge(&rule, &[]), &accounts, &[]).unwrap_err();
    assert_eq!(refused.candidate, 9);
    assert!(
        refused
            .to_string()
            .starts_with("candidate 9 (back@x.com): a candidate in state"),
        "{refused}"
    );
}
