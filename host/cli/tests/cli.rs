//! The `seatwarden` binary as an operator runs it: `connector inspect`,
//! `apply` and `profile`, with tenants kept apart.

use std::path::PathBuf;
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/wasm/wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask build-guests` first",
        path.display()
    );
    path
}

fn seatwarden(args: &[&str]) -> std::process::Output {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-cache");
    Command::new(env!("CARGO_BIN_EXE_seatwarden"))
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .output()
        .expect("seatwarden runs")
}

#[test]
fn inspect_prints_the_descriptor_as_a_table_and_as_json() {
    let path = fixture("fixture_directory");
    let out = seatwarden(&["connector", "inspect", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("connector         directory@0.1.0\n"),
        "{text}"
    );
    assert!(
        text.contains("auth              API key in header x-directory-key"),
        "{text}"
    );
    assert!(
        text.contains(
            "capabilities      list-users: yes, activity: yes, deactivate: yes, reactivate: yes"
        ),
        "{text}"
    );
    assert!(
        text.contains("option            page-size (optional)"),
        "{text}"
    );

    let out = seatwarden(&["connector", "inspect", "--json", path.to_str().unwrap()]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["name"], "directory");
    assert_eq!(json["default_hosts"][0], "http://127.0.0.1:80");
    assert_eq!(json["capabilities"]["deactivate"], true);
    assert_eq!(json["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(json["links"], serde_json::json!([]), "no `about` links");

    let smartsheet = fixture("smartsheet");
    let out = seatwarden(&["connector", "inspect", smartsheet.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("link              Event Reporting: https://"),
        "links from the optional `about` interface: {text}"
    );
}

#[test]
fn inspect_shows_what_a_connector_declares_for_its_vendor() {
    let smartrecruiters = fixture("smartrecruiters");
    let out = seatwarden(&["connector", "inspect", smartrecruiters.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "rate limit        10/s per credential, as the connector declares for its vendor"
        ),
        "{text}"
    );
    assert!(
        text.contains("model             EMPLOYEE = SmartRecruiters SmartRecruiters (Employee)"),
        "{text}"
    );
    assert_eq!(text.matches("\nmodel ").count(), 5, "{text}");

    let smartsheet = fixture("smartsheet");
    let out = seatwarden(&[
        "connector",
        "inspect",
        "--json",
        smartsheet.to_str().unwrap(),
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["rate_limit"], "300/min");
    assert_eq!(json["declared_rate_limit"], "300/min");
    let models = json["subscription_models"].as_array().unwrap();
    assert_eq!(models.len(), 7);
    assert_eq!(
        models[0],
        serde_json::json!({"identifier": "MEMBER", "publisher": "Smartsheet", "product": "Smartsheet", "edition": "Member", "metric": "per-user"})
    );

    // A connector that declares nothing gets the host's default.
    let directory = fixture("fixture_directory");
    let out = seatwarden(&["connector", "inspect", directory.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("rate limit        20/s per credential (the host's default: the connector declares none)"),
        "{text}"
    );
    assert!(!text.contains("\nmodel "), "{text}");

    // A hostile one: its rate is held to the default, its junk models are
    // dropped and said to be, and no escape reaches the terminal.
    let hostile = fixture("fixture_hostile");
    let out = seatwarden(&["connector", "inspect", hostile.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("rate limit        20/s per credential (the connector declares 20000/s;"),
        "{text}"
    );
    assert_eq!(text.matches("\nmodel ").count(), 500);
    assert!(text.contains("model             SEAT = Hostile Hostile (Seat)\n"));
    assert!(
        text.contains("ignored           declared 1501 subscription models past the first 505"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'));
    assert!(!text.contains("ESCAPE") && !text.contains("BIDI") && !text.contains("LONG ="));
}

#[test]
fn inspect_explains_why_a_component_is_not_a_connector() {
    let path = fixture("fixture-wrong-world");
    let out = seatwarden(&["connector", "inspect", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("is not a Seatwarden connector"), "{err}");
    assert!(out.stdout.is_empty());
}

/// Writes `text` as the configuration in a fresh directory with the two
/// tenants' 0600 credential files beside it.
fn operator_dir(name: &str, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for key in ["acme.key", "globex.key"] {
        std::fs::write(dir.join(key), "DCRA1-unused").unwrap();
        std::fs::set_permissions(dir.join(key), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(dir.join("seatwarden.toml"), text).unwrap();
    dir
}

fn two_tenants(acme_profile_extra: &str) -> String {
    let wasm = fixture("smartrecruiters").display().to_string();
    // Nothing here contacts a vendor: apply, list and show are local.
    format!(
        r#"database = "seatwarden.db"

[tenants.acme]
[tenants.globex]

[connections.acme-sr]
tenant = "acme"
connector = "{wasm}"
base_url = "http://127.0.0.1:9"
private_targets = "allow-loopback"
credential = {{ file = "acme.key" }}

[connections.globex-sr]
tenant = "globex"
connector = "{wasm}"
base_url = "http://127.0.0.1:9"
private_targets = "allow-loopback"
credential = {{ file = "globex.key" }}

[profiles.acme-sr]
tenant = "acme"
connection = "acme-sr"
{acme_profile_extra}
[profiles.globex-sr]
tenant = "globex"
connection = "globex-sr"
"#
    )
}

fn in_dir(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let config = dir.join("seatwarden.toml").display().to_string();
    let mut all = vec!["--config", config.as_str()];
    all.extend_from_slice(args);
    seatwarden(&all)
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn apply_is_idempotent_and_prints_what_changed() {
    let dir = operator_dir("apply", &two_tenants(""));
    let first = stdout(&in_dir(&dir, &["apply"]));
    assert!(
        first.contains("tenant acme:\n  + acme-sr: created (draft)"),
        "{first}"
    );
    assert!(
        first.contains("tenant globex:\n  + globex-sr: created (draft)"),
        "{first}"
    );
    let second = stdout(&in_dir(&dir, &["apply"]));
    assert!(second.contains("= acme-sr: unchanged"), "{second}");
    assert!(second.contains("= globex-sr: unchanged"), "{second}");

    std::fs::write(
        dir.join("seatwarden.toml"),
        two_tenants("reclaim = true\nschedule = { subscriptions = \"0 4 * * 1-5\" }\n"),
    )
    .unwrap();
    let third = stdout(&in_dir(&dir, &["apply"]));
    assert!(
        third.contains(
            "~ acme-sr: reclaim off -> on; subscriptions schedule default -> 0 4 * * 1-5"
        ),
        "{third}"
    );
    assert!(third.contains("= globex-sr: unchanged"), "{third}");
    let shown = stdout(&in_dir(
        &dir,
        &["--tenant", "acme", "profile", "show", "acme-sr"],
    ));
    assert!(shown.contains("draft"), "{shown}");
}

#[test]
fn one_tenant_cannot_reach_another_tenants_profile_from_the_command_line() {
    let dir = operator_dir("tenants", &two_tenants(""));
    stdout(&in_dir(&dir, &["apply"]));

    let listed = stdout(&in_dir(&dir, &["--tenant", "globex", "profile", "list"]));
    assert!(listed.contains("globex-sr"), "{listed}");
    assert!(!listed.contains("acme-sr"), "{listed}");
    for args in [
        &["--tenant", "globex", "profile", "show", "acme-sr"][..],
        &["--tenant", "globex", "profile", "validate", "acme-sr"],
        &[
            "--tenant", "globex", "profile", "delete", "acme-sr", "--yes",
        ],
        &["--tenant", "globex", "jobs", "--profile", "acme-sr"],
    ] {
        let out = in_dir(&dir, args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("tenant globex has no profile \"acme-sr\""),
            "{args:?}: {err}"
        );
    }
    // Two tenants and no --tenant: the command asks which.
    let out = in_dir(&dir, &["profile", "list"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--tenant"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Acme's profile is still there; deleting it needs confirmation.
    let out = in_dir(&dir, &["--tenant", "acme", "profile", "delete", "acme-sr"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --yes"));
    stdout(&in_dir(
        &dir,
        &["--tenant", "acme", "profile", "show", "acme-sr"],
    ));
}

#[test]
fn connector_new_makes_a_crate_that_builds_and_passes_the_conformance_suite() {
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("connector-new");
    let _ = std::fs::remove_dir_all(&work);
    let dir = work.join("acme-users");
    let out = seatwarden(&[
        "connector",
        "new",
        "acme-users",
        "--vendor",
        "Acme Users",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "sdk/src/http.rs",
        "wit/connector.wit",
        "fake/vendor.py",
    ] {
        assert!(dir.join(file).is_file(), "{file} is written");
    }

    // The crate's own script: build, start the fake vendor, run the suite.
    // The shared wasm target directory reuses the shipped connectors' build.
    let out = Command::new(dir.join("test.sh"))
        .arg("--json")
        .env("SEATWARDEN", env!("CARGO_BIN_EXE_seatwarden"))
        .env(
            "CARGO_TARGET_DIR",
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/wasm"),
        )
        .output()
        .expect("test.sh runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["connector"], "acme-users@0.1.0");
    let checks = report["checks"].as_array().unwrap();
    assert!(checks.len() >= 30, "{report:#}");
    for check in checks {
        assert_eq!(
            check["outcome"], "pass",
            "every check passes, writes included: {check}"
        );
    }

    let again = seatwarden(&[
        "connector",
        "new",
        "acme-users",
        "--dir",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(1));
    let err = String::from_utf8(again.stderr).unwrap();
    assert!(
        err.contains("exists and is not empty"),
        "never overwrites: {err}"
    );
}

#[test]
fn connector_test_prints_a_table_and_exits_non_zero_on_a_failed_check() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("connector-test-cli");
    std::fs::create_dir_all(&dir).unwrap();
    // Nothing listens here: every vendor call fails, typed, and the listing
    // checks fail with the reason.
    let settings = dir.join("settings.toml");
    std::fs::write(
        &settings,
        "[connection]\nbase_url = \"http://127.0.0.1:9\"\nprivate_targets = \"allow-loopback\"\ncredential = { env = \"NO_SUCH_TOKEN_SEATWARDEN\" }\n",
    )
    .unwrap();
    let path = fixture("fixture_directory");
    let out = Command::new(env!("CARGO_BIN_EXE_seatwarden"))
        .args(["connector", "test", path.to_str().unwrap(), "--settings"])
        .arg(&settings)
        .env("NO_SUCH_TOKEN_SEATWARDEN", "t0ken-for-the-cli-test")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.starts_with("conformance of directory@0.1.0 (sha256 "),
        "{table}"
    );
    assert!(table.contains("FAIL    list-users pages end"), "{table}");
    assert!(table.contains("FAILED: "), "{table}");
    assert!(
        !table.contains("t0ken-for-the-cli-test"),
        "the credential never shows"
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("conformance checks failed"), "{err}");
}

#[test]
fn the_error_line_cannot_drive_the_terminal() {
    // The path is the operator's here, but the same line carries vendor and
    // connector text: escape sequences and bidi controls come out inert.
    let out = seatwarden(&[
        "--config",
        "/nonexistent/\u{1b}[2J\u{1b}[32mvalidation passed\u{202e}.toml",
        "profile",
        "list",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(!stderr.contains('\u{202e}'), "{stderr:?}");
    assert!(
        stderr.contains("\\u001B[2J\\u001B[32mvalidation passed\\u202E.toml"),
        "{stderr}"
    );
}

#[test]
fn audit_entries_name_the_operating_system_user_even_without_user_set() {
    let dir = operator_dir("actor", &two_tenants(""));
    let config = dir.join("seatwarden.toml").display().to_string();
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli-cache");
    let run = |args: &[&str]| {
        // Containers often leave USER and LOGNAME unset.
        Command::new(env!("CARGO_BIN_EXE_seatwarden"))
            .env_remove("USER")
            .env_remove("LOGNAME")
            .arg("--cache-dir")
            .arg(&cache)
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .expect("seatwarden runs")
    };
    stdout(&run(&["apply"]));
    // Nothing listens on the profile's vendor port: the validation fails,
    // and is audited with who ran it.
    let validated = run(&["--tenant", "acme", "profile", "validate", "acme-sr"]);
    assert!(!validated.status.success());
    let export = stdout(&run(&["--tenant", "acme", "audit", "export"]));
    let actors: Vec<String> = export
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|entry| entry["action"] == "profile.validate.failed")
        .map(|entry| entry["actor"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(actors.len(), 1, "{export}");
    assert!(actors[0].starts_with("cli:"), "{export}");
    assert_ne!(actors[0], "cli:unknown", "{export}");
}
