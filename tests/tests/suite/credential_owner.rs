//! The account a profile's credentials act as is never reclaimed: the
//! connector's `validate` asks the vendor whose account the credentials are
//! (`GET /users/me`), the host stores the answer with the validation, and
//! candidate refreshes protect that account unless a rule names it. A vendor
//! that does not say fails nothing: the validation says so, and the rule's
//! `protected` list is the way to name the account.

use seatwarden_domain::rules::{ReclamationRule, Verdict, evaluate};
use seatwarden_store::RefreshScope;
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::published::Published;
use seatwarden_tests::smartrecruiters_fake::{SmartRecruitersFake, SrTenant, seed_users_only};
use seatwarden_tests::smartsheet_fake::{SmartsheetFake, SsTenant, aged_accounts, seed_tenant};

const SS_TOKEN: &str = "ll352u9jujauoqz4gstvsae05";
const SR_KEY: &str = "DCRA1-credential-owner";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_behind_the_token_is_protected_unless_a_rule_names_it() {
    let vendor = SmartsheetFake::start(SsTenant {
        requests_per_minute: None,
        ..seed_tenant(SS_TOKEN, 20, now_ms(), false)
    })
    .await;
    // The token belongs to a plain user (not an admin, who is protected
    // anyway) who never logs in to the web app: the integration's account.
    let owner = vendor.users()[1].clone();
    assert!(!owner.admin);
    vendor.edit(|t| t.token_owner = owner.id);
    let profile = Published::plain(
        "owner-smartsheet",
        "smartsheet",
        &vendor.base_url(),
        SS_TOKEN,
    )
    .await;
    let record = profile.record().await;
    let validation = record.validation.clone().unwrap();
    assert_eq!(
        validation.credential_account.as_deref(),
        Some(owner.id.to_string().as_str())
    );
    assert!(
        validation.detail.contains(&format!(
            "the credentials act as account {}, which is never reclaimed",
            owner.id
        )),
        "{}",
        validation.detail
    );

    // Users 1 (the token's owner) and 2 never logged in; everyone is old.
    let now = now_ms();
    profile
        .store(&aged_accounts(&vendor.users(), 1..=2, now), now)
        .await;
    let refreshed = profile.refresh().await;
    assert_eq!(refreshed.report.opened, 1, "{:?}", refreshed.report);
    let open = profile
        .app
        .storage
        .candidates(record.id, false)
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].principal, vendor.users()[2].email);

    // The verdict says why.
    let stored = profile.app.storage.subscriptions(record.id).await.unwrap();
    let owner_row = stored
        .iter()
        .find(|s| s.account_id == owner.id.to_string())
        .unwrap();
    match evaluate(
        &ReclamationRule::default(),
        &[],
        "smartsheet",
        validation.credential_account.as_deref(),
        owner_row,
        now,
    ) {
        Verdict::Protected { why } => assert!(why.contains("credentials act as"), "{why}"),
        other => panic!("{other:?}"),
    }

    // Nor can it be deactivated by hand.
    let refused = profile
        .cli(&["deactivate", "--profile", "smartsheet", &owner.email])
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("credentials act as"), "{refused}");
    assert!(
        vendor.server.writes().is_empty(),
        "nothing was written to the vendor"
    );

    // A rule that names the account explicitly may reclaim it.
    let naming = ReclamationRule {
        include_protected: vec![owner.email.to_uppercase()],
        ..ReclamationRule::default()
    };
    let report = profile
        .app
        .storage
        .refresh_candidates(RefreshScope::of(&record, "test", now), &naming, &[])
        .await
        .unwrap();
    assert_eq!(report.opened, 1, "{report:?}");
    let open = profile
        .app
        .storage
        .candidates(record.id, false)
        .await
        .unwrap();
    assert!(open.iter().any(|c| c.principal == owner.email));

    // A validation that fails (the token was revoked) learns nothing and
    // keeps the owner found by the last passing one.
    vendor.edit(|t| t.token = "revoked".into());
    let failed = profile
        .profiles("ops")
        .await
        .validate("smartsheet")
        .await
        .unwrap();
    assert!(!failed.passed);
    assert_eq!(
        failed.credential_account.as_deref(),
        Some(owner.id.to_string().as_str())
    );
    let stored = profile.record().await.validation.unwrap();
    assert_eq!(stored.credential_account, failed.credential_account);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_that_does_not_say_whose_key_it_is_fails_nothing() {
    let vendor = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_users_only(SR_KEY, 10, now_ms())
    })
    .await;
    let profile = Published::plain(
        "owner-smartrecruiters",
        "smartrecruiters",
        &vendor.url(),
        SR_KEY,
    )
    .await;
    let validation = profile.record().await.validation.unwrap();
    assert!(validation.passed);
    assert_eq!(validation.credential_account, None);
    assert!(
        validation
            .detail
            .contains("the vendor does not say whose account the credentials are"),
        "{}",
        validation.detail
    );

    // Once the vendor answers `/users/me`, validating again records it.
    let owner = vendor.users()[3].id.clone();
    vendor.edit(|t| t.key_owner = Some(owner.clone()));
    let again = profile
        .profiles("ops")
        .await
        .validate("smartrecruiters")
        .await
        .unwrap();
    assert!(again.passed, "{}", again.detail);
    assert_eq!(again.credential_account, Some(owner));
}
