//! An identity provider as the second activity source of a direct vendor
//! profile: a SmartRecruiters profile names an Okta profile of its tenant
//! (`activity_also_from`); an account's last activity is the newer of the
//! two signals, matched by principal without regard to case, the candidate
//! that new sign-ins cancel says where they came from, a principal two
//! Okta accounts claim matches nobody and is reported, and so are Okta's
//! people without a SmartRecruiters account.

use seatwarden_store::CandidateState;
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::okta_fake::{self, OktaFake, OktaTenant, SsoEvent};
use seatwarden_tests::published::{Published, TENANT};
use seatwarden_tests::smartrecruiters_fake::{
    DAY_MS, SmartRecruitersFake, aged_accounts, seed_tenant,
};
use seatwarden_tests::workspace::{Workspace, loopback_connection};
use std::collections::BTreeSet;

const SR_KEY: &str = "sr-key-idp-activity";
const OKTA_TOKEN: &str = "00QCjAl4MlV-idp-activity";

fn config(sr: &SmartRecruitersFake, okta: &OktaFake, mapping: &str) -> String {
    format!(
        "[tenants.{TENANT}]\napi_private_targets = \"allow-loopback\"\n\n{}\n{}\n[connections.okta.options]\napp-id = \"{}\"\n\n\
         [profiles.smartrecruiters]\ntenant = \"{TENANT}\"\nconnection = \"smartrecruiters\"\nreclaim = false\n\n\
         [profiles.smartrecruiters.activity_also_from]\nprofile = \"okta\"\n{mapping}\n\
         [profiles.okta]\ntenant = \"{TENANT}\"\nconnection = \"okta\"\nreclaim = false\n",
        loopback_connection(
            "smartrecruiters",
            TENANT,
            "smartrecruiters",
            &sr.url(),
            "sr.key"
        ),
        loopback_connection("okta", TENANT, "okta", &okta.base_url(), "okta.key"),
        okta_fake::APP_ID,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_sign_ins_keep_idle_vendor_accounts_and_say_so_and_an_ambiguous_principal_counts_for_nobody()
 {
    let now = now_ms();
    let sr = SmartRecruitersFake::start(seed_tenant(SR_KEY, 40, now)).await;
    // Okta names each person as SmartRecruiters does, in another case; no
    // sign-ins yet.
    let okta = OktaFake::start(OktaTenant {
        requests_per_minute: None,
        ..okta_fake::seed_tenant(OKTA_TOKEN, 40, now)
    })
    .await;
    okta.edit(|t| {
        for (i, assignment) in t.apps[0].assignments.iter_mut().enumerate() {
            assignment.user_name = format!("User{i}@Example.COM");
        }
        t.events.clear();
    });
    let ws = Workspace::new("idp-activity");
    ws.secret("sr.key", SR_KEY);
    ws.secret("okta.key", OKTA_TOKEN);
    let profile = Published::configured(ws, "smartrecruiters", &config(&sr, &okta, "")).await;
    let profiles = profile.profiles("test").await;
    assert!(profiles.validate("okta").await.unwrap().passed);
    profiles.publish("okta").await.unwrap();

    // Without sign-ins at Okta, SmartRecruiters' own signal decides.
    // The Okta profile is applied but not synced yet: no signals.
    // SmartRecruiters reports no creation dates, so its download is stored
    // as one a year after the accounts were made (as a sync stores it): the
    // first six never logged in.
    profile
        .store(&aged_accounts(&sr.users(), 6, now), now)
        .await;
    let first = profile.refresh().await;
    assert!(
        first
            .summary
            .contains("activity also from identity-provider profile okta: 0 principals"),
        "{}",
        first.summary
    );
    let record = profile.record().await;
    let open = profile
        .app
        .storage
        .candidates(record.id, false)
        .await
        .unwrap();
    assert_eq!(open.len(), 6, "{open:?} after {}", first.summary);
    let idle: Vec<(usize, String)> = open
        .iter()
        .map(|c| {
            let i: usize = c
                .principal
                .trim_start_matches("user")
                .trim_end_matches("@example.com")
                .parse()
                .unwrap();
            (i, c.account_id.clone())
        })
        .collect();

    // Every idle person signs in through Okta yesterday, except one whose
    // principal a second Okta account claims as well.
    let (ambiguous, _) = idle[0].clone();
    okta.edit(|t| {
        for (i, _) in &idle {
            t.events.push(SsoEvent {
                user_id: okta_fake::user_id(*i),
                app_id: okta_fake::APP_ID.into(),
                at: now - DAY_MS,
                success: true,
            });
        }
        let mut others = (0..40).filter(|j| !idle.iter().any(|(i, _)| i == j));
        let other = others.next().unwrap();
        t.apps[0].assignments[other].user_name = format!("user{ambiguous}@example.com");
        // Someone Okta assigns to the app whom SmartRecruiters does not know.
        let contractor = others.next().unwrap();
        t.apps[0].assignments[contractor].user_name = "contractor@elsewhere.example".into();
    });
    profile.cli(&["sync", "--profile", "okta"]).await.unwrap();
    let second = profile.refresh_at(now + 60_000).await;
    assert!(
        second.summary.contains("1 ambiguous")
            && second
                .summary
                .contains(&format!("user{ambiguous}@example.com"))
            && second
                .summary
                .contains("1 of them match no account of this profile"),
        "{}",
        second.summary
    );
    let still: BTreeSet<String> = profile
        .app
        .storage
        .candidates(record.id, false)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.principal)
        .collect();
    assert_eq!(
        still,
        BTreeSet::from([format!("user{ambiguous}@example.com")]),
        "only the ambiguous principal stays a candidate"
    );
    let all = profile
        .app
        .storage
        .candidates(record.id, true)
        .await
        .unwrap();
    for (i, account) in &idle[1..] {
        let closed = all
            .iter()
            .find(|c| &c.account_id == account && c.closed_at.is_some())
            .unwrap_or_else(|| panic!("user{i}'s candidate is closed"));
        assert_eq!(closed.state, CandidateState::ClosedCanceled, "user{i}");
        let history = profile
            .app
            .storage
            .candidate_history(record.tenant, closed.id)
            .await
            .unwrap();
        let last = history.last().unwrap();
        assert!(
            last.detail.contains("new activity")
                && last
                    .detail
                    .contains("user.authentication.sso in identity-provider profile okta"),
            "{last:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_is_not_a_profile_of_the_tenant_is_refused_with_the_key() {
    let sr = SmartRecruitersFake::start(seed_tenant(SR_KEY, 3, now_ms())).await;
    let okta = OktaFake::start(okta_fake::seed_tenant(OKTA_TOKEN, 3, now_ms())).await;
    let text = config(&sr, &okta, "").replace("profile = \"okta\"", "profile = \"okta-prod\"");
    let err = seatwarden_config::Config::parse(
        &text,
        std::path::Path::new("/etc/seatwarden/seatwarden.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("profiles.smartrecruiters.activity_also_from.profile")
            && err.contains("\"okta-prod\" is not a profile of this file"),
        "{err}"
    );
    let itself =
        config(&sr, &okta, "").replace("profile = \"okta\"", "profile = \"smartrecruiters\"");
    let err = seatwarden_config::Config::parse(
        &itself,
        std::path::Path::new("/etc/seatwarden/seatwarden.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("names the profile itself"), "{err}");
}
