//! `cargo xtask demo`: Seatwarden's sandbox, shown in plain words.
//!
//! Starts the Example Directory fake on loopback with a few thousand users,
//! syncs them through the real wasm connector (the host injects the API key;
//! the connector never sees it), prints what it found, then lets the hostile
//! fixture try to reach a host that is not its vendor's and shows the refusal.

use anyhow::{Context, Result};
use seatwarden::egress::{DenialLog, PrivateTargets};
use seatwarden::{Connection, Credential, Limits};
use seatwarden_tests::directory_fake::{DirectoryFake, seed_users};
use seatwarden_tests::fixtures::{guest, runtime};
use seatwarden_tests::server::{Reply, TestServer};
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;

#[tokio::main]
async fn main() -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64;
    let key = "demo-key-only-the-host-knows";
    let fake = DirectoryFake::start(key, seed_users(3_000, now)).await;
    println!(
        "Example Directory fake listening on {} (it answers 401 without X-Directory-Key)",
        fake.url()
    );

    let runtime = runtime(Limits::default());
    let started = std::time::Instant::now();
    let connector = runtime.load_file(&guest("fixture_directory")).await?;
    println!(
        "Loaded connector {} ({}) in {:?} [sha256 {}…, allocator: {}]",
        connector.descriptor().label(),
        connector.descriptor().vendor,
        started.elapsed(),
        &connector.digest()[..12],
        runtime.allocator()
    );

    let conn = Connection::builder()
        .base_url(fake.url())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(key))
        .build(connector.descriptor())?;
    println!(
        "Allowed hosts for this connection: {}",
        conn.allowed_hosts().join(", ")
    );

    let started = std::time::Instant::now();
    let (mut accounts, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let page = connector
            .list_users(&conn, cursor.as_deref())
            .await
            .context("list-users")?;
        pages += 1;
        accounts.extend(page.accounts);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let requests = fake.server.requests();
    let with_key = requests
        .iter()
        .filter(|r| r.header("x-directory-key") == Some(key))
        .count();
    println!(
        "\nSynced {} accounts in {pages} pages in {:?}; {with_key} of {} requests carried the key the host injected.",
        accounts.len(),
        started.elapsed(),
        requests.len()
    );

    let mut by_role: BTreeMap<&str, usize> = BTreeMap::new();
    for account in accounts.iter().filter(|a| a.active) {
        *by_role
            .entry(account.subscriptions.first().map_or("none", String::as_str))
            .or_default() += 1;
    }
    println!("Active accounts by role:");
    for (role, count) in &by_role {
        println!("  {role:<8} {count:>5}");
    }
    let active = accounts.iter().filter(|a| a.active);
    let never = active
        .clone()
        .filter(|a| a.last_active_at.is_none())
        .count();
    let stale = active
        .filter(|a| a.last_active_at.is_some_and(|t| now - t >= 60 * DAY_MS))
        .count();
    println!("Active accounts that never logged in:       {never}");
    println!("Active accounts inactive for 60+ days:      {stale}");

    println!("\nNow a hostile connector tries to send data to a host that is not its vendor's:");
    let hostile = runtime.load_file(&guest("fixture_hostile")).await?;
    let vendor = TestServer::start(|_| Reply::text(200, "vendor")).await;
    let exfiltration = TestServer::start(|_| Reply::text(200, "thanks for the data")).await;
    let refusals = DenialLog::default();
    let hostile_conn = Connection::builder()
        .base_url(vendor.url())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(key))
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
    Ok(())
}
