//! The Okta connector against the Okta fake: an app's assignments as
//! accounts (direct or through a group), its single sign-ons as activity,
//! removal of direct assignments only, the `SSWS` scheme of contract
//! 0.2.3, and the refusals an operator must be able to act on.

use seatwarden_sandbox::Connection;
use seatwarden_sandbox::Connector;
use seatwarden_sandbox::ConnectorError;
use seatwarden_sandbox::Credential;
use seatwarden_sandbox::Limits;
use seatwarden_sandbox::credentials::AuthScheme;
use seatwarden_sandbox::egress::PrivateTargets;
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::fixtures::vendor_error as vendor;
use seatwarden_tests::fixtures::{all_accounts, all_activity, load, runtime};
use seatwarden_tests::okta_fake::{
    APP_ID, GROUP_ID, GROUP_NAME, LOG_RETENTION_DAYS, OktaFake, OktaTenant, seed_tenant, user_id,
};
use seatwarden_tests::smartrecruiters_fake::DAY_MS;
use std::collections::HashMap;

const TOKEN: &str = "00QCjAl4MlV-WPXM-ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn tenant(count: usize) -> OktaTenant {
    OktaTenant {
        requests_per_minute: None,
        ..seed_tenant(TOKEN, count, now_ms())
    }
}

async fn setup(tenant: OktaTenant) -> (OktaFake, Connector, Connection) {
    let fake = OktaFake::start(tenant).await;
    let connector = load(&runtime(Limits::default()), "okta").await;
    let conn = connection(&connector, &fake, TOKEN, APP_ID);
    (fake, connector, conn)
}

fn connection(connector: &Connector, fake: &OktaFake, token: &str, app: &str) -> Connection {
    Connection::builder()
        .base_url(fake.base_url())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(token))
        .option("app-id", app)
        .build(connector.descriptor())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_goes_as_ssws_and_no_other_scheme_is_accepted() {
    let (fake, connector, conn) = setup(tenant(3)).await;
    assert_eq!(
        conn.auth_scheme().to_string(),
        "token in header authorization after \"SSWS\""
    );
    connector.list_users(&conn, None).await.unwrap();
    for request in fake.server.requests() {
        assert_eq!(
            request.header("authorization"),
            Some(format!("SSWS {TOKEN}").as_str())
        );
    }
    let named = Connection::builder()
        .base_url(fake.base_url())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(TOKEN))
        .option("app-id", APP_ID)
        .auth_scheme("ssws".parse().unwrap())
        .build(connector.descriptor())
        .unwrap();
    assert_eq!(named.auth_scheme(), conn.auth_scheme());
    let refused = Connection::builder()
        .base_url(fake.base_url())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(TOKEN))
        .option("app-id", APP_ID)
        .auth_scheme(AuthScheme::BearerToken)
        .build(connector.descriptor())
        .unwrap_err();
    let text = format!("{refused:#}");
    assert!(
        text.contains("offers no scheme") && text.contains("\"ssws\""),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignments_page_by_link_header_and_say_direct_or_which_group() {
    let (fake, connector, conn) = setup(tenant(1200)).await;
    let (accounts, pages) = all_accounts(&connector, &conn).await;
    assert_eq!((accounts.len(), pages), (1200, 3), "pages of 500");
    let targets: Vec<String> = fake
        .server
        .requests()
        .iter()
        .map(|r| r.target.clone())
        .collect();
    assert_eq!(
        targets[0],
        format!("/api/v1/apps/{APP_ID}/users?limit=500&expand=user")
    );
    assert!(
        targets[1].contains("after=") && targets[1].contains("expand=user"),
        "the next link is followed as given: {targets:?}"
    );
    let tenant = fake.tenant();
    for (i, account) in accounts.iter().enumerate() {
        let attrs: HashMap<_, _> = account.attributes.iter().cloned().collect();
        let assignment = &tenant.apps[0].assignments[i];
        assert_eq!(account.id, user_id(i));
        assert_eq!(account.principal, format!("person{i}@example.com"));
        assert_eq!(account.subscriptions, vec!["app-assignment".to_string()]);
        assert_eq!(
            account.last_active_at, None,
            "Okta's lastLogin is not activity in this app"
        );
        assert!(attrs.contains_key("okta-last-login"));
        if assignment.direct {
            assert_eq!(attrs["assignment"], "direct", "{i}");
            assert!(!attrs.contains_key("granted-by-group"), "{i}");
        } else {
            assert_eq!(attrs["assignment"], "group", "{i}");
            assert_eq!(
                attrs["granted-by-group"],
                format!("group {GROUP_NAME} ({GROUP_ID})")
            );
        }
        assert_eq!(
            account.active,
            i % 50 != 49,
            "suspended people hold no seat"
        );
    }
    assert_eq!(
        accounts[1].display_name.as_deref(),
        Some("Person1 Okta"),
        "from the embedded user"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_are_this_apps_successful_sso_events_and_the_stream_ends() {
    let (fake, connector, conn) = setup(tenant(300)).await;
    let now = fake.tenant().now_ms;
    let since = now - 30 * DAY_MS;
    let (events, pages) = all_activity(&connector, &conn, since).await;
    let expected: Vec<(String, i64)> = fake
        .tenant()
        .events
        .iter()
        .filter(|e| e.app_id == APP_ID && e.success && e.at >= since)
        .map(|e| (e.user_id.clone(), e.at))
        .collect();
    let got: Vec<(String, i64)> = events
        .iter()
        .map(|e| (e.account_id.clone(), e.at))
        .collect();
    assert_eq!(got, expected);
    assert!(!expected.is_empty());
    assert!(events.iter().all(|e| e.kind == "user.authentication.sso"));
    assert_eq!(
        pages, 2,
        "one page of events, then the empty page that ends a polling query"
    );
    let first = &fake.server.requests()[0].target;
    assert!(
        first.contains(
            "filter=eventType%20eq%20%22user.authentication.sso%22%20and%20target.id%20eq%20%22"
        ) && first.contains("sortOrder=ASCENDING"),
        "{first}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_asked_from_before_okta_keeps_it_is_read_from_what_it_keeps() {
    let (fake, connector, conn) = setup(tenant(200)).await;
    let now = fake.tenant().now_ms;
    let kept_from = now - LOG_RETENTION_DAYS * DAY_MS;
    fake.edit(|t| {
        // Sign-ons older than the retention are in the fake's data, as they
        // were at Okta once; Okta no longer returns them.
        t.events.insert(
            0,
            seatwarden_tests::okta_fake::SsoEvent {
                user_id: user_id(5),
                app_id: APP_ID.into(),
                at: now - 100 * DAY_MS,
                success: true,
            },
        );
    });
    let in_window: Vec<i64> = fake
        .tenant()
        .events
        .iter()
        .filter(|e| e.app_id == APP_ID && e.success && e.at >= kept_from)
        .map(|e| e.at)
        .collect();
    // 120 days back: Okta answers with what it keeps.
    let (events, _) = all_activity(&connector, &conn, now - 120 * DAY_MS).await;
    assert_eq!(events.iter().map(|e| e.at).collect::<Vec<_>>(), in_window);
    // 200 days back: Okta refuses (more than 180 days), and the connector
    // asks again from the start of the 90 days.
    let before = fake.server.requests().len();
    let (events, _) = all_activity(&connector, &conn, now - 200 * DAY_MS).await;
    assert_eq!(events.iter().map(|e| e.at).collect::<Vec<_>>(), in_window);
    let asked: Vec<String> = fake.server.requests()[before..]
        .iter()
        .map(|r| r.target.clone())
        .collect();
    assert!(asked[1].contains("since="), "{asked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_direct_assignment_is_removed_and_a_group_one_names_the_group() {
    let (fake, connector, conn) = setup(tenant(30)).await;
    // Person 1: direct only. Removed; removing again is a success.
    connector.deactivate_user(&conn, &user_id(1)).await.unwrap();
    let remaining = |fake: &OktaFake| fake.tenant().apps[0].assignments.len();
    assert_eq!(remaining(&fake), 29);
    connector
        .deactivate_user(&conn, &user_id(1))
        .await
        .expect("idempotent");
    let deletes = fake
        .server
        .requests()
        .iter()
        .filter(|r| r.method == http::Method::DELETE)
        .count();
    assert_eq!(
        deletes, 1,
        "the second call re-read the assignment and found it gone"
    );

    // Person 3: through the group only. Never deleted.
    match vendor(
        connector
            .deactivate_user(&conn, &user_id(3))
            .await
            .unwrap_err(),
    ) {
        ConnectorError::Unsupported(message) => {
            assert!(message.contains(GROUP_NAME), "{message}");
            assert!(
                message.contains("remove the person from that group"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Person 0: direct and through the group. Okta refuses the removal.
    match vendor(
        connector
            .deactivate_user(&conn, &user_id(0))
            .await
            .unwrap_err(),
    ) {
        ConnectorError::Unsupported(message) => assert!(message.contains("E0000046"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(remaining(&fake), 29);
    assert_eq!(
        fake.server
            .requests()
            .iter()
            .filter(|r| r.method == http::Method::DELETE)
            .count(),
        2,
        "no DELETE for the group-only assignment"
    );
    let odd = connector
        .deactivate_user(&conn, "../../apps/0oa2")
        .await
        .unwrap_err();
    assert!(matches!(vendor(odd), ConnectorError::NotFound(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_names_a_missing_app_a_missing_permission_and_a_bad_token() {
    let (fake, connector, conn) = setup(tenant(5)).await;
    let validated = connector.validate(&conn).await.unwrap();
    assert_eq!(
        validated.credential_account.as_deref(),
        Some(fake.tenant().admin_id.as_str())
    );

    let missing = connection(&connector, &fake, TOKEN, "0oa9nosuchapp0000009");
    match vendor(connector.validate(&missing).await.unwrap_err()) {
        ConnectorError::NotFound(message) => {
            assert!(
                message.contains("Okta has no app \"0oa9nosuchapp0000009\""),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }

    fake.edit(|t| t.can_read_logs = false);
    match vendor(connector.validate(&conn).await.unwrap_err()) {
        ConnectorError::Forbidden(message) => {
            assert!(
                message.contains("lacks the permission okta.logs.read"),
                "{message}"
            );
            assert!(message.contains("E0000006"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    let wrong = connection(&connector, &fake, "not-the-token", APP_ID);
    match vendor(connector.validate(&wrong).await.unwrap_err()) {
        ConnectorError::Unauthorized(message) => {
            assert!(message.contains("E0000011"), "{message}");
            assert!(!message.contains("not-the-token"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_asks_to_wait_until_the_reset_okta_names() {
    let (fake, connector, conn) = setup(OktaTenant {
        requests_per_minute: Some(2),
        ..tenant(3)
    })
    .await;
    connector.list_users(&conn, None).await.unwrap();
    connector.list_users(&conn, None).await.unwrap();
    match vendor(connector.list_users(&conn, None).await.unwrap_err()) {
        ConnectorError::RateLimited(Some(ms)) => {
            assert!((1000..=61_000).contains(&ms), "{ms}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.rate_limited(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_link_to_another_host_is_refused_as_untrustworthy() {
    let (fake, connector, conn) = setup(tenant(3)).await;
    let err = connector
        .list_users(
            &conn,
            Some("https://collector.attacker.example/api/v1/apps/x/users"),
        )
        .await
        .unwrap_err();
    match vendor(err) {
        ConnectorError::InvalidResponse(message) => {
            assert!(
                message.contains("does not point into the connection's base URL"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(
        fake.server.requests().is_empty(),
        "nothing was sent anywhere"
    );
}

/// "Smartsheet as seen by Okta", end to end through the application: a
/// sync downloads the app's assignments and sign-ons, the refresh opens
/// candidates for the idle ones, and the reclaim removes the direct
/// assignments at Okta while the group-granted candidate waits for an
/// administrator, naming the group, and the vendor sees no DELETE for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_through_okta_removes_direct_assignments_and_hands_group_ones_to_an_administrator()
 {
    use seatwarden_domain::rules::ReclamationRule;
    use seatwarden_store::CandidateState;
    use seatwarden_tests::published::{Published, Setup};
    let fake = OktaFake::start(tenant(30)).await;
    // Person 3 holds the app through the group only and never signs in.
    fake.edit(|t| t.events.retain(|e| e.user_id != user_id(3)));
    let profile = Published::start(Setup {
        name: "okta-profile",
        connector: "okta",
        base_url: &fake.base_url(),
        credential: TOKEN,
        reclaim: true,
        extra: &format!("[connections.okta.options]\napp-id = \"{APP_ID}\"\n"),
        secrets: &[],
    })
    .await;
    profile.cli(&["sync", "--profile", "okta"]).await.unwrap();
    let record = profile.record().await;
    let stored = profile.app.storage.subscriptions(record.id).await.unwrap();
    assert_eq!(stored.len(), 30);
    let group_held = stored.iter().find(|s| s.account_id == user_id(3)).unwrap();
    assert_eq!(
        group_held.granted_by_group(),
        Some(format!("group {GROUP_NAME} ({GROUP_ID})").as_str())
    );
    profile.refresh().await;
    let candidates = profile
        .app
        .storage
        .candidates(record.id, false)
        .await
        .unwrap();
    let idle: std::collections::BTreeSet<String> =
        candidates.iter().map(|c| c.account_id.clone()).collect();
    // Never signed in to the app: the third of people whose sign-ons all
    // failed, and person 3.
    let expected: std::collections::BTreeSet<String> = (0..30)
        .filter(|i| i % 3 == 2 || *i == 3)
        .map(user_id)
        .collect();
    assert_eq!(idle, expected);

    let rule = ReclamationRule {
        breaker_percent: 100,
        ..ReclamationRule::default()
    };
    let (_, outcome) = profile.reclaim(&rule).await;
    let outcome = outcome.unwrap();
    let group_failure = outcome
        .failed
        .iter()
        .find(|(principal, _)| principal == "person3@example.com")
        .expect("the group-held candidate is not removed");
    assert!(
        group_failure.1.contains(GROUP_NAME)
            && group_failure
                .1
                .contains("remove the person from that group"),
        "{group_failure:?}"
    );
    // Person 14 is assigned directly and through the group: Okta refuses.
    assert!(
        outcome
            .failed
            .iter()
            .any(|(p, why)| p == "person14@example.com" && why.contains("E0000046")),
        "{:?}",
        outcome.failed
    );
    assert_eq!(outcome.deactivated.len(), expected.len() - 2);
    let deleted: Vec<String> = fake
        .server
        .requests()
        .iter()
        .filter(|r| r.method == http::Method::DELETE)
        .map(|r| r.target.rsplit('/').next().unwrap().to_string())
        .collect();
    assert!(!deleted.contains(&user_id(3)), "{deleted:?}");
    let remaining: Vec<String> = fake.tenant().apps[0]
        .assignments
        .iter()
        .map(|a| a.user_id.clone())
        .collect();
    for id in &expected {
        let removed = !remaining.contains(id);
        assert_eq!(removed, *id != user_id(3) && *id != user_id(14), "{id}");
    }
    let after = profile
        .app
        .storage
        .candidates(record.id, true)
        .await
        .unwrap();
    let held = after.iter().find(|c| c.account_id == user_id(3)).unwrap();
    assert_eq!(held.state, CandidateState::AttentionRequired);
}

/// `seatwarden idp apps`: the org's apps, each counted through the
/// connector's own listing, with the profiles that already read it; as a
/// table, JSON and CSV.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_lists_the_orgs_apps_with_counts_and_the_profiles_that_read_them() {
    use seatwarden_app::discovery::{applications, write};
    use seatwarden_app::reports::OutputFormat;
    use seatwarden_tests::okta_fake::OTHER_APP_ID;
    use seatwarden_tests::published::{Published, Setup};
    let fake = OktaFake::start(tenant(40)).await;
    fake.edit(|t| t.apps[1].status = "INACTIVE".into());
    let profile = Published::start(Setup {
        name: "okta-discovery",
        connector: "okta",
        base_url: &fake.base_url(),
        credential: TOKEN,
        reclaim: false,
        extra: &format!("[connections.okta.options]\napp-id = \"{APP_ID}\"\n"),
        secrets: &[],
    })
    .await;
    let record = profile.record().await;
    let rows = applications(&profile.app, record.tenant, &record.tenant_name, "okta")
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let read = rows.iter().find(|r| r.id == APP_ID).unwrap();
    assert_eq!(
        (
            read.label.as_str(),
            read.active,
            read.assigned,
            read.assigned_active
        ),
        ("Smartsheet", true, Some(40), Some(40))
    );
    assert_eq!(read.profiles, vec!["okta".to_string()]);
    let unread = rows.iter().find(|r| r.id == OTHER_APP_ID).unwrap();
    assert_eq!(
        (
            unread.active,
            unread.assigned,
            unread.count_error.as_deref()
        ),
        (false, Some(20), None)
    );
    assert!(unread.profiles.is_empty());
    // Counting went through list-users with the app id swapped in.
    assert!(fake.server.requests().iter().any(|r| {
        r.target
            .starts_with(&format!("/api/v1/apps/{OTHER_APP_ID}/users?"))
    }),);
    let mut csv = Vec::new();
    write(&rows, OutputFormat::Csv, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        csv.starts_with("id,label,active,assigned,assigned_active,profiles,count_error\n"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!("{OTHER_APP_ID},Salesforce,false,20,20,,")),
        "{csv}"
    );
    let mut table = Vec::new();
    write(&rows, OutputFormat::Table, &mut table).unwrap();
    let table = String::from_utf8(table).unwrap();
    assert!(
        table.contains("2 applications, 1 without a profile"),
        "{table}"
    );
    let mut json = Vec::new();
    write(&rows, OutputFormat::Json, &mut json).unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 2);
}
