//! TLS, end to end: the host reaches a vendor over HTTPS when the server's
//! certificate chains to a CA the operator trusts in `[tls] extra_roots`,
//! injects the credential over it, and refuses — with the reason in the
//! error the operator reads — a certificate from a CA nobody trusts or one
//! that names another host. Notices go to a real SMTP relay (aiosmtpd) over
//! required STARTTLS and over TLS from the first byte, under the same trust.
//! Every certificate is minted per test by a test CA (rcgen).

use seatwarden_app::profiles::Profiles;
use seatwarden_store::{CandidateState, Validation};
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::published::{Published, Setup, TENANT};
use seatwarden_tests::smartrecruiters_fake::{
    SmartRecruitersFake, SrTenant, aged_accounts, seed_users_only,
};
use seatwarden_tests::smtp_sink::{SinkTls, SmtpSink};
use seatwarden_tests::tls::{TestCa, TlsFront};
use seatwarden_tests::workspace::{Workspace, loopback_connection};
use std::net::SocketAddr;

const TOKEN: &str = "DCRA1-tls-credential";
const LINK_KEY: &str = "k3y-for-answer-links-at-least-32-bytes-long";

async fn vendor() -> SmartRecruitersFake {
    SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_users_only(TOKEN, 5, now_ms())
    })
    .await
}

fn address(fake: &SmartRecruitersFake) -> SocketAddr {
    fake.url().trim_start_matches("http://").parse().unwrap()
}

/// Applies a SmartRecruiters profile on `url` and validates it, trusting
/// the CA certificates in `roots` (PEM) besides the Mozilla roots.
async fn validate_through(name: &str, url: &str, roots: &[&str]) -> Validation {
    let ws = Workspace::new(name);
    ws.secret("vendor.key", TOKEN);
    let mut files = Vec::new();
    for (i, pem) in roots.iter().enumerate() {
        let file = format!("ca-{i}.pem");
        std::fs::write(ws.dir.join(&file), pem).unwrap();
        files.push(format!("{file:?}"));
    }
    ws.write_config(&format!(
        "[tls]\nextra_roots = [{}]\n\n[tenants.{TENANT}]\n\n{}\n[profiles.sr]\ntenant = \"{TENANT}\"\nconnection = \"sr\"\n",
        files.join(", "),
        loopback_connection("sr", TENANT, "smartrecruiters", url, "vendor.key"),
    ));
    let app = ws.app().await.unwrap();
    let (tenant_name, tenant) = app.tenant(Some(TENANT)).await.unwrap();
    let profiles = Profiles {
        app: &app,
        tenant,
        tenant_name,
        actor: "test".into(),
    };
    profiles.apply().await.unwrap();
    profiles.validate("sr").await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_behind_a_private_ca_is_reached_over_https_with_the_credential() {
    let fake = vendor().await;
    let ca = TestCa::new("Seatwarden test CA");
    let front = TlsFront::start(&ca.issue(&["localhost"]), address(&fake)).await;

    // The fake answers 401 without the right X-SmartToken: passing means
    // the host injected the credential into the TLS session.
    let trusted = validate_through("tls-trusted", &front.url(), &[&ca.pem]).await;
    assert!(trusted.passed, "{}", trusted.detail);
    assert!(
        trusted.detail.contains(&format!("reached {}", front.url())),
        "{}",
        trusted.detail
    );
    assert!(!trusted.detail.contains(TOKEN));

    // The same server, with the CA not in [tls] extra_roots: refused, and
    // the error says why and what to change.
    let untrusted = validate_through("tls-untrusted", &front.url(), &[]).await;
    assert!(!untrusted.passed);
    assert!(
        untrusted.detail.contains(
            "the TLS certificate of localhost was refused: it was not issued by a certificate authority the host trusts"
        ) && untrusted.detail.contains("[tls] extra_roots"),
        "{}",
        untrusted.detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_or_for_another_host_is_refused() {
    let fake = vendor().await;
    let trusted = TestCa::new("Trusted CA");
    let stranger = TestCa::new("Unknown CA");

    // Signed by a CA the host was not told to trust, for the right name.
    let foreign = TlsFront::start(&stranger.issue(&["localhost"]), address(&fake)).await;
    let refused = validate_through("tls-foreign", &foreign.url(), &[&trusted.pem]).await;
    assert!(!refused.passed);
    assert!(
        refused.detail.contains(
            "the TLS certificate of localhost was refused: it was not issued by a certificate authority the host trusts"
        ),
        "{}",
        refused.detail
    );

    // Signed by the trusted CA, but for another host.
    let misnamed = TlsFront::start(&trusted.issue(&["vendor.example"]), address(&fake)).await;
    let refused = validate_through("tls-misnamed", &misnamed.url(), &[&trusted.pem]).await;
    assert!(!refused.passed);
    assert!(
        refused.detail.contains(
            "the TLS certificate of localhost was refused: certificate not valid for name"
        ) && refused.detail.contains("vendor.example"),
        "{}",
        refused.detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_roots_that_are_not_ca_certificates_are_refused_at_load() {
    let ws = Workspace::new("tls-config");
    let ca = TestCa::new("Config CA");
    let server = ca.issue(&["localhost"]);
    std::fs::write(ws.dir.join("key.pem"), &server.key_pem).unwrap();
    std::fs::write(ws.dir.join("ca.pem"), &ca.pem).unwrap();
    std::fs::write(
        ws.dir.join("garbled.pem"),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let cases = [
        (
            r#"["ca.pem", "missing.pem"]"#,
            "tls.extra_roots[1]",
            "cannot read",
        ),
        (
            r#"["key.pem"]"#,
            "tls.extra_roots[0]",
            "holds no \"BEGIN CERTIFICATE\" block",
        ),
        (
            r#"["garbled.pem"]"#,
            "tls.extra_roots[0]",
            "certificate 1 of 1 cannot be a trust anchor",
        ),
    ];
    for (roots, key, problem) in cases {
        ws.write_config(&format!("[tls]\nextra_roots = {roots}\n"));
        let err = seatwarden_config::Config::load(&ws.config_path()).unwrap_err();
        assert_eq!(err.key, key, "{err}");
        assert!(err.problem.contains(problem), "{roots}: {err}");
        assert!(err.fix.contains("PEM files"), "{err}");
    }
    ws.write_config("[tls]\nextra_roots = [\"ca.pem\"]\n");
    let config = seatwarden_config::Config::load(&ws.config_path()).unwrap();
    assert_eq!(config.trusted_roots.certificates().len(), 1);
}

/// A published profile whose notices go to `localhost:port` with
/// `security`, trusting `ca` for the relay. Returns it with three idle
/// users stored, ready to refresh.
async fn notifying(
    name: &str,
    port: u16,
    security: &str,
    ca: &TestCa,
) -> (SmartRecruitersFake, Published) {
    let fake = vendor().await;
    let extra = format!(
        r#"[profiles.smartrecruiters.rule]
notify_days = 7

[tls]
extra_roots = ["ca.pem"]

[notifications]
from = "Seatwarden <seatwarden@acme.example>"
answer_url = "https://seatwarden.acme.example"
link_key = {{ file = "link.key" }}

[notifications.smtp]
host = "localhost"
port = {port}
security = "{security}"
"#
    );
    let profile = Published::start(Setup {
        name,
        connector: "smartrecruiters",
        base_url: &fake.url(),
        credential: TOKEN,
        reclaim: true,
        extra: &extra,
        secrets: &[("link.key", LINK_KEY), ("ca.pem", &ca.pem)],
    })
    .await;
    let now = now_ms();
    profile
        .store(&aged_accounts(&fake.users(), 3, now), now)
        .await;
    (fake, profile)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_go_over_starttls_and_implicit_tls_to_a_relay_the_ca_vouches_for() {
    let ca = TestCa::new("Mail CA");
    let relay = ca.issue(&["localhost"]);
    for (security, tls) in [
        ("starttls", SinkTls::StartTls(&relay)),
        ("tls", SinkTls::Implicit(&relay)),
    ] {
        // The STARTTLS sink refuses MAIL before STARTTLS; the implicit one
        // speaks nothing but TLS: a message arriving proves the upgrade.
        let sink = SmtpSink::start_tls(tls).unwrap();
        let (_fake, profile) =
            notifying(&format!("tls-mail-{security}"), sink.port, security, &ca).await;
        let refreshed = profile.refresh().await;
        assert!(
            refreshed.summary.contains("3 users told"),
            "{security}: {}",
            refreshed.summary
        );
        assert_eq!(sink.messages().len(), 3, "{security}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_whose_certificate_nobody_vouches_for_gets_no_notice() {
    let trusted = TestCa::new("Mail CA");
    let stranger = TestCa::new("Unknown mail CA");
    let relay = stranger.issue(&["localhost"]);
    for (security, tls) in [
        ("starttls", SinkTls::StartTls(&relay)),
        ("tls", SinkTls::Implicit(&relay)),
    ] {
        let sink = SmtpSink::start_tls(tls).unwrap();
        let (_fake, profile) = notifying(
            &format!("tls-mail-refused-{security}"),
            sink.port,
            security,
            &trusted,
        )
        .await;
        let refreshed = profile.refresh().await;
        assert!(
            refreshed.summary.contains("0 users told")
                && refreshed.summary.contains("3 notices not sent")
                && refreshed.summary.contains("UnknownIssuer"),
            "{security}: {}",
            refreshed.summary
        );
        assert!(sink.messages().is_empty(), "{security}");
        // Nobody was told, so nobody's clock started.
        let record = profile.record().await;
        let candidates = profile
            .app
            .storage
            .candidates(record.id, true)
            .await
            .unwrap();
        assert_eq!(candidates.len(), 3);
        assert!(
            candidates
                .iter()
                .all(|c| c.state == CandidateState::Ready && c.notified_at.is_none())
        );
    }
}
