//! Single sign-on to the console through a real OpenID Connect provider
//! (npm's `oidc-provider`, its own process on loopback).
//!
//! The browser walk in `console.rs` signs in this way; here plain HTTP
//! requests play the attacker against the flow itself: a callback replayed,
//! one from a browser that did not start the sign-in, one naming another
//! provider, a forged code, the provider's own refusal; and the operator's
//! mistakes: a provider that is down, and one at an address the tenant's
//! configuration does not allow. Headless Chromium then signs in people the
//! tenant grants nothing, and one whose e-mail the provider has not
//! verified.

use super::api::{Api, api_configured};
use super::console::{browser, shot, start_chromedriver, text};
use fantoccini::{Client, Locator};
use seatwarden_tests::api_client::{Answer, send};
use seatwarden_tests::fixtures::repo_root;
use seatwarden_tests::identity_provider::{CLIENT_SECRET, IdentityProvider};

/// acme signs in through the provider (admins and asset managers by
/// group); globex names the same provider without allowing loopback
/// addresses; initech names a provider that is not running. With
/// `claims_in_userinfo`, the provider keeps e-mail and groups out of its
/// ID tokens.
pub(crate) async fn signed_on_api(name: &str, claims_in_userinfo: bool) -> (Api, IdentityProvider) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let redirect = format!("http://127.0.0.1:{port}/console/sso/callback");
    let provider = IdentityProvider::start(&redirect, claims_in_userinfo);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let extra = format!(
        "{}\n[tenants.globex]\n{}\n[tenants.initech]\n{}",
        provider.sign_on_table(
            "acme",
            &redirect,
            "sso.secret",
            "private_targets = \"allow-loopback\"\nrequired_claims = { org = \"acme\" }\n"
        ),
        provider.sign_on_table("globex", &redirect, "sso.secret", ""),
        provider
            .sign_on_table(
                "initech",
                &redirect,
                "sso.secret",
                "private_targets = \"allow-loopback\"\n"
            )
            .replace(&provider.issuer, &format!("http://127.0.0.1:{closed}")),
    );
    let api = api_configured(
        name,
        seatwarden_server::Options::default(),
        listener,
        &extra,
        &[("sso.secret", CLIENT_SECRET)],
    )
    .await;
    (api, provider)
}

async fn get(api: &Api, target: &str, cookie: Option<&str>) -> Answer {
    let headers: Vec<(&str, &str)> = cookie.map(|c| ("cookie", c)).into_iter().collect();
    send(api.port, "GET", target, &headers, None).await
}

fn page(answer: &Answer) -> String {
    String::from_utf8_lossy(&answer.body).into_owned()
}

/// A started sign-in: the provider's authorization URL, its state, and
/// the cookie the browser was given.
struct Started {
    location: String,
    state: String,
    cookie: String,
}

async fn start(api: &Api, tenant: &str) -> Started {
    let answer = get(api, &format!("/console/sso/{tenant}/start"), None).await;
    assert_eq!(answer.status, 303, "{}", page(&answer));
    let location = answer.header("location").unwrap().to_string();
    let set = answer.header("set-cookie").unwrap();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=600",
    ] {
        assert!(set.contains(attribute), "{set}");
    }
    let cookie = set.split(';').next().unwrap().to_string();
    assert!(cookie.starts_with("__Host-seatwarden-sso-"), "{cookie}");
    let state = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    Started {
        location,
        state,
        cookie,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_sign_on_refuses_replays_other_browsers_other_providers_and_bad_setups() {
    let (api, provider) = signed_on_api("sso-guards", false).await;

    // The sign-in page's organisation form leads to the sign-in link;
    // an organisation without single sign-on is told so.
    let offered = get(&api, "/console/sso?organisation=acme", None).await;
    assert_eq!(offered.status, 200);
    assert!(page(&offered).contains("/console/sso/acme/start"));
    let unknown = get(&api, "/console/sso?organisation=umbrella", None).await;
    assert_eq!(unknown.status, 404);

    // Starting sends the browser to the provider with PKCE (S256), a
    // state, a nonce and the registered redirect; the verifier stays in
    // the browser's cookie and never appears in the URL.
    let first = start(&api, "acme").await;
    let url = url::Url::parse(&first.location).unwrap();
    assert!(
        first
            .location
            .starts_with(&format!("{}/auth?", provider.issuer))
    );
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param("client_id").as_deref(), Some("seatwarden"));
    assert!(param("nonce").is_some());
    assert!(param("scope").unwrap().split(' ').any(|s| s == "openid"));
    let verifier = first.cookie.split_once('=').unwrap().1.to_string();
    assert!(verifier.len() >= 43, "{verifier}");
    assert!(!first.location.contains(&verifier));

    // Each attempt has a cookie of its own: a second tab's sign-in does
    // not overwrite the first one's.
    let other_tab = start(&api, "acme").await;
    assert_ne!(
        first.cookie.split_once('=').unwrap().0,
        other_tab.cookie.split_once('=').unwrap().0
    );

    // A callback without the cookie: refused, and the attempt is spent, so
    // the right browser cannot use it afterwards either.
    let callback = |s: &Started, extra: &str| {
        format!("/console/sso/callback?state={}&code=abc{extra}", s.state)
    };
    let stolen = get(&api, &callback(&first, ""), None).await;
    assert_eq!(stolen.status, 401);
    assert!(
        page(&stolen).contains("did not start this sign-in"),
        "{}",
        page(&stolen)
    );
    let replay = get(&api, &callback(&first, ""), Some(&first.cookie)).await;
    assert_eq!(replay.status, 401);
    assert!(page(&replay).contains("unknown, already used or expired"));

    // Another browser's verifier under this attempt's cookie name does not
    // finish this browser's sign-in.
    let second = start(&api, "acme").await;
    let third = start(&api, "acme").await;
    let (second_name, _) = second.cookie.split_once('=').unwrap();
    let (_, third_value) = third.cookie.split_once('=').unwrap();
    let crossed_cookie = format!("{second_name}={third_value}");
    let crossed = get(&api, &callback(&second, ""), Some(&crossed_cookie)).await;
    assert_eq!(crossed.status, 401);
    assert!(page(&crossed).contains("started in another browser"));

    // An answer that names another provider (a mix-up attack) is refused.
    let mixed = get(
        &api,
        &callback(&third, "&iss=http%3A%2F%2F127.0.0.1%3A9"),
        Some(&third.cookie),
    )
    .await;
    assert_eq!(mixed.status, 401);
    assert!(page(&mixed).contains("another identity provider"));

    // A forged code: the provider's token endpoint refuses it, and no
    // session is opened.
    let forged_start = start(&api, "acme").await;
    let forged = get(
        &api,
        &callback(&forged_start, ""),
        Some(&forged_start.cookie),
    )
    .await;
    assert_eq!(forged.status, 502, "{}", page(&forged));
    assert!(
        page(&forged).contains("the authorization code could not be redeemed"),
        "{}",
        page(&forged)
    );
    assert!(forged.header("set-cookie").is_none());

    // The provider's own refusal is shown, escaped and cut.
    let denied_start = start(&api, "acme").await;
    let denied = get(
        &api,
        &format!(
            "/console/sso/callback?state={}&error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            denied_start.state
        ),
        Some(&denied_start.cookie),
    )
    .await;
    assert_eq!(denied.status, 401);
    let shown = page(&denied);
    assert!(
        shown.contains("did not sign you in: access_denied"),
        "{shown}"
    );
    assert!(!shown.contains("<script>"), "{shown}");

    // A provider at an address the tenant's configuration does not allow
    // (loopback, with private_targets left at deny) is never contacted.
    let blocked = get(&api, "/console/sso/globex/start", None).await;
    assert_eq!(blocked.status, 502);
    assert!(
        page(&blocked).contains("address rules do not allow contacting it"),
        "{}",
        page(&blocked)
    );
    // The page says which step failed, not where things are: no addresses.
    assert!(!page(&blocked).contains("127.0.0.1"), "{}", page(&blocked));
    // A provider that is down: a clear page, no cookie.
    let down = get(&api, "/console/sso/initech/start", None).await;
    assert_eq!(down.status, 502);
    assert!(
        page(&down).contains("discovery document could not be read"),
        "{}",
        page(&down)
    );
    assert!(down.header("set-cookie").is_none());

    // A tenant keeps a bounded number of attempts in flight: the oldest
    // make room, so a stranger's loop of starts cannot lock people out.
    let storage = &api.rig.app.storage;
    let acme = storage.find_tenant("acme").await.unwrap().unwrap();
    for (i, hash) in ["a1", "a2", "a3"].into_iter().enumerate() {
        let at = seatwarden_tests::fixtures::now_ms() + i as i64;
        let attempt = seatwarden_store::NewSignOn {
            state_hash: hash,
            tenant: acme,
            binding_hash: "b",
            nonce: "n",
            at,
            expires_at: at + 60_000,
        };
        storage.begin_sign_on(&attempt, 2).await.unwrap();
    }
    let now = seatwarden_tests::fixtures::now_ms();
    assert!(storage.take_sign_on("a3", now).await.unwrap().is_some());
    assert!(storage.take_sign_on("a2", now).await.unwrap().is_some());
    assert!(
        storage.take_sign_on("a1", now).await.unwrap().is_none(),
        "the oldest made room"
    );

    // Nothing of the verifiers is in the database: only hashes.
    let db = api.rig.ws.database_bytes();
    let db_text = String::from_utf8_lossy(&db);
    for started in [&second, &third] {
        let verifier = started.cookie.split_once('=').unwrap().1;
        assert!(!db_text.contains(verifier));
    }
}

/// Signs in at the provider's login form as `login` (any password), and
/// confirms its consent page, until the browser is back at Seatwarden.
async fn sign_in_at_provider(client: &Client, base: &str, login: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the provider's pages did not lead back"
        );
        let url = client.current_url().await.unwrap();
        if url.as_str().starts_with(base) {
            return;
        }
        if let Ok(field) = client.find(Locator::Css("input[name=login]")).await {
            field.send_keys(login).await.unwrap();
            client
                .find(Locator::Css("input[name=password]"))
                .await
                .unwrap()
                .send_keys("any password")
                .await
                .unwrap();
            super::console::click(client, "button[type=submit]").await;
        } else if client
            .find(Locator::Css("button[type=submit]"))
            .await
            .is_ok()
        {
            super::console::click(client, "button[type=submit]").await;
        }
        // Otherwise the provider's redirects are still running: look again.
    }
}

/// Goes from the sign-in page through the organisation form to the
/// provider (whose first page is saved as screenshot `shot_name`, if
/// given) and back.
pub(crate) async fn sign_in_through_provider(
    client: &Client,
    base: &str,
    login: &str,
    shot_name: Option<&str>,
) {
    client
        .goto(&format!("{base}/console/sign-in"))
        .await
        .unwrap();
    client
        .find(Locator::Css("#organisation"))
        .await
        .unwrap()
        .send_keys("acme")
        .await
        .unwrap();
    super::console::click(client, "#sso").await;
    super::console::click(client, "#sso-start").await;
    if let Some(name) = shot_name {
        shot(client, name).await;
    }
    sign_in_at_provider(client, base, login).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_vouching_for_someone_the_tenant_grants_nothing_opens_no_session() {
    // This provider keeps e-mail and groups for its userinfo answer: the
    // host asks there for what the ID token lacks.
    let (api, _provider) = signed_on_api("sso-refusals", true).await;
    let base = format!("http://127.0.0.1:{}", api.port);
    let driver = start_chromedriver();
    let profile_dir = repo_root().join("target/test-tmp/sso-refusals");
    let _ = std::fs::remove_dir_all(&profile_dir);
    let client = browser(&driver, &profile_dir).await;

    // In none of the groups the configuration names: refused, told why.
    sign_in_through_provider(&client, &base, "nobody@acme.example", None).await;
    let problem = text(&client, "#sign-on-problem").await;
    assert!(
        problem.contains("grants that account no access"),
        "{problem}"
    );
    shot(&client, "10-sso-refused").await;
    client.goto(&format!("{base}/console")).await.unwrap();
    assert_eq!(
        client.current_url().await.unwrap().path(),
        "/console/sign-in"
    );

    // An e-mail the provider has not verified names nobody. (The
    // provider's own session is forgotten first, or it would sign the
    // same account in again without asking.)
    client.delete_all_cookies().await.unwrap();
    sign_in_through_provider(&client, &base, "unverified@acme.example", None).await;
    let problem = text(&client, "#sign-on-problem").await;
    assert!(
        problem.contains("does not say this account's e-mail address is verified"),
        "{problem}"
    );

    // Another organisation's account on the same provider, in a group of
    // the same name: the required organisation claim keeps it out.
    client.delete_all_cookies().await.unwrap();
    sign_in_through_provider(&client, &base, "mallory@other.example", None).await;
    let problem = text(&client, "#sign-on-problem").await;
    assert!(problem.contains("outside this organisation"), "{problem}");

    // An asset manager gets operate, not admin.
    client.delete_all_cookies().await.unwrap();
    sign_in_through_provider(&client, &base, "omar@acme.example", None).await;
    super::console::wait_for_path(&client, "/console").await;
    assert!(
        text(&client, "#person")
            .await
            .contains("omar@acme.example (operate)")
    );
    client.close().await.unwrap();
}
