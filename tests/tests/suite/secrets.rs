//! The promise that secrets never reach logs, errors, the database or the
//! screen, checked the way an attacker would look for them: an operator
//! runs every flow of the command line (apply, validate, publish, sync,
//! lists, candidates, reclaim, undo, manual deactivation, audit, reports)
//! against three vendor fakes, the real SCIM server and a vendor that echoes
//! the credential back in its errors, with the host logging at trace level.
//! Then every byte the host printed, logged or wrote (database, WAL, audit
//! export) is searched for each credential in every form it travels in:
//! as is, base64 (standard, URL-safe, unpadded), its HTTP Basic pair and
//! percent-encoded.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use seatwarden_store::Storage;
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::fixtures::{guest, repo_root, seatwarden_command};
use seatwarden_tests::published::store_download;
use seatwarden_tests::scim_fake::{Listing, ScimBehaviour, ScimFake, bench_user};
use seatwarden_tests::scim_server::{ScimServer, seed_user};
use seatwarden_tests::server::{Reply, TestServer};
use seatwarden_tests::smartrecruiters_fake::{
    SmartRecruitersFake, SrTenant, aged_accounts, seed_tenant,
};
use seatwarden_tests::smartsheet_fake::{self, SmartsheetFake, SsTenant};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const SR_TOKEN: &str = "DCRA1-sr-s3cret-token";
const SS_TOKEN: &str = "ss-s3cret-bearer-7q2";
const SCIM_TOKEN: &str = "scim-s3cret-bearer-k9";
const BASIC_USER: &str = "svc-seatwarden";
const BASIC_PASSWORD: &str = "b4sic/pa$s+w0rd?x";
const ECHOED_PASSWORD: &str = "ech0ed/pa$s+w0rd?y";

/// Every form a credential takes on the wire or in an encoding slip.
fn forms(secret: &str, user: Option<&str>) -> Vec<String> {
    let mut forms = vec![
        secret.to_string(),
        STANDARD.encode(secret),
        STANDARD_NO_PAD.encode(secret),
        URL_SAFE_NO_PAD.encode(secret),
        percent(secret),
    ];
    if let Some(user) = user {
        let pair = format!("{user}:{secret}");
        forms.push(STANDARD.encode(&pair));
        forms.push(STANDARD_NO_PAD.encode(&pair));
        forms.push(URL_SAFE_NO_PAD.encode(&pair));
    }
    forms.sort();
    forms.dedup();
    forms
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn secret_file(dir: &Path, name: &str, value: &str) {
    let path = dir.join(name);
    std::fs::write(&path, value).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// What one command printed.
struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

struct Operator {
    dir: PathBuf,
    config: PathBuf,
    transcript: Vec<(String, Ran)>,
}

impl Operator {
    /// Runs the binary as an operator would, logging at trace level.
    fn run(&mut self, args: &[&str]) -> &Ran {
        let out = seatwarden_command(&self.config)
            .args(args)
            .env("SEATWARDEN_LOG", "seatwarden=trace")
            .env("SEATWARDEN_TEST_SS_TOKEN", SS_TOKEN)
            .output()
            .expect("seatwarden runs");
        let ran = Ran {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        self.transcript.push((args.join(" "), ran));
        &self.transcript.last().unwrap().1
    }

    /// Runs a command that must succeed; its standard output.
    fn ok(&mut self, args: &[&str]) -> String {
        let ran = self.run(args);
        assert!(ran.ok, "seatwarden {args:?}: {}", ran.stderr);
        ran.stdout.clone()
    }
}

/// Every file the host wrote in `dir`, except the credential files the
/// operator wrote.
fn written_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            written_files(&path, out);
        } else if path.extension().is_none_or(|e| e != "secret") {
            out.push(path);
        }
    }
}

fn find(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_in_any_form_reaches_output_logs_errors_or_the_database() {
    let now = now_ms();
    let sr = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_tenant(SR_TOKEN, 40, now)
    })
    .await;
    let ss = SmartsheetFake::start(SsTenant {
        requests_per_minute: None,
        ..smartsheet_fake::seed_tenant(SS_TOKEN, 30, now, true)
    })
    .await;
    let scim = ScimServer::start(SCIM_TOKEN).await.unwrap();
    for i in 0..5 {
        scim.create_user(&seed_user(i)).await.unwrap();
    }
    let basic = ScimFake::start(
        ScimBehaviour {
            patch_supported: true,
            patch_501: false,
            max_per_page: 10,
            authorization: Some(format!(
                "Basic {}",
                STANDARD.encode(format!("{BASIC_USER}:{BASIC_PASSWORD}"))
            )),
            listing: Listing::Honest,
        },
        (0..12).map(bench_user).collect(),
    )
    .await;
    // A vendor that quotes what it was sent, decoded too, in its errors.
    let echo = TestServer::start(|request| {
        let header = request.header("authorization").unwrap_or("").to_string();
        let decoded = header
            .strip_prefix("Basic ")
            .and_then(|b| STANDARD.decode(b).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        Reply::json(
            401,
            &serde_json::json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "401",
                "detail": format!("refused Authorization: {header} ({decoded}, password {})", decoded.split_once(':').map_or("", |p| p.1)),
            }),
        )
    })
    .await;

    let dir = repo_root()
        .join("target/test-tmp")
        .join(format!("secrets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    secret_file(&dir, "sr.secret", SR_TOKEN);
    secret_file(&dir, "scim.secret", SCIM_TOKEN);
    secret_file(&dir, "basic.secret", BASIC_PASSWORD);
    secret_file(&dir, "echo.secret", ECHOED_PASSWORD);
    let config = dir.join("seatwarden.toml");
    let connection = |name: &str, connector: &str, url: &str, credential: &str, auth: &str| {
        format!(
            "[connections.{name}]\ntenant = \"acme\"\nconnector = \"{}\"\nbase_url = \"{url}\"\nprivate_targets = \"allow-loopback\"\n{auth}credential = {credential}\n\n[profiles.{name}]\ntenant = \"acme\"\nconnection = \"{name}\"\nreclaim = true\n\n",
            guest(connector).display()
        )
    };
    std::fs::write(
        &config,
        format!(
            "database = \"seatwarden.db\"\n\n[tenants.acme]\n\n{}{}{}{}{}",
            connection(
                "sr",
                "smartrecruiters",
                &sr.url(),
                "{ file = \"sr.secret\" }",
                ""
            ),
            connection(
                "ss",
                "smartsheet",
                &ss.base_url(),
                "{ env = \"SEATWARDEN_TEST_SS_TOKEN\" }",
                ""
            ),
            connection(
                "scim",
                "scim",
                &scim.base_url(),
                "{ file = \"scim.secret\" }",
                "auth = \"bearer\"\n"
            ),
            connection(
                "basic",
                "scim",
                &basic.base_url(),
                &format!("{{ file = \"basic.secret\", user = \"{BASIC_USER}\" }}"),
                "auth = \"basic\"\n"
            ),
            connection(
                "echo",
                "scim",
                &format!("{}/scim/v2", echo.url()),
                &format!("{{ file = \"echo.secret\", user = \"{BASIC_USER}\" }}"),
                "auth = \"basic\"\n"
            ),
        ),
    )
    .unwrap();
    let mut operator = Operator {
        dir: dir.clone(),
        config,
        transcript: Vec::new(),
    };

    operator.ok(&["apply"]);
    for profile in ["sr", "ss", "scim", "basic"] {
        operator.ok(&["profile", "validate", profile]);
        operator.ok(&["profile", "publish", profile]);
        operator.ok(&["sync", "--profile", profile]);
        operator.ok(&["subscriptions", "--profile", profile, "--json"]);
        operator.ok(&["profile", "show", profile, "--json"]);
    }
    // The echoing vendor's refusal reaches the operator, redacted.
    let refused = operator.run(&["profile", "validate", "echo"]);
    assert!(
        refused.stdout.contains("validation failed") || refused.stderr.contains("[redacted]"),
        "{}\n{}",
        refused.stdout,
        refused.stderr
    );
    let shown = operator.ok(&["profile", "show", "echo"]);
    assert!(shown.contains("[redacted]"), "{shown}");
    operator.run(&["sync", "--profile", "echo"]);

    // Candidates from a download with ages, reclaimed, one undone.
    let storage = Storage::open(&dir.join("seatwarden.db")).await.unwrap();
    let tenant = storage.find_tenant("acme").await.unwrap().unwrap();
    let profile = storage.find_profile(tenant, "sr").await.unwrap().unwrap();
    store_download(&storage, profile, &aged_accounts(&sr.users(), 2, now), now).await;
    drop(storage);
    operator.ok(&["candidates", "refresh", "--profile", "sr"]);
    let listed = operator.ok(&["candidates", "list", "--profile", "sr", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let ids: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{listed}");
    operator.ok(&["candidates", "show", &ids[0]]);
    operator.ok(&["candidates", "reclaim", "--profile", "sr", "--apply"]);
    operator.ok(&["reactivate", &ids[0]]);
    let basic_account = basic.users()[3]["id"].as_str().unwrap().to_string();
    operator.ok(&[
        "deactivate",
        "--profile",
        "basic",
        &basic_account,
        "--override",
        "leaver",
    ]);
    operator.ok(&["jobs"]);
    operator.run(&["jobs", "--failed"]);
    operator.ok(&["audit", "verify"]);
    let export = dir.join("audit-export.jsonl");
    operator.ok(&["audit", "export", "--out", export.to_str().unwrap()]);
    operator.ok(&["reconcile"]);
    operator.ok(&["report", "savings", "--fresh"]);
    operator.ok(&["report", "activity"]);

    // The credentials were used: every vendor saw them, the writes happened.
    assert!(!sr.server.writes().is_empty());
    assert_eq!(basic.users()[3]["active"], false);
    assert!(!echo.requests().is_empty());

    let mut secrets = Vec::new();
    for (secret, user) in [
        (SR_TOKEN, None),
        (SS_TOKEN, None),
        (SCIM_TOKEN, None),
        (BASIC_PASSWORD, Some(BASIC_USER)),
        (ECHOED_PASSWORD, Some(BASIC_USER)),
    ] {
        secrets.extend(forms(secret, user));
    }
    let mut leaks = Vec::new();
    let mut debug_lines = Vec::new();
    for (command, ran) in &operator.transcript {
        debug_lines.extend(ran.stderr.lines().filter(|l| l.contains(" DEBUG ")));
        for form in &secrets {
            for (stream, text) in [("stdout", &ran.stdout), ("stderr", &ran.stderr)] {
                if text.contains(form.as_str()) {
                    leaks.push(format!("`{command}` {stream}: {form}"));
                }
            }
        }
    }
    // The debug log was on and said something about every vendor.
    for url in [
        sr.url(),
        ss.base_url(),
        scim.base_url(),
        basic.base_url(),
        echo.url(),
    ] {
        let port = url
            .split(':')
            .nth(2)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_string();
        assert!(
            debug_lines
                .iter()
                .any(|l| l.contains("outbound request") && l.contains(&format!(":{port}"))),
            "no debug line for {url}:\n{}",
            debug_lines.join("\n")
        );
    }
    let mut files = Vec::new();
    written_files(&operator.dir, &mut files);
    assert!(files.iter().any(|f| f.ends_with("seatwarden.db")));
    assert!(files.iter().any(|f| f.ends_with("audit-export.jsonl")));
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for form in &secrets {
            if find(&bytes, form) {
                leaks.push(format!("{}: {form}", file.display()));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "credentials leaked:\n{}",
        leaks.join("\n")
    );
}
