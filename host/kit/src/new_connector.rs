//! `seatwarden connector new <name>`: a ready-to-build connector crate.
//!
//! A third party should not need the Seatwarden repository to start: the
//! crate written here carries the contract (`wit/`), the guest SDK (`sdk/`),
//! a connector for a small example API, a fake of that API in plain Python,
//! conformance settings and a script that builds and runs the suite. Every
//! file is compiled into this binary from the repository's own sources (the
//! WIT and the SDK are the ones the shipped connectors build with), so the
//! template cannot drift from the host that will load what it makes.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

const TEMPLATE: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../templates/connector/Cargo.toml.tmpl"),
    ),
    (
        "README.md",
        include_str!("../templates/connector/README.md.tmpl"),
    ),
    (
        ".gitignore",
        include_str!("../templates/connector/gitignore"),
    ),
    (
        ".cargo/config.toml",
        include_str!("../templates/connector/.cargo/config.toml"),
    ),
    (
        "src/lib.rs",
        include_str!("../templates/connector/src/lib.rs.tmpl"),
    ),
    (
        "fake/vendor.py",
        include_str!("../templates/connector/fake/vendor.py"),
    ),
    (
        "conformance.toml",
        include_str!("../templates/connector/conformance.toml"),
    ),
    ("test.sh", include_str!("../templates/connector/test.sh")),
    (
        "sdk/Cargo.toml",
        include_str!("../templates/connector/sdk/Cargo.toml"),
    ),
    // The SDK and contract the shipped connectors build with.
    (
        "sdk/src/lib.rs",
        include_str!("../../../components/sdk/src/lib.rs"),
    ),
    (
        "sdk/src/http.rs",
        include_str!("../../../components/sdk/src/http.rs"),
    ),
    (
        "sdk/src/json.rs",
        include_str!("../../../components/sdk/src/json.rs"),
    ),
    (
        "sdk/src/log.rs",
        include_str!("../../../components/sdk/src/log.rs"),
    ),
    (
        "sdk/src/time.rs",
        include_str!("../../../components/sdk/src/time.rs"),
    ),
    (
        "wit/connector.wit",
        include_str!("../../../wit/connector.wit"),
    ),
    (
        "wit/deps/cli.wit",
        include_str!("../../../wit/deps/cli.wit"),
    ),
    (
        "wit/deps/clocks.wit",
        include_str!("../../../wit/deps/clocks.wit"),
    ),
    (
        "wit/deps/filesystem.wit",
        include_str!("../../../wit/deps/filesystem.wit"),
    ),
    (
        "wit/deps/http.wit",
        include_str!("../../../wit/deps/http.wit"),
    ),
    ("wit/deps/io.wit", include_str!("../../../wit/deps/io.wit")),
    (
        "wit/deps/random.wit",
        include_str!("../../../wit/deps/random.wit"),
    ),
    (
        "wit/deps/sockets.wit",
        include_str!("../../../wit/deps/sockets.wit"),
    ),
    // Pins the crates the shipped connectors were tested with; cargo drops
    // the entries of their workspace that the new crate does not use.
    ("Cargo.lock", include_str!("../../../components/Cargo.lock")),
];

/// Where the SDK finds the contract, in the repository and in a new crate.
const SDK_WIT_PATH: (&str, &str) = ("path: \"../../wit\"", "path: \"../wit\"");

/// Writes a new connector crate called `name` into `dir` (default
/// `./<name>`); returns the folder.
pub fn create(name: &str, vendor: Option<&str>, dir: Option<&Path>) -> Result<PathBuf> {
    check_name(name)?;
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    if dir.exists()
        && std::fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} exists and is not empty; choose another folder with --dir",
            dir.display()
        );
    }
    let vendor = vendor.unwrap_or(name);
    if vendor.is_empty()
        || vendor.chars().count() > 100
        || vendor.contains(['"', '\\', '{', '}'])
        || vendor.chars().any(char::is_control)
    {
        bail!(
            "the vendor name {vendor:?} must be 1 to 100 characters without quotes, backslashes, braces or control characters"
        );
    }
    let crate_name = name.replace('-', "_");
    let values = [
        ("{{name}}", name),
        ("{{crate_name}}", crate_name.as_str()),
        ("{{vendor}}", vendor),
        (
            "{{contract}}",
            seatwarden_sandbox::contract::CONTRACT_VERSION,
        ),
    ];
    for (path, text) in TEMPLATE {
        let mut text = fill(text, &values);
        if *path == "sdk/src/lib.rs" {
            text = text.replace(SDK_WIT_PATH.0, SDK_WIT_PATH.1);
        }
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&target, text).with_context(|| format!("writing {}", target.display()))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for script in ["test.sh", "fake/vendor.py"] {
            let script = dir.join(script);
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("making {} executable", script.display()))?;
        }
    }
    Ok(dir)
}

/// Replaces each `{{key}}` of `text` in one pass, so a value that looks
/// like a placeholder stays as written.
fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match values.iter().find(|(key, _)| rest.starts_with(key)) {
            Some((key, value)) => {
                out.push_str(value);
                rest = &rest[key.len()..];
            }
            None => {
                out.push_str("{{");
                rest = &rest[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Rust keywords cargo refuses as package names.
const KEYWORDS: [&str; 38] = [
    "as", "async", "await", "box", "break", "const", "continue", "crate", "do", "dyn", "else",
    "enum", "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod",
    "move", "mut", "priv", "pub", "ref", "return", "self", "static", "struct", "super", "trait",
    "true", "type", "use", "where",
];

/// Connector names: what `describe` may return and a crate may be called.
fn check_name(name: &str) -> Result<()> {
    let fine = (2..=64).contains(&name.len())
        && !KEYWORDS.contains(&name)
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !fine {
        bail!(
            "{name:?} is not a connector name: use 2 to 64 lowercase letters, digits and -, starting with a letter (e.g. acme-hr)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_identifiers() {
        for good in ["acme", "acme-hr", "x2"] {
            check_name(good).unwrap();
        }
        for bad in [
            "", "a", "Acme", "2acme", "acme-", "acme_hr", "acme hr", "ac/me",
        ] {
            let err = check_name(bad).unwrap_err().to_string();
            assert!(err.contains("is not a connector name"), "{bad}: {err}");
        }
    }

    #[test]
    fn placeholders_are_filled_once() {
        let values = [("{{vendor}}", "{{name}}"), ("{{name}}", "acme")];
        assert_eq!(
            fill("{{name}} by {{vendor}} {{other}}", &values),
            "acme by {{name}} {{other}}"
        );
    }

    #[test]
    fn the_template_pins_what_the_shipped_connectors_build_with() {
        let workspace = include_str!("../../../components/Cargo.toml");
        let sdk = TEMPLATE
            .iter()
            .find(|(p, _)| *p == "sdk/Cargo.toml")
            .unwrap()
            .1;
        let crate_toml = TEMPLATE.iter().find(|(p, _)| *p == "Cargo.toml").unwrap().1;
        let line = |text: &str, key: &str| {
            text.lines()
                .find(|l| l.trim_start().starts_with(key))
                .map(|l| l.split_once('=').unwrap().1.trim().to_string())
        };
        assert_eq!(line(sdk, "wit-bindgen"), line(workspace, "wit-bindgen"));
        assert_eq!(
            line(crate_toml, "rust-version"),
            line(workspace, "rust-version")
        );
        assert_eq!(line(crate_toml, "edition"), line(workspace, "edition"));
    }

    #[test]
    fn the_sdk_is_pointed_at_the_crates_own_wit() {
        let sdk = TEMPLATE
            .iter()
            .find(|(p, _)| *p == "sdk/src/lib.rs")
            .unwrap()
            .1;
        assert!(
            sdk.contains(SDK_WIT_PATH.0),
            "the SDK's wit path changed; update SDK_WIT_PATH"
        );
    }
}
