//! The Microsoft Entra ID connector against the Graph fake: an enterprise
//! app's assignments as accounts (direct or through a group), its
//! successful sign-ins as activity, removal of direct app-role assignments
//! only, OAuth 2.0 client credentials with the secret in the form body
//! (as Microsoft's identity platform documents it), and the refusals an
//! operator must be able to act on.

use seatwarden_sandbox::Connection;
use seatwarden_sandbox::Connector;
use seatwarden_sandbox::ConnectorError;
use seatwarden_sandbox::Credential;
use seatwarden_sandbox::Limits;
use seatwarden_sandbox::egress::PrivateTargets;
use seatwarden_sandbox::oauth::{ClientAuthentication, OAuthClient};
use seatwarden_tests::entra_fake::{
    APP_ID, EntraFake, EntraTenant, GROUP_ID, GROUP_NAME, SIGN_IN_RETENTION_DAYS, seed_tenant,
    user_id,
};
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::fixtures::vendor_error as vendor;
use seatwarden_tests::fixtures::{all_accounts, all_activity, load, runtime};
use seatwarden_tests::smartrecruiters_fake::DAY_MS;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

const CLIENT_ID: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
const CLIENT_SECRET: &str = "qWgdYAmab0YSkuL1qKv5bPX~x3zR.Graph+secret";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

fn tenant(count: usize) -> EntraTenant {
    seed_tenant(CLIENT_ID, CLIENT_SECRET, count, now_ms())
}

async fn setup(tenant: EntraTenant) -> (EntraFake, Connector, Connection) {
    let fake = EntraFake::start(tenant).await;
    let connector = load(&runtime(Limits::default()), "entra").await;
    let conn = connection(&connector, &fake, CLIENT_SECRET, APP_ID);
    (fake, connector, conn)
}

fn connection(connector: &Connector, fake: &EntraFake, secret: &str, app: &str) -> Connection {
    let client = OAuthClient::new(
        CLIENT_ID.into(),
        secret.to_string().into(),
        fake.token_url(),
        Some(GRAPH_SCOPE.into()),
    )
    .with_client_authentication(ClientAuthentication::Post);
    Connection::builder()
        .base_url(fake.base_url())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::OAuth2(Arc::new(client)))
        .option("app-id", app)
        .build(connector.descriptor())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_gets_a_token_with_the_secret_in_the_form_and_graph_sees_only_the_bearer() {
    let (fake, connector, conn) = setup(tenant(3)).await;
    connector.list_users(&conn, None).await.unwrap();
    connector.list_users(&conn, None).await.unwrap();
    let requests = fake.server.requests();
    let tokens: Vec<_> = requests
        .iter()
        .filter(|r| r.target.ends_with("/oauth2/v2.0/token"))
        .collect();
    assert_eq!(tokens.len(), 1, "one token, cached for the second call");
    let form = String::from_utf8(tokens[0].body.to_vec()).unwrap();
    assert!(
        form.contains("grant_type=client_credentials")
            && form.contains(&format!("client_id={CLIENT_ID}"))
            && form.contains("client_secret=qWgdYAmab0YSkuL1qKv5bPX%7Ex3zR.Graph%2Bsecret")
            && form.contains("scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"),
        "{form}"
    );
    assert_eq!(
        tokens[0].header("authorization"),
        None,
        "client_secret_post: one client authentication method, never two"
    );
    for request in requests.iter().filter(|r| r.target.starts_with("/v1.0/")) {
        let bearer = request.header("authorization").unwrap();
        assert!(bearer.starts_with("Bearer eyJ0eXAiOiJKV1Qi"), "{bearer}");
    }

    // A wrong secret: the token endpoint's refusal reaches the operator,
    // without the secret.
    let wrong = connection(&connector, &fake, "not-the-secret", APP_ID);
    let err = connector.list_users(&wrong, None).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(!text.contains("not-the-secret"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assignments_page_by_next_link_and_say_direct_or_which_group() {
    let (fake, connector, conn) = setup(tenant(260)).await;
    let (accounts, pages) = all_accounts(&connector, &conn).await;
    let tenant = fake.tenant();
    // Stored the way the host stores pages: a later listing of one person
    // replaces an earlier one.
    let mut last: HashMap<String, &seatwarden_domain::account::Account> = HashMap::new();
    for account in &accounts {
        last.insert(account.id.clone(), account);
    }
    assert_eq!(last.len(), 260, "everyone assigned, directly or by group");
    assert!(pages >= 3, "assignment pages, then the group's members");
    for (i, user) in tenant.users.iter().enumerate() {
        let account = last[&user.id];
        let attrs: HashMap<_, _> = account.attributes.iter().cloned().collect();
        assert_eq!(account.principal, user.upn, "{i}");
        assert_eq!(account.subscriptions, vec!["app-assignment".to_string()]);
        assert_eq!(account.active, user.enabled, "{i}");
        assert_eq!(
            account.last_active_at, None,
            "signInActivity is tenant-wide"
        );
        let in_group = tenant.groups[GROUP_ID].contains(&user.id);
        if in_group {
            assert_eq!(attrs["assignment"], "group", "{i}");
            assert_eq!(
                attrs["granted-by-group"],
                format!("group {GROUP_NAME} ({GROUP_ID})")
            );
        } else {
            assert_eq!(attrs["assignment"], "direct", "{i}");
            assert!(!attrs.contains_key("granted-by-group"), "{i}");
        }
    }
    let targets: Vec<String> = fake
        .server
        .requests()
        .iter()
        .map(|r| r.target.clone())
        .filter(|t| t.starts_with("/v1.0/"))
        .collect();
    assert!(
        targets[0].starts_with(&format!("/v1.0/servicePrincipals(appId='{APP_ID}')")),
        "{targets:?}"
    );
    assert!(
        targets.iter().any(|t| t.contains("$skiptoken=")),
        "the next link is followed as given"
    );
    assert!(
        targets
            .iter()
            .filter(|t| t.starts_with("/v1.0/users?"))
            .all(|t| t.contains("%24filter=id%20in%20") || t.contains("$filter=id%20in%20")),
        "users are looked up by id, fifteen at a time: {targets:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_are_this_apps_successful_ones_within_what_entra_keeps() {
    let (fake, connector, conn) = setup(tenant(120)).await;
    let now = fake.tenant().now_ms;
    fake.edit(|t| {
        // Another app's sign-in and one Entra no longer keeps.
        t.sign_ins.push(seatwarden_tests::entra_fake::EntraSignIn {
            user_id: user_id(1),
            upn: "person1@contoso.example".into(),
            app_id: seatwarden_tests::entra_fake::OTHER_APP_ID.into(),
            at: now - DAY_MS,
            error_code: 0,
        });
        t.sign_ins.push(seatwarden_tests::entra_fake::EntraSignIn {
            user_id: user_id(2),
            upn: "person2@contoso.example".into(),
            app_id: APP_ID.into(),
            at: now - 45 * DAY_MS,
            error_code: 0,
        });
        t.sign_ins.sort_by_key(|s| std::cmp::Reverse(s.at));
    });
    let kept_from = now - SIGN_IN_RETENTION_DAYS * DAY_MS;
    let expected: BTreeSet<(String, i64)> = fake
        .tenant()
        .sign_ins
        .iter()
        .filter(|s| s.app_id == APP_ID && s.error_code == 0 && s.at >= kept_from)
        .map(|s| (s.user_id.clone(), s.at))
        .collect();
    let (events, _) = all_activity(&connector, &conn, now - 60 * DAY_MS).await;
    let got: BTreeSet<(String, i64)> = events
        .iter()
        .map(|e| (e.account_id.clone(), e.at))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(got.len(), 80, "two thirds succeeded");
    assert!(events.iter().all(|e| e.kind == "signIn"));
    let first = fake
        .server
        .requests()
        .into_iter()
        .find(|r| r.target.starts_with("/v1.0/auditLogs/signIns"))
        .unwrap();
    assert!(
        first.target.contains("appId%20eq%20%27")
            && first.target.contains("createdDateTime%20ge%20"),
        "{}",
        first.target
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_persons_own_direct_assignments_are_deleted() {
    let (fake, connector, conn) = setup(tenant(30)).await;
    let rows_of = |fake: &EntraFake, i: usize| {
        fake.tenant()
            .assignments
            .iter()
            .filter(|a| a.principal_id == user_id(i))
            .count()
    };
    // Person 1: direct, with two roles. Both rows go; again is a success.
    assert_eq!(rows_of(&fake, 1), 2);
    connector.deactivate_user(&conn, &user_id(1)).await.unwrap();
    assert_eq!(rows_of(&fake, 1), 0);
    connector
        .deactivate_user(&conn, &user_id(1))
        .await
        .expect("idempotent");
    let deletes = |fake: &EntraFake| {
        fake.server
            .requests()
            .iter()
            .filter(|r| r.method == http::Method::DELETE)
            .count()
    };
    assert_eq!(deletes(&fake), 2);

    // Person 3 holds the app through the group only: the group's row is
    // not the person's, so nothing is deleted (the listing marks the
    // person, and the host never asks to remove such an account).
    connector.deactivate_user(&conn, &user_id(3)).await.unwrap();
    assert_eq!(deletes(&fake), 2);
    assert!(
        fake.tenant()
            .assignments
            .iter()
            .any(|a| a.principal_id == GROUP_ID),
        "the group's assignment stays"
    );
    // Person 21: two direct rows and the group. The direct rows go.
    assert_eq!(rows_of(&fake, 21), 2);
    connector
        .deactivate_user(&conn, &user_id(21))
        .await
        .unwrap();
    assert_eq!(rows_of(&fake, 21), 0);
    // A person unknown to Entra.
    let unknown = connector
        .deactivate_user(&conn, &user_id(9999))
        .await
        .unwrap_err();
    assert!(matches!(vendor(unknown), ConnectorError::NotFound(_)));
    let odd = connector
        .deactivate_user(&conn, "../../servicePrincipals")
        .await
        .unwrap_err();
    assert!(matches!(vendor(odd), ConnectorError::NotFound(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_names_a_missing_app_and_a_missing_permission_by_name() {
    let (fake, connector, conn) = setup(tenant(5)).await;
    let validated = connector.validate(&conn).await.unwrap();
    assert_eq!(validated.credential_account, None, "an app-only token");

    let missing = connection(
        &connector,
        &fake,
        CLIENT_SECRET,
        "11111111-2222-4333-8444-555555555555",
    );
    match vendor(connector.validate(&missing).await.unwrap_err()) {
        ConnectorError::NotFound(message) => {
            assert!(message.contains("no enterprise app"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let not_a_guid = connection(&connector, &fake, CLIENT_SECRET, "smartsheet");
    match vendor(connector.validate(&not_a_guid).await.unwrap_err()) {
        ConnectorError::Config(message) => {
            assert!(
                message.contains("is not an Application (client) ID"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }

    fake.edit(|t| {
        t.permissions.remove("AuditLog.Read.All");
    });
    match vendor(connector.validate(&conn).await.unwrap_err()) {
        ConnectorError::Forbidden(message) => {
            assert!(
                message.contains("lacks the application permission AuditLog.Read.All"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    fake.edit(|t| {
        t.permissions.insert("AuditLog.Read.All");
        t.premium = false;
    });
    match vendor(connector.validate(&conn).await.unwrap_err()) {
        ConnectorError::Unsupported(message) => {
            assert!(message.contains("need Entra ID P1 or P2"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_on_the_sign_in_reports_asks_to_wait_what_retry_after_says() {
    let (fake, connector, conn) = setup(EntraTenant {
        sign_in_budget: Some(1),
        ..tenant(3)
    })
    .await;
    let now = fake.tenant().now_ms;
    connector
        .get_activity(&conn, now - DAY_MS, None)
        .await
        .unwrap();
    match vendor(
        connector
            .get_activity(&conn, now - DAY_MS, None)
            .await
            .unwrap_err(),
    ) {
        ConnectorError::RateLimited(Some(ms)) => assert_eq!(ms, 3000),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_link_to_another_host_is_refused_as_untrustworthy() {
    let (fake, connector, conn) = setup(tenant(3)).await;
    let err = connector
        .get_activity(
            &conn,
            0,
            Some("https://collector.attacker.example/v1.0/auditLogs/signIns?$skiptoken=x"),
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

fn profile_config(fake: &EntraFake, reclaim: bool) -> String {
    let connection = seatwarden_tests::workspace::loopback_connection(
        "entra-id",
        seatwarden_tests::published::TENANT,
        "entra",
        &fake.base_url(),
        "vendor.key",
    )
    .replace(
        "credential = { file = \"vendor.key\" }",
        &format!(
            "credential = {{ file = \"vendor.key\", client_id = \"{CLIENT_ID}\", token_url = \"{}\", scope = \"{GRAPH_SCOPE}\", client_auth = \"post\" }}",
            fake.token_url()
        ),
    );
    format!(
        "[tenants.{tenant}]\napi_private_targets = \"allow-loopback\"\n\n{connection}\n[connections.entra-id.options]\napp-id = \"{APP_ID}\"\n\n[profiles.entra-id]\ntenant = \"{tenant}\"\nconnection = \"entra-id\"\nreclaim = {reclaim}\n",
        tenant = seatwarden_tests::published::TENANT,
    )
}

/// "Smartsheet as seen by Entra ID", end to end through the application,
/// with the credential as an operator writes it in the configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_through_entra_removes_direct_assignments_and_hands_group_ones_to_an_administrator()
 {
    use seatwarden_domain::rules::ReclamationRule;
    use seatwarden_store::CandidateState;
    use seatwarden_tests::published::Published;
    let fake = EntraFake::start(tenant(30)).await;
    // Person 3 holds the app through the group only and never signs in.
    fake.edit(|t| t.sign_ins.retain(|s| s.user_id != user_id(3)));
    let ws = seatwarden_tests::workspace::Workspace::new("entra-profile");
    ws.secret("vendor.key", CLIENT_SECRET);
    let profile = Published::configured(ws, "entra-id", &profile_config(&fake, true)).await;
    profile
        .cli(&["sync", "--profile", "entra-id"])
        .await
        .unwrap();
    let record = profile.record().await;
    let stored = profile.app.storage.subscriptions(record.id).await.unwrap();
    assert_eq!(stored.len(), 30);
    profile.refresh().await;
    let candidates = profile
        .app
        .storage
        .candidates(record.id, false)
        .await
        .unwrap();
    let idle: BTreeSet<String> = candidates.iter().map(|c| c.account_id.clone()).collect();
    let expected: BTreeSet<String> = (0..30)
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
        .find(|(principal, _)| principal == "person3@contoso.example")
        .expect("the group-held candidate is not removed");
    assert!(
        group_failure.1.contains(GROUP_NAME)
            && group_failure
                .1
                .contains("remove the person from that group"),
        "{group_failure:?}"
    );
    // Person 14 is assigned directly and through the group: the group's
    // listing names it, so it waits for an administrator too.
    assert!(
        outcome
            .failed
            .iter()
            .any(|(p, why)| p == "person14@contoso.example" && why.contains(GROUP_NAME)),
        "{:?}",
        outcome.failed
    );
    assert_eq!(outcome.deactivated.len(), expected.len() - 2, "{outcome:?}");
    let remaining: BTreeSet<String> = fake
        .tenant()
        .assignments
        .iter()
        .map(|a| a.principal_id.clone())
        .collect();
    assert!(remaining.contains(GROUP_ID), "the group's assignment stays");
    for id in &expected {
        // Person 3 never had a row of their own; person 14's stays.
        assert_eq!(remaining.contains(id), *id == user_id(14), "{id}");
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

/// `seatwarden idp apps` over Entra: the tenant's enterprise apps only
/// (not Microsoft's own service principals or managed identities), each
/// counted through the connector's listing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_lists_enterprise_apps_with_counts() {
    use seatwarden_app::discovery::applications;
    use seatwarden_tests::entra_fake::SECOND_APP_ID;
    use seatwarden_tests::published::Published;
    let fake = EntraFake::start(tenant(40)).await;
    let ws = seatwarden_tests::workspace::Workspace::new("entra-discovery");
    ws.secret("vendor.key", CLIENT_SECRET);
    let profile = Published::configured(ws, "entra-id", &profile_config(&fake, false)).await;
    let record = profile.record().await;
    let rows = applications(&profile.app, record.tenant, &record.tenant_name, "entra-id")
        .await
        .unwrap();
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, BTreeSet::from([APP_ID, SECOND_APP_ID]), "{rows:?}");
    let read = rows.iter().find(|r| r.id == APP_ID).unwrap();
    assert_eq!((read.active, read.assigned), (true, Some(40)));
    assert_eq!(read.profiles, vec!["entra-id".to_string()]);
    let other = rows.iter().find(|r| r.id == SECOND_APP_ID).unwrap();
    assert_eq!(
        (other.label.as_str(), other.active, other.assigned),
        ("Salesforce", false, Some(0))
    );
}
