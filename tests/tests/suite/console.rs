//! The web console as people use it: headless Chromium (the system's
//! `chromium` driven through `chromedriver`) signs in through a real
//! OpenID Connect provider (and, at the end, with a one-time sign-in
//! token), takes a profile through its lifecycle, decides a
//! candidate, previews and confirms a reclaim, undoes it, runs a sync
//! against the vendor fake, and reads the reports and the audit log, with
//! a screenshot of each main page under `target/console-screenshots/`.
//!
//! Beside the browser, plain HTTP requests play the attacker: a form
//! without the session's CSRF token, a post from another site, a spent
//! sign-in token, and one tenant's session asking for another's pages.

use super::api::{Api, IDLE, PROFILE, api};
use fantoccini::{Client, ClientBuilder, Locator};
use seatwarden_app::console_sessions;
use seatwarden_domain::access::Scope;
use seatwarden_tests::api_client::{Answer, send};
use seatwarden_tests::fixtures::{now_ms, repo_root};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A sign-in token for `person` of `tenant`.
async fn sign_in_token(api: &Api, tenant: &str, person: &str, scope: Scope) -> String {
    let id = api
        .rig
        .app
        .storage
        .ensure_tenant(tenant, now_ms())
        .await
        .unwrap();
    console_sessions::issue_sign_in(&api.rig.app, id, person, scope, 10 * 60_000, "test")
        .await
        .unwrap()
        .expose_secret()
        .to_string()
}

/// chromedriver on a loopback port, stopped when dropped.
pub(crate) struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver runs: `cargo xtask test` installs Debian's chromium and chromium-driver when they are missing");
    // It says so on stdout once it listens.
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert!(n > 0, "chromedriver exited before it started");
        if line.contains("started successfully") {
            break;
        }
    }
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    Driver { child, port }
}

pub(crate) async fn browser(driver: &Driver, profile_dir: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile_dir.display()),
            ]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session through chromedriver")
}

fn screenshots() -> PathBuf {
    let dir = repo_root().join("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub(crate) async fn shot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

pub(crate) async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
        .text()
        .await
        .unwrap()
}

/// Clicks a button that submits a form, and waits until the browser has
/// left the page (the old document's root is gone), so what is read next
/// is the answer's page, not the one the form was on.
pub(crate) async fn click(client: &Client, css: &str) {
    let old = client.find(Locator::Css("html")).await.unwrap();
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} to click: {e}"))
        .click()
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while old.tag_name().await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "clicking {css} did not load another page"
        );
    }
}

/// Waits until the browser is at `path` of the server (a page that moves
/// on by itself, like the sign-in's last step, takes a moment).
pub(crate) async fn wait_for_path(client: &Client, path: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while client.current_url().await.unwrap().path() != path {
        assert!(
            std::time::Instant::now() < deadline,
            "the browser never reached {path}: {}",
            client.source().await.unwrap_or_default()
        );
    }
}

/// Opening the console lands on the sign-in page (no live session).
async fn assert_sent_to_sign_in(client: &Client, base: &str) {
    client.goto(&format!("{base}/console")).await.unwrap();
    let url = client.current_url().await.unwrap();
    assert_eq!(url.path(), "/console/sign-in", "{url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_decides_reclaims_and_undoes_in_a_real_browser() {
    let (api, _provider) = super::sign_on::signed_on_api("console-browser", false).await;
    let base = format!("http://127.0.0.1:{}", api.port);
    let driver = start_chromedriver();
    let profile_dir = repo_root().join("target/test-tmp/console-browser");
    let _ = std::fs::remove_dir_all(&profile_dir);
    let client = browser(&driver, &profile_dir).await;

    // Without a session, the console sends the browser to sign in; the
    // person signs in with their company account at the provider.
    assert_sent_to_sign_in(&client, &base).await;
    shot(&client, "01-sign-in").await;
    super::sign_on::sign_in_through_provider(
        &client,
        &base,
        "dana@acme.example",
        Some("01-identity-provider"),
    )
    .await;
    wait_for_path(&client, "/console").await;
    assert_eq!(text(&client, "#tenant").await, "acme");
    assert!(
        text(&client, "#person")
            .await
            .contains("dana@acme.example (admin)")
    );
    let profiles = text(&client, "#profiles").await;
    assert!(
        profiles.contains(PROFILE) && profiles.contains("published"),
        "{profiles}"
    );
    shot(&client, "02-overview").await;

    // The profile's lifecycle: unpublish, validate against the fake, publish.
    client
        .goto(&format!("{base}/console/profiles/{PROFILE}"))
        .await
        .unwrap();
    click(&client, "#unpublish").await;
    assert_eq!(text(&client, "#status").await, "draft");
    click(&client, "#validate").await;
    assert!(
        text(&client, "#validation")
            .await
            .contains("validation passed")
    );
    click(&client, "#publish").await;
    assert_eq!(text(&client, "#status").await, "published");
    assert!(text(&client, "main").await.contains("is published"));
    shot(&client, "03-profile").await;

    // The queue: every idle account with why; keep one.
    client
        .goto(&format!("{base}/console/candidates"))
        .await
        .unwrap();
    let queue = text(&client, "#candidates").await;
    assert!(queue.contains("never logged in"), "{queue}");
    let first = api.first_candidate().await;
    click(&client, &format!("#keep-{first}")).await;
    assert!(text(&client, "main").await.contains("Decision recorded"));
    shot(&client, "04-candidates").await;

    // Preview: exactly what would be deactivated, and the breaker's verdict.
    click(&client, &format!("#preview-{PROFILE}")).await;
    assert!(text(&client, "#breaker").await.contains("allowed"));
    let plan = text(&client, "#plan").await;
    let writes_before = api.vendor.server.writes().len();
    assert_eq!(
        api.vendor_inactive().len(),
        0,
        "a preview deactivates nothing"
    );
    shot(&client, "05-reclaim-preview").await;
    click(&client, "#confirm-reclaim").await;
    let deactivated = text(&client, "#deactivated").await;
    let inactive = api.vendor_inactive();
    assert_eq!(inactive.len(), IDLE - 1);
    for who in &inactive {
        assert!(plan.contains(who.as_str()), "{who} was not in the preview");
        assert!(deactivated.contains(who.as_str()));
    }
    assert!(api.vendor.server.writes().len() > writes_before);
    shot(&client, "06-reclaimed").await;

    // Undo one from the queue: the vendor has the account active again.
    client
        .goto(&format!("{base}/console/candidates"))
        .await
        .unwrap();
    click(&client, "button[id^=undo-]").await;
    assert!(text(&client, "main").await.contains("reactivated"));
    assert_eq!(api.vendor_inactive().len(), IDLE - 2);

    // Run a sync now; the scheduler's pass downloads from the fake, and
    // the profile page shows the job.
    client
        .goto(&format!("{base}/console/profiles/{PROFILE}"))
        .await
        .unwrap();
    click(&client, "#run-subscriptions").await;
    assert!(text(&client, "main").await.contains("due now"));
    api.rig.cli(&["serve", "--once"]).await.unwrap();
    client.refresh().await.unwrap();
    let jobs = text(&client, "#jobs").await;
    assert!(
        jobs.contains("subscriptions") && jobs.contains("succeeded"),
        "{jobs}"
    );

    // Reports: reconcile, the figures, and the histogram as a picture.
    client
        .goto(&format!("{base}/console/reports"))
        .await
        .unwrap();
    click(&client, "#reconcile").await;
    assert!(
        text(&client, "#compliance")
            .await
            .contains("SmartRecruiters")
    );
    let width = client
        .execute(
            "return document.getElementById('activity').naturalWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        width.as_u64().unwrap_or(0) > 0,
        "the activity picture did not load"
    );
    shot(&client, "07-reports").await;

    // The audit log names the person and verifies.
    client.goto(&format!("{base}/console/audit")).await.unwrap();
    assert!(
        text(&client, "#verification")
            .await
            .contains("chain intact")
    );
    let log = text(&client, "#audit").await;
    assert!(log.contains("console:dana@acme.example"), "{log}");
    assert!(
        log.contains("by single sign-on through http://127.0.0.1:"),
        "{log}"
    );
    assert!(
        log.contains("profile.publish") && log.contains("candidate"),
        "{log}"
    );
    shot(&client, "08-audit").await;

    // Signing out ends the session: the console asks for a sign-in again.
    click(&client, "form.signout button").await;
    assert_sent_to_sign_in(&client, &base).await;

    // A one-time sign-in token (the first operator's way in) works too: the
    // link fills the form, the click spends it.
    let token = sign_in_token(&api, "acme", "Dana Reviewer", Scope::Admin).await;
    client
        .goto(&format!("{base}/console/sign-in?token={token}"))
        .await
        .unwrap();
    click(&client, "#sign-in").await;
    assert_eq!(client.current_url().await.unwrap().path(), "/console");
    assert!(text(&client, "#person").await.contains("Dana Reviewer"));
    client.close().await.unwrap();
}

/// The session cookie a sign-in token opens, through a plain POST.
async fn session_cookie(api: &Api, token: &str) -> Answer {
    send(
        api.port,
        "POST",
        "/console/sign-in",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(format!("token={token}").into_bytes()),
    )
    .await
}

fn cookie_of(answer: &Answer) -> String {
    let set = answer.header("set-cookie").expect("a session cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("Secure") && set.contains("SameSite=Strict"),
        "{set}"
    );
    set.split(';').next().unwrap().to_string()
}

fn csrf_of(page: &Answer) -> String {
    let html = String::from_utf8_lossy(&page.body);
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..at + 32].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_sessions_refuse_forged_forms_spent_tokens_and_other_tenants() {
    let api = api("console-guards").await;
    let acme = sign_in_token(&api, "acme", "Ari", Scope::Operate).await;
    let opened = session_cookie(&api, &acme).await;
    assert_eq!(opened.status, 303);
    let acme_cookie = cookie_of(&opened);
    // A sign-in token works once.
    let again = session_cookie(&api, &acme).await;
    assert_eq!(again.status, 401);
    assert!(again.header("set-cookie").is_none());

    let get = |cookie: String, target: String| async move {
        send(
            api.port,
            "GET",
            &target,
            &[("cookie", cookie.as_str())],
            None,
        )
        .await
    };
    let overview = get(acme_cookie.clone(), "/console".into()).await;
    assert_eq!(overview.status, 200);
    let csp = overview.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(overview.header("x-frame-options"), Some("DENY"));
    let csrf = csrf_of(&overview);

    let candidate = api.first_candidate().await;
    let decide = format!("/console/candidates/{candidate}/decision");
    let post = |cookie: String, target: String, body: String, site: &'static str| async move {
        send(
            api.port,
            "POST",
            &target,
            &[
                ("cookie", cookie.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
                ("sec-fetch-site", site),
            ],
            Some(body.into_bytes()),
        )
        .await
    };
    // No CSRF token, a wrong one, or a post from another site: refused,
    // and the candidate is untouched.
    for (body, site) in [
        ("decision=keep".to_string(), "same-origin"),
        (
            "decision=keep&csrf=00000000000000000000000000000000".to_string(),
            "same-origin",
        ),
        (format!("decision=keep&csrf={csrf}"), "cross-site"),
    ] {
        let refused = post(acme_cookie.clone(), decide.clone(), body.clone(), site).await;
        assert!(
            refused.status == 403 || refused.status == 422,
            "{body} from {site}: {}",
            refused.status
        );
    }
    let untouched = api
        .get(&format!("/api/v1/candidates/{candidate}"), &api.acme_read)
        .await;
    assert_eq!(untouched.json()["state"], "ready");

    // globex's session sees none of acme's pages and cannot decide acme's candidate.
    let globex = sign_in_token(&api, "globex", "Gil", Scope::Admin).await;
    let globex_cookie = cookie_of(&session_cookie(&api, &globex).await);
    let globex_page = get(globex_cookie.clone(), "/console".into()).await;
    let globex_csrf = csrf_of(&globex_page);
    assert!(!String::from_utf8_lossy(&globex_page.body).contains(PROFILE));
    let profile = get(
        globex_cookie.clone(),
        format!("/console/profiles/{PROFILE}"),
    )
    .await;
    assert_eq!(profile.status, 404);
    let queue = get(globex_cookie.clone(), "/console/candidates".into()).await;
    assert!(!String::from_utf8_lossy(&queue.body).contains("@example.com"));
    let cross = post(
        globex_cookie.clone(),
        decide.clone(),
        format!("decision=keep&csrf={globex_csrf}"),
        "same-origin",
    )
    .await;
    assert_eq!(cross.status, 404);
    // acme's CSRF token is no good with globex's session either.
    let swapped = post(
        globex_cookie,
        "/console/reports/reconcile".into(),
        format!("csrf={csrf}"),
        "same-origin",
    )
    .await;
    assert_eq!(swapped.status, 403);

    // The right form from the right session works, and is audited by name.
    let done = post(
        acme_cookie.clone(),
        decide,
        format!("decision=keep&csrf={csrf}"),
        "same-origin",
    )
    .await;
    assert_eq!(done.status, 303, "{}", String::from_utf8_lossy(&done.body));
    let audit = api
        .get("/api/v1/audit?limit=500", &api.acme_read)
        .await
        .json();
    assert!(
        audit["items"].as_array().unwrap().iter().any(|e| e["actor"]
            .as_str()
            .unwrap()
            .starts_with("console:Ari")
            && e["action"].as_str().unwrap().starts_with("candidate")),
        "{audit}"
    );
    // A read session sees the queue without decision buttons.
    let reader = sign_in_token(&api, "acme", "Rae", Scope::Read).await;
    let reader_cookie = cookie_of(&session_cookie(&api, &reader).await);
    let read_queue = get(reader_cookie, "/console/candidates".into()).await;
    assert!(!String::from_utf8_lossy(&read_queue.body).contains("/decision"));
}
