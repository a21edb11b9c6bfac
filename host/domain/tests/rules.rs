//! The rules engine's verdicts at their edges: the 59/60/61-day threshold,
//! "never logged in" against "stale", grace for new accounts, exclusions
//! (user, identifier, inactive), protected accounts and rule conditions.
//! Pure decisions: no vendor, no database, nothing to wait for.

use seatwarden_domain::rules::{DAY_MS, Exclusion, ReclamationRule, Staleness, Verdict, evaluate};
use seatwarden_domain::subscription::StoredSubscription;

const NOW: i64 = 1_800_000_000_000;

fn account(
    principal: &str,
    created_days_ago: i64,
    last_active_days_ago: Option<i64>,
) -> StoredSubscription {
    StoredSubscription {
        account_id: format!("id-{principal}"),
        principal: principal.into(),
        display_name: None,
        active: true,
        identifiers: vec!["EMPLOYEE".into()],
        attributes: vec![("role".into(), "EMPLOYEE".into())],
        created_at: Some(NOW - created_days_ago * DAY_MS),
        last_active_at: last_active_days_ago.map(|d| NOW - d * DAY_MS),
        last_active_source: last_active_days_ago.map(|_| "audit-event: user.login".into()),
        first_seen_at: NOW - DAY_MS,
        last_seen_at: NOW,
        gone_at: None,
        reactivated_at: None,
    }
}

fn verdict(account: &StoredSubscription) -> Verdict {
    evaluate(
        &ReclamationRule::default(),
        &[],
        "smartrecruiters",
        None,
        account,
        NOW,
    )
}

#[test]
fn the_threshold_is_sixty_days_of_no_activity() {
    assert_eq!(
        verdict(&account("a@x.com", 400, Some(59))),
        Verdict::Active { days_inactive: 59 }
    );
    for days in [60, 61] {
        match verdict(&account("a@x.com", 400, Some(days))) {
            Verdict::Candidate(Staleness::Stale {
                days_inactive,
                last_active_at,
                source,
            }) => {
                assert_eq!(days_inactive, days);
                assert_eq!(last_active_at, NOW - days * DAY_MS);
                assert_eq!(source.as_deref(), Some("audit-event: user.login"));
            }
            other => panic!("{days} days: {other:?}"),
        }
    }
    // One millisecond short of 60 whole days is still 59.
    let mut almost = account("a@x.com", 400, None);
    almost.last_active_at = Some(NOW - 60 * DAY_MS + 1);
    assert_eq!(verdict(&almost), Verdict::Active { days_inactive: 59 });
    // A rule's own threshold.
    let strict = ReclamationRule {
        threshold_days: 30,
        ..ReclamationRule::default()
    };
    assert!(matches!(
        evaluate(
            &strict,
            &[],
            "smartrecruiters",
            None,
            &account("a@x.com", 400, Some(30)),
            NOW
        ),
        Verdict::Candidate(_)
    ));
}

#[test]
fn never_logged_in_is_told_apart_from_stale_and_new_accounts_get_grace() {
    assert_eq!(
        verdict(&account("new@x.com", 59, None)),
        Verdict::Grace { days_old: 59 }
    );
    assert_eq!(
        verdict(&account("never@x.com", 60, None)),
        Verdict::Candidate(Staleness::NeverLoggedIn {
            days_since_created: 60
        })
    );
    // Without a vendor creation date, the first sighting counts.
    let mut undated = account("undated@x.com", 0, None);
    undated.created_at = None;
    undated.first_seen_at = NOW - 10 * DAY_MS;
    assert_eq!(verdict(&undated), Verdict::Grace { days_old: 10 });
    // ...unless older activity proves the account is older than that.
    undated.last_active_at = Some(NOW - 80 * DAY_MS);
    assert!(matches!(
        verdict(&undated),
        Verdict::Candidate(Staleness::Stale {
            days_inactive: 80,
            ..
        })
    ));
    // Deactivated or gone accounts are not judged at all.
    let mut inactive = account("off@x.com", 400, Some(300));
    inactive.active = false;
    assert_eq!(verdict(&inactive), Verdict::NotActive);
    let mut gone = account("gone@x.com", 400, Some(300));
    gone.gone_at = Some(NOW);
    assert_eq!(verdict(&gone), Verdict::NotActive);
}

#[test]
fn exclusions_win_and_inactive_ones_are_ignored() {
    let stale = account("Jane@X.com", 400, Some(200));
    let by_user = Exclusion::User {
        principal: "jane@x.com".into(),
        active: true,
        reason: "on parental leave".into(),
    };
    let by_identifier = Exclusion::Identifier {
        connector: "smartrecruiters".into(),
        identifier: "EMPLOYEE".into(),
        active: true,
        reason: "seats are free".into(),
    };
    let rule = ReclamationRule::default();
    match evaluate(
        &rule,
        std::slice::from_ref(&by_user),
        "smartrecruiters",
        None,
        &stale,
        NOW,
    ) {
        Verdict::Excluded { by } => assert!(by.contains("on parental leave"), "{by}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        evaluate(
            &rule,
            std::slice::from_ref(&by_identifier),
            "smartrecruiters",
            None,
            &stale,
            NOW
        ),
        Verdict::Excluded { .. }
    ));
    // An identifier exclusion belongs to one connector type.
    assert!(matches!(
        evaluate(
            &rule,
            std::slice::from_ref(&by_identifier),
            "smartsheet",
            None,
            &stale,
            NOW
        ),
        Verdict::Candidate(_)
    ));
    // A switched-off exclusion does nothing.
    let off = Exclusion::User {
        principal: "jane@x.com".into(),
        active: false,
        reason: "back from leave".into(),
    };
    assert!(matches!(
        evaluate(&rule, &[off], "smartrecruiters", None, &stale, NOW),
        Verdict::Candidate(_)
    ));
}

#[test]
fn admins_service_accounts_and_listed_accounts_are_protected_unless_named() {
    let mut admin = account("boss@x.com", 400, Some(200));
    admin.attributes.push(("admin".into(), "true".into()));
    assert!(matches!(verdict(&admin), Verdict::Protected { .. }));
    let with_admins = ReclamationRule {
        include_admins: true,
        ..ReclamationRule::default()
    };
    assert!(matches!(
        evaluate(&with_admins, &[], "smartrecruiters", None, &admin, NOW),
        Verdict::Candidate(_)
    ));

    let mut service = account("robot@x.com", 400, None);
    service
        .attributes
        .push(("service-account".into(), "true".into()));
    assert!(matches!(verdict(&service), Verdict::Protected { .. }));

    let integration = account("integration@x.com", 400, None);
    let protecting = ReclamationRule {
        protected: vec!["Integration@x.com".into()],
        ..ReclamationRule::default()
    };
    assert!(matches!(
        evaluate(&protecting, &[], "smartrecruiters", None, &integration, NOW),
        Verdict::Protected { .. }
    ));
    let naming = ReclamationRule {
        include_protected: vec!["integration@x.com".into(), "boss@x.com".into()],
        ..protecting
    };
    assert!(matches!(
        evaluate(&naming, &[], "smartrecruiters", None, &integration, NOW),
        Verdict::Candidate(_)
    ));
    assert!(matches!(
        evaluate(&naming, &[], "smartrecruiters", None, &admin, NOW),
        Verdict::Candidate(_)
    ));
}

#[test]
fn conditions_narrow_the_rule_to_matching_accounts() {
    let rule = ReclamationRule {
        conditions: [("role".to_string(), vec!["HIRING_MANAGER".to_string()])]
            .into_iter()
            .collect(),
        ..ReclamationRule::default()
    };
    match evaluate(
        &rule,
        &[],
        "smartrecruiters",
        None,
        &account("e@x.com", 400, Some(200)),
        NOW,
    ) {
        Verdict::OutOfScope { condition } => {
            assert_eq!(
                condition,
                "role is \"EMPLOYEE\" (the rule takes HIRING_MANAGER)"
            )
        }
        other => panic!("{other:?}"),
    }
    let mut manager = account("m@x.com", 400, Some(200));
    manager.attributes = vec![("role".into(), "HIRING_MANAGER".into())];
    assert!(matches!(
        evaluate(&rule, &[], "smartrecruiters", None, &manager, NOW),
        Verdict::Candidate(_)
    ));
    let mut unset = manager.clone();
    unset.attributes.clear();
    assert!(matches!(
        evaluate(&rule, &[], "smartrecruiters", None, &unset, NOW),
        Verdict::OutOfScope { condition } if condition.contains("not set")
    ));
}

#[test]
fn a_reactivated_account_gets_grace_again() {
    // Old and idle: a candidate...
    let mut restored = account("restored@x.com", 400, Some(90));
    assert!(matches!(verdict(&restored), Verdict::Candidate(_)));
    // ...until it is turned back on: the threshold counts from then.
    restored.reactivated_at = Some(NOW - 5 * DAY_MS);
    assert_eq!(verdict(&restored), Verdict::Grace { days_old: 5 });
    restored.reactivated_at = Some(NOW - 60 * DAY_MS);
    assert!(matches!(verdict(&restored), Verdict::Candidate(_)));
    // Never logged in since the reactivation either.
    let mut never = account("never-again@x.com", 400, None);
    never.reactivated_at = Some(NOW - 59 * DAY_MS);
    assert_eq!(verdict(&never), Verdict::Grace { days_old: 59 });
}
