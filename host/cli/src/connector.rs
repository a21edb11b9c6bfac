//! `seatwarden connector …`: what a connector author runs, no database needed.
//!
//! `inspect` loads a component in the sandbox and prints its descriptor;
//! `test` runs the conformance suite against a vendor described by a
//! settings file and fails when any check fails.

use anyhow::{Result, bail};
use clap::Subcommand;
use seatwarden_app::output;
use seatwarden_app::wiring::connection_builder;
use seatwarden_kit::conformance;
use seatwarden_sandbox::descriptor::Descriptor;
use seatwarden_sandbox::ratelimit::RateLimiters;
use seatwarden_sandbox::runtime::{Connector, Runtime, RuntimeConfig};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub(super) enum ConnectorCommand {
    /// Load a connector in the sandbox and print its descriptor.
    Inspect {
        /// The connector component (.wasm).
        file: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a connector crate (Rust, with the guest SDK, a fake vendor
    /// and conformance settings) to build and adapt.
    New {
        /// The connector's name: lowercase letters, digits and -.
        name: String,
        /// The vendor's name as people write it [default: the name].
        #[arg(long)]
        vendor: Option<String>,
        /// Where to create it [default: ./<name>].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Run the conformance suite against a vendor (a fake or a test tenant).
    Test {
        /// The connector component (.wasm).
        file: PathBuf,
        /// A TOML file: a [connection] table with the keys of
        /// [connections.<name>] (base_url, credential, options...) and an
        /// optional [conformance] table (write_account, activity_days, max_pages).
        #[arg(long, value_name = "FILE")]
        settings: PathBuf,
        /// Print the report as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn run(command: &ConnectorCommand, cache_dir: Option<PathBuf>) -> Result<()> {
    if let ConnectorCommand::New { name, vendor, dir } = command {
        let dir = seatwarden_kit::new_connector::create(name, vendor.as_deref(), dir.as_deref())?;
        crate::say!(
            "created {}: build it with `cargo build --release` there, test it with ./test.sh (see its README.md)",
            dir.display()
        );
        return Ok(());
    }
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir,
        ..RuntimeConfig::default()
    })?;
    match command {
        ConnectorCommand::Inspect { file, json } => {
            let connector = runtime.load_file(file).await?;
            // Links are optional: a broken `about` must not hide the descriptor.
            let links = connector.links().await.unwrap_or_else(|e| {
                crate::say_err!("warning: about.links failed, showing no links: {e}");
                Vec::new()
            });
            let text = if *json {
                serde_json::to_string_pretty(&descriptor_json(&connector, &links))?
            } else {
                descriptor_table(&connector, &links)
            };
            crate::say!("{text}");
        }
        ConnectorCommand::New { .. } => unreachable!("handled above"),
        ConnectorCommand::Test {
            file,
            settings,
            json,
        } => {
            let settings = conformance::settings::load(settings, file)?;
            let connector = runtime.load_file(file).await?;
            let builder = connection_builder(
                &settings.connection,
                &connector,
                (&settings.path, "connection"),
                &RateLimiters::default(),
            )?;
            let report = conformance::run(&connector, builder, &settings.plan).await?;
            if *json {
                crate::say!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                output::text(&report.table());
            }
            if !report.passed() {
                bail!(
                    "{} of {} conformance checks failed",
                    report.count(conformance::Outcome::Fail),
                    report.checks.len()
                );
            }
        }
    }
    Ok(())
}

/// The descriptor and vendor terms as JSON, for `connector inspect --json`.
fn descriptor_json(connector: &Connector, links: &[(String, String)]) -> serde_json::Value {
    let (d, digest, terms) = (
        connector.descriptor(),
        connector.digest(),
        connector.vendor_terms(),
    );
    serde_json::json!({
        "name": d.name,
        "version": d.version.to_string(),
        "vendor": d.vendor,
        "summary": d.summary,
        "capabilities": d.capabilities,
        "auth": d.auth.to_string(),
        "auth_schemes": d.schemes.iter().map(|s| serde_json::json!({
            "name": s.name,
            "scheme": s.scheme.to_string(),
            "description": s.description,
        })).collect::<Vec<_>>(),
        "default_hosts": d.default_hosts.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "default_base_url": d.default_base_url,
        "credential_sent_to": credential_origins(d),
        "regions": d.regions.iter().map(|(n, u)| serde_json::json!({"name": n, "base_url": u})).collect::<Vec<_>>(),
        "options": d.options,
        "links": links.iter().map(|(t, u)| serde_json::json!({"title": t, "url": u})).collect::<Vec<_>>(),
        "declared_rate_limit": terms.rate_limit.map(|r| r.to_string()),
        "rate_limit": terms.host_rate().to_string(),
        "subscription_models": terms.models.iter().map(|m| serde_json::json!({
            "identifier": m.identifier,
            "publisher": m.model.publisher,
            "product": m.model.product,
            "edition": m.model.edition,
            "metric": m.model.metric.as_str(),
        })).collect::<Vec<_>>(),
        "ignored_declarations": terms.dropped,
        "sha256": digest,
    })
}

/// The descriptor as an aligned table, for people.
/// Where a connection of this connector sends its credential: the origin of
/// its base URL (the default, or the region the operator picks; a base URL
/// the operator writes is theirs to review), plus hosts the operator adds.
fn credential_origins(d: &Descriptor) -> String {
    let origin = |url: &str| {
        seatwarden_sandbox::egress::AllowedOrigin::parse(url)
            .map(|o| o.to_string())
            .unwrap_or_else(|_| url.to_string())
    };
    let mut parts = Vec::new();
    if !d.default_base_url.is_empty() {
        parts.push(format!("{} by default", origin(&d.default_base_url)));
    }
    for (name, url) in &d.regions {
        parts.push(format!("{} with region {name}", origin(url)));
    }
    parts.push("the connection's own base_url and allowed_hosts when it sets them".into());
    parts.join("; ")
}

fn descriptor_table(connector: &Connector, links: &[(String, String)]) -> String {
    let (d, digest, terms) = (
        connector.descriptor(),
        connector.digest(),
        connector.vendor_terms(),
    );
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let mut rows = vec![
        ("connector", d.label()),
        ("vendor", d.vendor.clone()),
        ("summary", d.summary.clone()),
        (
            "capabilities",
            format!(
                "list-users: yes, activity: {}, deactivate: {}, reactivate: {}",
                yes_no(d.capabilities.activity),
                yes_no(d.capabilities.deactivate),
                yes_no(d.capabilities.reactivate)
            ),
        ),
        (
            "auth",
            if d.schemes.is_empty() {
                d.auth.to_string()
            } else {
                format!(
                    "chosen by the connection's auth setting (default {})",
                    d.schemes[0].name
                )
            },
        ),
        (
            "default hosts",
            d.default_hosts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("default base URL", d.default_base_url.clone()),
    ];
    for scheme in &d.schemes {
        rows.push((
            "auth scheme",
            format!("{}: {}; {}", scheme.name, scheme.scheme, scheme.description),
        ));
    }
    for (name, url) in &d.regions {
        rows.push(("region", format!("{name}: {url}")));
    }
    if d.auth != seatwarden_sandbox::credentials::AuthScheme::None {
        rows.push(("credential to", credential_origins(d)));
    }
    for option in &d.options {
        let required = if option.required {
            "required"
        } else {
            "optional"
        };
        rows.push((
            "option",
            format!("{} ({required}): {}", option.name, option.description),
        ));
    }
    for (title, url) in links {
        rows.push(("link", format!("{title}: {url}")));
    }
    let rate = terms.host_rate();
    rows.push((
        "rate limit",
        match terms.rate_limit {
            Some(declared) if declared == rate => {
                format!("{rate} per credential, as the connector declares for its vendor")
            }
            Some(declared) => format!(
                "{rate} per credential (the connector declares {declared}; the host never goes past its default without the connection's rate_limit)"
            ),
            None => format!("{rate} per credential (the host's default: the connector declares none)"),
        },
    ));
    for declared in &terms.models {
        rows.push((
            "model",
            format!("{} = {}", declared.identifier, declared.model),
        ));
    }
    for dropped in &terms.dropped {
        rows.push(("ignored", format!("declared {dropped}")));
    }
    rows.push(("sha256", digest.to_string()));
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    // Descriptor text is the guest's: no control characters reach the terminal.
    let printable = |v: &str| -> String {
        v.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    };
    rows.iter()
        .map(|(k, v)| format!("{k:<width$}  {}", printable(v)))
        .collect::<Vec<_>>()
        .join("\n")
}
