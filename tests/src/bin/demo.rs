//! `cargo xtask demo`: Seatwarden's job, in plain words, for three vendors.
//!
//! Starts the SmartRecruiters and Smartsheet fakes and a real SCIM server
//! (scim2-server from PyPI) on loopback, writes one configuration with a
//! profile per vendor and owner-only credential files, syncs each profile
//! through its real wasm connector into SQLite (the host injects the
//! credentials; no connector sees them), reports per profile, deactivates
//! one stale account, and finally lets a hostile connector try to reach a
//! host that is not its vendor's.
//!
//! An Okta fake stands for the company's identity provider: a fourth
//! profile reads Smartsheet as Okta sees it (the people assigned to the
//! app, and their sign-ins into it), and the Smartsheet profile takes those
//! sign-ins as a second activity source.

use anyhow::{Context, Result};
use seatwarden_app::profiles::Profiles;
use seatwarden_app::scheduler::{JobResult, Scheduler, SchedulerOptions};
use seatwarden_app::wiring::App;
use seatwarden_config::Config;
use seatwarden_sandbox::Connection;
use seatwarden_sandbox::Credential;
use seatwarden_sandbox::egress::{DenialLog, PrivateTargets};
use seatwarden_store::ProfileRecord;
use seatwarden_store::StoredSubscription;
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::fixtures::{guest, repo_root};
use seatwarden_tests::okta_fake::{OktaFake, OktaTenant};
use seatwarden_tests::scim_server::{ScimServer, seed_user};
use seatwarden_tests::server::{Reply, TestServer};
use seatwarden_tests::smartrecruiters_fake::{DAY_MS, SmartRecruitersFake, SrTenant};
use seatwarden_tests::smartsheet_fake::{SmartsheetFake, SsTenant};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

fn secret_file(dir: &Path, name: &str, value: &str) -> Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, value)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let stamp = now_ms();
    let (sr_token, ss_token, scim_token, okta_token) = (
        format!("DCRA1-demo-{stamp:x}"),
        format!("ss-{stamp:x}"),
        format!("scim-{stamp:x}"),
        format!("00demo-{stamp:x}"),
    );
    let sr = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seatwarden_tests::smartrecruiters_fake::seed_tenant(&sr_token, 3_000, stamp)
    })
    .await;
    let ss = SmartsheetFake::start(SsTenant {
        requests_per_minute: None,
        ..seatwarden_tests::smartsheet_fake::seed_tenant(&ss_token, 2_000, stamp, true)
    })
    .await;
    // The same 2,000 people (person{i}@example.com) as Okta users assigned
    // to its Smartsheet app, directly or through a group.
    let okta = OktaFake::start(OktaTenant {
        requests_per_minute: None,
        ..seatwarden_tests::okta_fake::seed_tenant(&okta_token, 2_000, stamp)
    })
    .await;
    let scim = ScimServer::start(&scim_token)
        .await
        .context("starting scim2-server (run `cargo xtask demo`, which installs it)")?;
    for i in 0..150 {
        scim.create_user(&seed_user(i)).await?;
    }
    println!("Vendors on loopback (each answers 401 without its own credential):");
    println!(
        "  SmartRecruiters fake   {}   3,000 users, Audit API history",
        sr.url()
    );
    println!(
        "  Smartsheet fake        {}   2,000 users, Event Reporting",
        ss.base_url()
    );
    println!("  scim2-server (PyPI)    {}   150 users", scim.base_url());
    println!(
        "  Okta fake              {}   2,000 people assigned to its Smartsheet app, System Log sign-ins",
        okta.base_url()
    );

    let dir = repo_root().join("target/demo");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    secret_file(&dir, "smartrecruiters.key", &sr_token)?;
    secret_file(&dir, "smartsheet.token", &ss_token)?;
    secret_file(&dir, "scim.token", &scim_token)?;
    secret_file(&dir, "okta.token", &okta_token)?;
    let wasm = |name: &str| guest(name).display().to_string();
    let config_path = dir.join("seatwarden.toml");
    std::fs::write(
        &config_path,
        format!(
            r#"database = "seatwarden.db"

[tenants.acme]
display_name = "Acme Corp"

[connections.smartrecruiters]
tenant = "acme"
connector = "{sr_wasm}"
base_url = "{sr_url}"
private_targets = "allow-loopback"
credential = {{ file = "smartrecruiters.key" }}

[connections.smartsheet]
tenant = "acme"
connector = "{ss_wasm}"
base_url = "{ss_url}"
private_targets = "allow-loopback"
credential = {{ file = "smartsheet.token" }}

[connections.scim]
tenant = "acme"
connector = "{scim_wasm}"
base_url = "{scim_url}"
auth = "bearer"
private_targets = "allow-loopback"
credential = {{ file = "scim.token" }}

[connections.okta]
tenant = "acme"
connector = "{okta_wasm}"
base_url = "{okta_url}"
private_targets = "allow-loopback"
credential = {{ file = "okta.token" }}
options = {{ app-id = "{okta_app}" }}

[profiles.smartrecruiters]
tenant = "acme"
connection = "smartrecruiters"

[profiles.smartsheet]
tenant = "acme"
connection = "smartsheet"

# Okta's sign-ins into Smartsheet count as activity too.
[profiles.smartsheet.activity_also_from]
profile = "smartsheet-via-okta"

# Smartsheet as Okta sees it: its assigned people and their sign-ins.
[profiles.smartsheet-via-okta]
tenant = "acme"
connection = "okta"

[profiles.scim]
tenant = "acme"
connection = "scim"
"#,
            sr_wasm = wasm("smartrecruiters"),
            sr_url = sr.url(),
            ss_wasm = wasm("smartsheet"),
            ss_url = ss.base_url(),
            scim_wasm = wasm("scim"),
            scim_url = scim.base_url(),
            okta_wasm = wasm("okta"),
            okta_url = okta.base_url(),
            okta_app = seatwarden_tests::okta_fake::APP_ID,
        ),
    )?;
    println!(
        "\nConfiguration: {} (credentials live in 0600 files beside it, never in it)",
        config_path.display()
    );

    let config = Config::load(&config_path)?;
    let cache = Some(repo_root().join("target/test-compile-cache"));
    let app = Arc::new(App::open(config.clone(), cache).await?);
    let (tenant_name, tenant) = app.tenant(None).await?;
    let profiles = Profiles {
        app: &app,
        tenant,
        tenant_name: tenant_name.clone(),
        actor: "demo".into(),
    };
    println!("\n`seatwarden apply` creates the file's profiles as drafts:");
    for line in profiles.apply().await? {
        println!("  {line}");
    }
    for name in [
        "smartrecruiters",
        "smartsheet",
        "scim",
        "smartsheet-via-okta",
    ] {
        let validation = profiles.validate(name).await?;
        profiles.publish(name).await?;
        println!("  {name}: validated ({}) and published", validation.detail);
    }
    println!(
        "\nThe scheduler runs the jobs that are due (every new profile's first run is due at once):"
    );
    let scheduler = Scheduler::new(app.clone(), SchedulerOptions::default());
    let started = std::time::Instant::now();
    for outcome in scheduler.run_due().await? {
        let result = match &outcome.result {
            JobResult::Succeeded(detail) => detail.clone(),
            other => format!("{other:?}"),
        };
        println!("  {} {}: {result}", outcome.profile, outcome.kind.as_str());
    }
    println!(
        "  (all profiles concurrently, in {:.2?})",
        started.elapsed()
    );
    let mut records = Vec::new();
    for name in [
        "smartrecruiters",
        "smartsheet",
        "scim",
        "smartsheet-via-okta",
    ] {
        let record = profiles.get(name).await?;
        report(&app, &record).await?;
        records.push(record);
    }
    // The jobs ran side by side, so Smartsheet's refresh may have come
    // before Okta's sync: refresh it again, now that Okta's sign-ins are in.
    let refreshed = seatwarden_app::reclamation::refresh(
        &app,
        &records[1],
        seatwarden_store::Trigger::Manual,
        "demo",
        now_ms(),
    )
    .await?;
    println!(
        "\nSmartsheet's candidates with Okta's sign-ins as a second activity source:\n  {}",
        refreshed.summary
    );

    let sr_record = &records[0];
    let sr_ctx = app
        .open_profile(tenant, &tenant_name, &sr_record.name)
        .await?;
    let rows = app.storage.subscriptions(sr_record.id).await?;
    if let Some(stale) = rows.iter().find(|r| {
        r.active && r.last_active_at.is_none() && r.identifiers.iter().all(|i| i != "ADMINISTRATOR")
    }) {
        sr_ctx
            .connected
            .connector
            .deactivate_user(&sr_ctx.connected.connection, &stale.account_id)
            .await?;
        app.storage
            .set_active(sr_record.id, &stale.account_id, false)
            .await?;
        let at_vendor = sr
            .users()
            .into_iter()
            .find(|u| u.id == stale.account_id)
            .map(|u| u.active);
        println!(
            "\nDeactivated {} in SmartRecruiters through its connector (DELETE .../activation); active at the vendor now: {:?}",
            stale.principal,
            at_vendor.unwrap_or(true)
        );
    }

    println!("\nNow a hostile connector tries to send data to a host that is not its vendor's:");
    let hostile = app.runtime.load_file(&guest("fixture_hostile")).await?;
    let vendor = TestServer::start(|_| Reply::text(200, "vendor")).await;
    let exfiltration = TestServer::start(|_| Reply::text(200, "thanks for the data")).await;
    let refusals = DenialLog::default();
    let hostile_conn = Connection::builder()
        .base_url(vendor.url())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret("not-for-you"))
        .option("scenario", "fetch")
        .option("url", format!("{}/collect", exfiltration.url()))
        .record_denials(refusals.clone())
        .build(hostile.descriptor())?;
    let page = hostile.list_users(&hostile_conn, None).await?;
    let said: Vec<String> = page.accounts[0]
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    println!("  the connector saw:     {}", said.join("; "));
    for denial in refusals.lock().expect("denial log").iter() {
        println!("  the operator is told:  {denial}");
    }
    println!(
        "  requests that reached the other host: {}",
        exfiltration.requests().len()
    );
    println!("\nThe database is {}; try:", config.database.shown());
    println!(
        "  cargo run --release -p seatwarden-cli -- --config {} subscriptions --profile smartsheet",
        config_path.display()
    );
    println!(
        "  cargo run --release -p seatwarden-cli -- --config {} idp apps --profile smartsheet-via-okta",
        config_path.display()
    );
    serve_console(&app, tenant).await
}

/// Reconciles once so the overview has figures, then serves the API and the
/// web console (on SEATWARDEN_DEMO_LISTEN, else 127.0.0.1:8080, else any
/// free loopback port) with a sign-in link for the demo tenant, until
/// Ctrl-C. The vendor fakes keep answering, so the console's buttons work.
async fn serve_console(app: &Arc<App>, tenant: seatwarden_store::TenantId) -> Result<()> {
    seatwarden_app::reconciliation::run(app, tenant, seatwarden_store::Trigger::Manual).await?;
    let wanted =
        std::env::var("SEATWARDEN_DEMO_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let listener = match tokio::net::TcpListener::bind(&wanted).await {
        Ok(listener) => listener,
        Err(_) => tokio::net::TcpListener::bind("127.0.0.1:0").await?,
    };
    let address = listener.local_addr()?;
    let token = seatwarden_app::console_sessions::issue_sign_in(
        app,
        tenant,
        "demo administrator",
        seatwarden_domain::access::Scope::Admin,
        60 * 60_000,
        "demo",
    )
    .await?;
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(seatwarden_server::serve(
        listener,
        app.clone(),
        stop.clone(),
    ));
    println!("\nThe web console of tenant acme is at http://{address}/console");
    println!("Sign in within the hour with this one-time link (Ctrl-C stops the demo):");
    println!(
        "  http://{address}/console/sign-in?token={}",
        secrecy::ExposeSecret::expose_secret(&token)
    );
    tokio::signal::ctrl_c().await?;
    stop.cancel();
    server.await??;
    Ok(())
}

/// Prints what one profile's jobs found.
async fn report(app: &App, record: &ProfileRecord) -> Result<()> {
    let runs = app.storage.job_runs(record.id).await?;
    println!(
        "\n== profile {} ({}@{}) ==",
        record.name, record.connector.name, record.connector.version
    );
    for run in runs.iter().filter(|r| r.kind != "validate") {
        // Paged syncs report their volume; one-shot jobs only their detail.
        let volume = if run.pages > 0 {
            format!(", {} items in {} pages", run.items, run.pages)
        } else {
            String::new()
        };
        println!(
            "Job {} ({}): {}{volume}{}",
            run.kind,
            run.trigger,
            run.status,
            run.detail
                .as_ref()
                .map(|d| format!("; {d}"))
                .unwrap_or_default()
        );
    }
    let rows = app.storage.subscriptions(record.id).await?;
    let active: Vec<&StoredSubscription> = rows.iter().filter(|r| r.active).collect();
    let mut by_id: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &active {
        for identifier in &row.identifiers {
            *by_id.entry(identifier.as_str()).or_default() += 1;
        }
    }
    let seats: Vec<String> = by_id.iter().map(|(id, n)| format!("{id} {n}")).collect();
    println!(
        "Active accounts: {} of {}; by subscription: {}",
        active.len(),
        rows.len(),
        seats.join(", ")
    );
    let now = now_ms();
    let days = |r: &&&StoredSubscription| r.last_active_at.map(|t| (now - t) / DAY_MS);
    let recent = active
        .iter()
        .filter(|r| days(r).is_some_and(|d| d < 30))
        .count();
    let lapsing = active
        .iter()
        .filter(|r| days(r).is_some_and(|d| (30..60).contains(&d)))
        .count();
    let stale = active
        .iter()
        .filter(|r| days(r).is_some_and(|d| d >= 60))
        .count();
    let unknown = active.iter().filter(|r| r.last_active_at.is_none()).count();
    println!(
        "Last activity of active accounts: <30 days {recent}, 30-60 days {lapsing}, 60+ days {stale}, none recorded {unknown}"
    );
    Ok(())
}
