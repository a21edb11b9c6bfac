//! The crate layering, checked: which of our crates must never depend on
//! what, read from `cargo metadata`'s resolved graph (normal dependencies,
//! transitively), so that "the domain has no I/O" or "the sandbox knows no
//! SQL" is a fact the build enforces rather than a convention. A breach
//! names the chain of crates that brings the forbidden one in.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::path::Path;

/// Each crate of ours, and what must not be in its dependency tree. The
/// README's architecture section says why each line is there.
pub const RULES: &[(&str, &[&str])] = &[
    // Pure logic: no I/O, no async runtime, no sandbox.
    ("seatwarden-domain", &["tokio", "sqlx", "wasmtime", "hyper"]),
    // SQL and the domain, never the sandbox.
    ("seatwarden-store", &["wasmtime", "seatwarden-sandbox"]),
    // The sandbox knows no tenant, SQL, rule or configuration file.
    (
        "seatwarden-sandbox",
        &[
            "sqlx",
            "seatwarden-store",
            "seatwarden-config",
            "seatwarden-app",
        ],
    ),
    // The configuration is read by the connector kit too: no database.
    (
        "seatwarden-config",
        &["sqlx", "seatwarden-store", "seatwarden-app"],
    ),
    // What third-party authors run: the sandbox, never the store.
    (
        "seatwarden-kit",
        &["sqlx", "seatwarden-store", "seatwarden-app"],
    ),
    // Services are shared by the CLI and the API: they know neither.
    (
        "seatwarden-app",
        &[
            "clap",
            "seatwarden-cli",
            "seatwarden-kit",
            "seatwarden-server",
            "axum-extra",
            "utoipa",
        ],
    ),
    // The API is a front end beside the command line, not on top of it.
    (
        "seatwarden-server",
        &["clap", "seatwarden-cli", "seatwarden-kit"],
    ),
];

/// Runs `cargo metadata` in `root` and checks [`RULES`] against it.
pub fn check(root: &Path) -> Result<()> {
    let output = crate::cargo()
        .args(["metadata", "--format-version", "1"])
        .current_dir(root)
        .output()
        .context("running cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: Value =
        serde_json::from_slice(&output.stdout).context("reading cargo metadata's output")?;
    let breaches = breaches(&metadata, RULES)?;
    if breaches.is_empty() {
        return Ok(());
    }
    bail!(
        "the crate layering is broken (see the architecture page's dependency rules):\n  {}",
        breaches.join("\n  ")
    )
}

/// Every rule broken in `metadata`, one line each with the chain that
/// breaks it.
pub fn breaches(metadata: &Value, rules: &[(&str, &[&str])]) -> Result<Vec<String>> {
    let names: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .context("cargo metadata has no packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let nodes: HashMap<&str, Vec<&str>> = metadata["resolve"]["nodes"]
        .as_array()
        .context("cargo metadata has no resolved graph")?
        .iter()
        .filter_map(|node| {
            let deps = node["deps"]
                .as_array()?
                .iter()
                .filter(|dep| {
                    dep["dep_kinds"]
                        .as_array()
                        .is_some_and(|kinds| kinds.iter().any(|k| k["kind"].is_null()))
                })
                .filter_map(|dep| dep["pkg"].as_str())
                .collect();
            Some((node["id"].as_str()?, deps))
        })
        .collect();
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .context("cargo metadata has no workspace members")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut found = Vec::new();
    for (krate, forbidden) in rules {
        let Some(start) = members.iter().find(|id| names.get(*id) == Some(krate)) else {
            bail!("a layering rule names {krate}, which is not a member of the workspace");
        };
        // Breadth first, remembering how each crate was reached.
        let mut came_from: HashMap<&str, &str> = HashMap::new();
        let mut queue = VecDeque::from([*start]);
        while let Some(id) = queue.pop_front() {
            for &dep in nodes.get(id).map(Vec::as_slice).unwrap_or_default() {
                if dep == *start || came_from.contains_key(dep) {
                    continue;
                }
                came_from.insert(dep, id);
                queue.push_back(dep);
                let name = names.get(dep).copied().unwrap_or(dep);
                if forbidden.contains(&name) {
                    let mut chain = vec![name];
                    let mut at = dep;
                    while let Some(&parent) = came_from.get(at) {
                        chain.push(names.get(parent).copied().unwrap_or(parent));
                        at = parent;
                    }
                    chain.reverse();
                    found.push(format!(
                        "{krate} must not depend on {name}: {}",
                        chain.join(" -> ")
                    ));
                }
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A graph of three crates: `app` -> `lib` (normal) -> `tokio`, and
    /// `app` -> `sqlx` only as a dev-dependency.
    fn metadata() -> Value {
        let normal = json!([{"kind": null, "target": null}]);
        let dev = json!([{"kind": "dev", "target": null}]);
        json!({
            "packages": [
                {"id": "app 0.1", "name": "app"},
                {"id": "lib 0.1", "name": "lib"},
                {"id": "tokio 1", "name": "tokio"},
                {"id": "sqlx 0.9", "name": "sqlx"},
            ],
            "workspace_members": ["app 0.1", "lib 0.1"],
            "resolve": {"nodes": [
                {"id": "app 0.1", "deps": [
                    {"pkg": "lib 0.1", "dep_kinds": normal},
                    {"pkg": "sqlx 0.9", "dep_kinds": dev},
                ]},
                {"id": "lib 0.1", "deps": [{"pkg": "tokio 1", "dep_kinds": normal}]},
                {"id": "tokio 1", "deps": []},
                {"id": "sqlx 0.9", "deps": []},
            ]},
        })
    }

    #[test]
    fn a_transitive_dependency_is_found_with_its_chain() {
        let found = breaches(&metadata(), &[("app", &["tokio"])]).unwrap();
        assert_eq!(found, ["app must not depend on tokio: app -> lib -> tokio"]);
    }

    #[test]
    fn dev_dependencies_and_allowed_crates_pass() {
        let found = breaches(&metadata(), &[("app", &["sqlx"]), ("lib", &["app"])]).unwrap();
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn a_rule_for_a_crate_outside_the_workspace_is_an_error() {
        let err = breaches(&metadata(), &[("tokio", &["sqlx"])]).unwrap_err();
        assert!(
            err.to_string().contains("tokio, which is not a member"),
            "{err}"
        );
    }
}
