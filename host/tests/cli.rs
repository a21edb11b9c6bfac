//! The `seatwarden` binary as an operator runs it: `connector inspect`.

use std::path::PathBuf;
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target/wasm/wasm32-wasip2/release")
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
            "capabilities      list-users: yes, activity: no, deactivate: yes, reactivate: yes"
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
