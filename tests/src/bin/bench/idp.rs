//! The identity-provider rows: one Okta app and one Entra ID enterprise app
//! of 50,000 assigned people with 1,000,000 sign-in events between them,
//! synced end to end (the people, then their sign-ins) through the wasm
//! connector into SQLite and PostgreSQL, one child process per run so its
//! peak memory is its own.
//!
//! The fakes hold the events in memory and page them as the vendors do
//! (Okta oldest first, 1,000 per page; Graph newest first, 1,000 per
//! page), so the rows time the connector, the sandbox and the store, with
//! the fake's own work on the same two cores.

use super::{Engine, bench_profile, child_runs, engine_names, guest, median_of, wasm_connection};
use anyhow::Result;
use seatwarden_domain::rules::DAY_MS;
use std::time::Instant;

/// People assigned to the app.
const PEOPLE: usize = 50_000;
/// Successful and failed sign-ins into it, spread over the log's window.
const SIGN_INS: usize = 1_000_000;
/// Runs per vendor and engine.
const RUNS: usize = 1;
const VENDORS: [(&str, &str); 2] = [("Okta", "okta"), ("Entra ID", "entra")];

/// The table, one row per vendor and engine.
pub fn table(engines: &[Engine]) -> Result<String> {
    let mut out = format!(
        "\n### Identity providers end to end: {PEOPLE} people and {SIGN_INS} sign-in events of one app, users then activity through the wasm connector, {} ({RUNS} run each, child processes)\n\n\
         | identity provider | database | total | people stored | sign-ins read | sign-ins/s | accounts whose last activity moved | peak RSS |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
        engine_names(engines)
    );
    for (label, vendor) in VENDORS {
        for engine in engines {
            let runs = child_runs(&["--idp-child".into(), vendor.into(), engine.arg()], RUNS)?;
            let (total, _, _) = median_of(&runs, 0);
            let (people, _, _) = median_of(&runs, 1);
            let (events, _, _) = median_of(&runs, 2);
            let (moved, _, _) = median_of(&runs, 3);
            let (peak, _, _) = median_of(&runs, 4);
            out.push_str(&format!(
                "| {label} | {} | {total:.1} s | {people:.0} | {events:.0} | {:.0} | {moved:.0} | {:.0} MiB |\n",
                engine.label(),
                events / total,
                peak / 1024.0
            ));
        }
    }
    out.push_str(
        "\nSign-ins read counts every event the connector passed to the host (failed sign-ins are dropped in the guest). Entra ID keeps 30 days of sign-ins, Okta 90; the first pull asks for 60 days, so Entra's connector reads from where Graph's log begins and says so.\n",
    );
    Ok(out)
}

/// One measured end-to-end sync: prints seconds, people stored, sign-in
/// events stored, last-activity updates, and the peak RSS in KiB.
pub async fn child(vendor: &str, engine: &Engine) -> Result<()> {
    use seatwarden_app::sync::{ActivityOutcome, ProfileSync, SyncOptions};
    use seatwarden_sandbox::{Runtime, RuntimeConfig};
    use seatwarden_tests::fixtures::{now_ms, repo_root};
    let token = "bench-token";
    let now = now_ms();
    let (base_url, _fake) = start(vendor, token, now).await?;
    let (scratch, profile) = bench_profile(engine, &format!("idp-{vendor}"), vendor).await?;
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(repo_root().join("target/test-compile-cache")),
        ..RuntimeConfig::default()
    })?;
    let connector = runtime.load_file(&guest(vendor)).await?;
    let connection = wasm_connection(vendor, &base_url, token, true, &connector)?;
    let sync = ProfileSync {
        clock: &seatwarden_app::clock::SystemClock,
        storage: &scratch.storage,
        connector: &connector,
        connection: &connection,
        profile,
        options: SyncOptions::default(),
    };
    let t = Instant::now();
    let report = sync.run(&|_| {}).await?;
    let took = t.elapsed();
    anyhow::ensure!(
        report.accounts as usize >= PEOPLE,
        "stored {} of {PEOPLE} people",
        report.accounts
    );
    let (events, moved) = match report.activity {
        ActivityOutcome::Pulled {
            events,
            activity_updates,
            ..
        } => (events, activity_updates),
        other => anyhow::bail!("activity was not pulled: {other:?}"),
    };
    anyhow::ensure!(events > 0, "no sign-ins stored");
    let peak = super::peak_rss_kib()?;
    scratch.discard().await?;
    println!(
        "{} {} {events} {moved} {peak}",
        took.as_secs_f64(),
        report.accounts
    );
    Ok(())
}

/// The vendor's fake with `PEOPLE` people assigned to its app and
/// `SIGN_INS` sign-ins spread over the last 59 days (Okta) or 29 (Entra
/// ID, which keeps 30), one in twenty failed; rate limits off.
async fn start(vendor: &str, token: &str, now: i64) -> Result<(String, Box<dyn std::any::Any>)> {
    let window =
        |days: i64, k: usize| now - days * DAY_MS + (k as i64) * (days * DAY_MS / SIGN_INS as i64);
    Ok(match vendor {
        "okta" => {
            use seatwarden_tests::okta_fake::{
                APP_ID, OktaFake, OktaTenant, SsoEvent, seed_tenant, user_id,
            };
            let mut tenant = OktaTenant {
                requests_per_minute: None,
                ..seed_tenant(token, PEOPLE, now)
            };
            // Oldest first, as Okta's log is.
            tenant.events = (0..SIGN_INS)
                .map(|k| SsoEvent {
                    user_id: user_id(k % PEOPLE),
                    app_id: APP_ID.into(),
                    at: window(59, k),
                    success: k % 20 != 19,
                })
                .collect();
            let fake = OktaFake::start(tenant).await;
            (fake.base_url(), Box::new(fake))
        }
        "entra" => {
            use seatwarden_tests::entra_fake::{APP_ID, EntraFake, EntraSignIn, seed_direct_only};
            let mut tenant = seed_direct_only(super::ENTRA_CLIENT, token, PEOPLE, now);
            // Newest first, as Graph lists them.
            tenant.sign_ins = (0..SIGN_INS)
                .rev()
                .map(|k| {
                    let user = &tenant.users[k % PEOPLE];
                    EntraSignIn {
                        user_id: user.id.clone(),
                        upn: user.upn.clone(),
                        app_id: APP_ID.into(),
                        at: window(29, k),
                        error_code: if k % 20 == 19 { 50126 } else { 0 },
                    }
                })
                .collect();
            let fake = EntraFake::start(tenant).await;
            fake.accept_token(token);
            (fake.base_url(), Box::new(fake))
        }
        other => anyhow::bail!("no identity-provider fake for {other}"),
    })
}
