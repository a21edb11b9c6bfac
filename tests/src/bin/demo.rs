//! `cargo xtask demo`: Seatwarden's first real job, in plain words.
//!
//! Starts the SmartRecruiters fake on loopback with a few thousand users and
//! a realistic sign-in history, writes a configuration and an owner-only
//! credential file, syncs through the real wasm connector into SQLite (the
//! host injects `X-SmartToken`; the connector never sees it), prints what it
//! found, deactivates one stale account, and finally lets a hostile connector
//! try to reach a host that is not its vendor's.

use anyhow::{Context, Result};
use seatwarden::app::open_profile;
use seatwarden::config::Config;
use seatwarden::egress::{DenialLog, PrivateTargets};
use seatwarden::sync::{ActivityOutcome, Progress, Sync, SyncOptions, now_ms};
use seatwarden::{Connection, Credential};
use seatwarden_tests::fixtures::{guest, repo_root};
use seatwarden_tests::server::{Reply, TestServer};
use seatwarden_tests::smartrecruiters_fake::{DAY_MS, SmartRecruitersFake, SrTenant, seed_tenant};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

const USERS: usize = 3_000;

#[tokio::main]
async fn main() -> Result<()> {
    let token = format!("DCRA1-demo-{:x}", now_ms());
    let fake = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_tenant(&token, USERS, now_ms())
    })
    .await;
    println!(
        "SmartRecruiters fake on {} with {USERS} users (401 without the right X-SmartToken).",
        fake.url()
    );

    let dir = repo_root().join("target/demo");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let key = dir.join("smartrecruiters.key");
    std::fs::write(&key, &token)?;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
    let config_path = dir.join("seatwarden.toml");
    std::fs::write(
        &config_path,
        format!(
            "database = \"seatwarden.db\"\n\n[tenants.acme]\ndisplay_name = \"Acme Corp\"\n\n\
             [connections.acme-smartrecruiters]\ntenant = \"acme\"\nconnector = \"{}\"\nbase_url = \"{}\"\n\
             private_targets = \"allow-loopback\"\ncredential = {{ file = \"smartrecruiters.key\" }}\n\n\
             [profiles.acme-smartrecruiters]\ntenant = \"acme\"\nconnection = \"acme-smartrecruiters\"\n",
            guest("smartrecruiters").display(),
            fake.url()
        ),
    )?;
    println!(
        "Configuration: {} (the key lives in a 0600 file, not in the configuration)\n",
        config_path.display()
    );

    let config = Config::load(&config_path)?;
    let ctx = open_profile(
        &config,
        "acme-smartrecruiters",
        Some(repo_root().join("target/test-compile-cache")),
    )
    .await?;
    println!(
        "Connector {} loaded in the sandbox; it may reach only {}",
        ctx.connector.descriptor().label(),
        ctx.connection.allowed_hosts().join(", ")
    );

    let started = std::time::Instant::now();
    let sync = Sync {
        storage: &ctx.storage,
        connector: &ctx.connector,
        connection: &ctx.connection,
        profile: ctx.profile_id,
        options: SyncOptions::default(),
    };
    let report = sync.run(&|_: Progress| {}).await.context("sync")?;
    let requests = fake.server.requests();
    let with_token = requests
        .iter()
        .filter(|r| r.header("x-smarttoken") == Some(token.as_str()))
        .count();
    println!(
        "Synced {} accounts in {} pages in {:.2?}; {with_token} of {} requests carried the token the host injected.",
        report.accounts,
        report.pages,
        started.elapsed(),
        requests.len()
    );
    if let ActivityOutcome::Pulled { events, pages, .. } = report.activity {
        println!(
            "Pulled {events} sign-ins and other user actions from the Audit API in {pages} pages (last 60 days)."
        );
    }

    let rows = ctx.storage.subscriptions(ctx.profile_id).await?;
    let active: Vec<_> = rows.iter().filter(|r| r.active).collect();
    let mut by_role: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &active {
        *by_role
            .entry(row.identifiers.first().map_or("none", String::as_str))
            .or_default() += 1;
    }
    println!(
        "\nActive accounts by system role ({} active, {} deactivated at the vendor):",
        active.len(),
        rows.len() - active.len()
    );
    for (role, count) in &by_role {
        println!("  {role:<14} {count:>5}");
    }
    let now = now_ms();
    let days = |row: &&seatwarden::storage::StoredSubscription| {
        row.last_active_at.map(|t| (now - t) / DAY_MS)
    };
    let recent = active
        .iter()
        .filter(|r| days(r).is_some_and(|d| d < 30))
        .count();
    let lapsing = active
        .iter()
        .filter(|r| days(r).is_some_and(|d| d >= 30))
        .count();
    let silent: Vec<_> = active
        .iter()
        .filter(|r| r.last_active_at.is_none())
        .collect();
    println!("\nLast sign-in of active accounts:");
    println!("  within 30 days                      {recent:>5}");
    println!("  30 to 60 days ago                   {lapsing:>5}");
    println!(
        "  none in 60 days (never or stale)    {:>5}   <- seats to reclaim",
        silent.len()
    );
    println!(
        "  (SmartRecruiters has no last-login field; \"never signed in\" and \"stale for 60+ days\" look the same\n   \
         inside the Audit API window Seatwarden reads.)"
    );

    if let Some(stale) = silent.iter().find(|r| {
        r.identifiers
            .first()
            .is_some_and(|role| role != "ADMINISTRATOR")
    }) {
        ctx.connector
            .deactivate_user(&ctx.connection, &stale.account_id)
            .await?;
        ctx.storage
            .set_active(ctx.profile_id, &stale.account_id, false)
            .await?;
        let at_vendor = fake
            .users()
            .into_iter()
            .find(|u| u.id == stale.account_id)
            .map(|u| u.active);
        println!(
            "\nDeactivated {} through the connector (DELETE .../activation); active at the vendor now: {:?}",
            stale.principal,
            at_vendor.unwrap_or(true)
        );
    }

    println!("\nNow a hostile connector tries to send data to a host that is not its vendor's:");
    let hostile = ctx.runtime.load_file(&guest("fixture_hostile")).await?;
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
    println!("\nThe database is at {}; try:", config.database.display());
    println!(
        "  cargo run --release -p seatwarden -- --config {} subscriptions --profile acme-smartrecruiters",
        config_path.display()
    );
    Ok(())
}
