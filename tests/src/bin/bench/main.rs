//! `cargo xtask bench`: measures the sandbox's fixed costs and writes them to
//! BENCHMARKS.md.
//!
//! Each figure is the median (and p99 or spread) of many runs taken in this
//! one invocation, and alternatives are measured interleaved, round by round,
//! so machine drift hits both sides alike. Nothing here asserts a time.

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use seatwarden_sandbox::Connection;
use seatwarden_sandbox::Credential;
use seatwarden_sandbox::Limits;
use seatwarden_sandbox::Runtime;
use seatwarden_sandbox::RuntimeConfig;
use seatwarden_sandbox::egress::transport::TransportLimits;
use seatwarden_sandbox::egress::{
    AllowedOrigin, EgressCall, EgressHooks, EgressPolicy, MethodPolicy, PrivateTargets, Transport,
};
use seatwarden_sandbox::engine_config::AllocatorChoice;
use seatwarden_tests::directory_fake::{DirectoryFake, seed_users};
use seatwarden_tests::fixtures::{guest, repo_root};
use seatwarden_tests::server::{Reply, TestServer};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime_wasi_http::WasiHttpHooks;

mod engines;
mod fleet;
mod idp;

use engines::{Engine, Scratch};

struct Row {
    what: String,
    input: String,
    median: Duration,
    p99: Duration,
    runs: usize,
}

fn stats(what: &str, input: &str, mut samples: Vec<Duration>) -> Row {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Row {
        what: what.into(),
        input: input.into(),
        median: at(0.5),
        p99: at(0.99),
        runs: samples.len(),
    }
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

/// The connectors Seatwarden ships (`components/`).
const SHIPPED_CONNECTORS: [&str; 5] = ["smartrecruiters", "smartsheet", "scim", "okta", "entra"];

const SYNC_USERS: usize = 100_000;
const SYNC_RUNS: usize = 3;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--sync-child") {
        return sync_child(
            &args[2],
            &args[3],
            args[4].parse()?,
            &Engine::from_arg(&args[5])?,
        )
        .await;
    }
    if args.get(1).map(String::as_str) == Some("--reconcile-child") {
        return reconcile_child(
            args[2].parse()?,
            args[3].parse()?,
            &Engine::from_arg(&args[4])?,
        )
        .await;
    }
    if args.get(1).map(String::as_str) == Some("--idp-child") {
        return idp::child(&args[2], &Engine::from_arg(&args[3])?).await;
    }
    if args.get(1).map(String::as_str) == Some("--idp-only") {
        let server = bench_server();
        print!("{}", idp::table(&both_engines(&server))?);
        return Ok(());
    }
    if args.get(1).map(String::as_str) == Some("--tenants-child") {
        return tenants_child(args[2].parse()?, args[3].parse()?, args[4].parse()?).await;
    }
    if args.get(1).map(String::as_str) == Some("--language-child") {
        return language_child(&args[2], args[3].parse()?).await;
    }
    if args.get(1).map(String::as_str) == Some("--languages-only") {
        print!("{}", languages_table()?);
        return Ok(());
    }
    if args.get(1).map(String::as_str) == Some("--tenants-only") {
        print!("{}", tenants_table()?);
        return Ok(());
    }
    if args.get(1).map(String::as_str) == Some("--storage-only") {
        let server = bench_server();
        print!("{}", storage_table(&both_engines(&server)).await?);
        return Ok(());
    }
    if args.get(1).map(String::as_str) == Some("--sync-only") {
        let server = bench_server();
        print!("{}", sync_table(&both_engines(&server))?);
        return Ok(());
    }
    if args.get(1).map(String::as_str) == Some("--fleet-only") {
        let server = bench_server();
        print!("{}", fleet::table(&server).await?);
        return Ok(());
    }
    if args.get(1).map(String::as_str) == Some("--api-only") {
        print!("{}", api_table().await?);
        return Ok(());
    }
    if args.get(1).map(String::as_str) == Some("--reconcile-only") {
        let server = bench_server();
        print!("{}", reconcile_table(&both_engines(&server))?);
        return Ok(());
    }
    if let Some(flag) = args.get(1).filter(|a| a.starts_with("--")) {
        anyhow::bail!(
            "unknown option {flag}: a section (--sync-only, --idp-only, --storage-only, --reconcile-only, --fleet-only, --tenants-only, --languages-only, --api-only) or the file to write"
        );
    }
    let out = args.get(1).map(std::path::PathBuf::from);
    let bytes = std::fs::read(guest("fixture_directory"))?;
    let mut rows = Vec::new();

    // 1. Cold compile vs cached load (load = compile or deserialize, pre-instantiate, describe).
    let cache = repo_root().join("target/bench-cache");
    let _ = std::fs::remove_dir_all(&cache);
    let no_cache = Runtime::new(RuntimeConfig {
        cache_dir: None,
        ..RuntimeConfig::default()
    })?;
    let cached = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache.clone()),
        ..RuntimeConfig::default()
    })?;
    // Every shipped connector, and the fixture the rows below call.
    for name in SHIPPED_CONNECTORS.into_iter().chain(["fixture_directory"]) {
        let bytes = std::fs::read(guest(name))?;
        let size_kb = bytes.len() / 1024;
        cached.load_bytes(&bytes, "warm-up").await?;
        let (mut cold, mut warm) = (Vec::new(), Vec::new());
        for _ in 0..10 {
            let t = Instant::now();
            no_cache.load_bytes(&bytes, "cold").await?;
            cold.push(t.elapsed());
            let t = Instant::now();
            cached.load_bytes(&bytes, "cached").await?;
            warm.push(t.elapsed());
        }
        let input = format!("{name}.wasm, {size_kb} KiB");
        rows.push(stats("load connector: cold compile", &input, cold));
        rows.push(stats("load connector: from the disk cache", &input, warm));
    }

    // 2. Instantiate + one trivial call (describe), pooling vs on-demand.
    let pooling = Runtime::new(RuntimeConfig {
        allocator: AllocatorChoice::Pooling,
        cache_dir: Some(cache.clone()),
        ..RuntimeConfig::default()
    })?;
    let on_demand = Runtime::new(RuntimeConfig {
        allocator: AllocatorChoice::OnDemand,
        cache_dir: Some(cache.clone()),
        ..RuntimeConfig::default()
    })?;
    let pooled = pooling.load_bytes(&bytes, "pooling").await?;
    let demand = on_demand.load_bytes(&bytes, "on-demand").await?;
    let (mut p, mut d) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        for _ in 0..300 {
            let t = Instant::now();
            pooled.describe().await?;
            p.push(t.elapsed());
        }
        for _ in 0..300 {
            let t = Instant::now();
            demand.describe().await?;
            d.push(t.elapsed());
        }
    }
    rows.push(stats(
        "instantiate + describe(), pooling allocator",
        "fresh store per call",
        p,
    ));
    rows.push(stats(
        "instantiate + describe(), on-demand allocator",
        "fresh store per call",
        d,
    ));

    // 3. The egress hook's fixed overhead on one loopback request.
    let server = TestServer::start(|_| Reply::text(200, "ok")).await;
    let origin = server.url();
    let (mut through_hook, mut direct) = (Vec::new(), Vec::new());
    for _ in 0..10 {
        for _ in 0..200 {
            let mut hooks = hooks_for(&origin);
            let t = Instant::now();
            let request = http::Request::get(format!("{origin}/users")).body(
                Empty::<Bytes>::new()
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )?;
            let future = hooks.send_request(request, None, Box::new(async { Ok(()) }));
            let (response, _io) = std::pin::Pin::from(future)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            response
                .into_body()
                .collect()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            through_hook.push(t.elapsed());
        }
        for _ in 0..200 {
            let t = Instant::now();
            direct_get(server.port()).await?;
            direct.push(t.elapsed());
        }
    }
    rows.push(stats(
        "loopback GET through the egress hook",
        "policy + DNS check + fresh connection",
        through_hook,
    ));
    rows.push(stats(
        "loopback GET, plain hyper client",
        "fresh connection, no checks",
        direct,
    ));
    let mut checks = Vec::new();
    for _ in 0..5000 {
        let mut hooks = hooks_for(&origin);
        let request = http::Request::delete(format!("{origin}/users/1")).body(
            Empty::<Bytes>::new()
                .map_err(|never| match never {})
                .boxed_unsync(),
        )?;
        let t = Instant::now();
        let future = hooks.send_request(request, None, Box::new(async { Ok(()) }));
        let refused = std::pin::Pin::from(future).await.is_err();
        checks.push(t.elapsed());
        assert!(refused, "a DELETE in a read call is refused");
    }
    rows.push(stats(
        "egress checks alone",
        "a DELETE refused by the read-only rule",
        checks,
    ));

    // 4. A whole guest call: instantiate, list-users, one request, JSON decode.
    let fake = DirectoryFake::start("k", seed_users(100, 0)).await;
    let conn = Connection::builder()
        .base_url(fake.url())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret("k"))
        .build(pooled.descriptor())?;
    let mut calls = Vec::new();
    for _ in 0..1000 {
        let t = Instant::now();
        pooled.list_users(&conn, None).await.context("list-users")?;
        calls.push(t.elapsed());
    }
    rows.push(stats(
        "list-users through the sandbox (pooling)",
        "one page of 100 users, loopback",
        calls,
    ));

    let server = bench_server();
    let engines = both_engines(&server);
    let mut table = render(&rows);
    table.push_str(&sync_table(&engines)?);
    table.push_str(&idp::table(&engines)?);
    table.push_str(&languages_table()?);
    table.push_str(&storage_table(&engines).await?);
    table.push_str(&tenants_table()?);
    table.push_str(&reconcile_table(&engines)?);
    table.push_str(&api_table().await?);
    table.push_str(&fleet::table(&server).await?);
    println!("{table}");
    if let Some(out) = out {
        std::fs::write(&out, document(&table))?;
        eprintln!("wrote {}", out.display());
    }
    let _ = std::fs::remove_dir_all(&cache);
    Ok(())
}

/// The bench's own PostgreSQL server, a new cluster under `target/` with
/// PostgreSQL's durable defaults; it stops when dropped.
fn bench_server() -> seatwarden_tests::postgres::Cluster {
    seatwarden_tests::postgres::Cluster::create_durable(&repo_root().join("target/bench-postgres"))
}

/// SQLite, and PostgreSQL on `server`: the engines measured side by side.
fn both_engines(server: &seatwarden_tests::postgres::Cluster) -> [Engine; 2] {
    [Engine::Sqlite, Engine::postgres(server)]
}

/// The vendors whose syncs are measured, with the wasm connector's name.
const VENDORS: [(&str, &str); 5] = [
    ("SmartRecruiters", "smartrecruiters"),
    ("Smartsheet", "smartsheet"),
    ("SCIM 2.0", "scim"),
    ("Okta (one app)", "okta"),
    ("Entra ID (one app)", "entra"),
];

/// A vendor fake with `users` users, rate limits off: (base URL, port, path prefix, guard).
async fn start_fake(
    vendor: &str,
    token: &str,
    users: usize,
) -> Result<(String, u16, String, Box<dyn std::any::Any>)> {
    use seatwarden_tests::fixtures::now_ms;
    Ok(match vendor {
        "smartrecruiters" => {
            use seatwarden_tests::smartrecruiters_fake::{
                SmartRecruitersFake, SrTenant, seed_users_only,
            };
            let fake = SmartRecruitersFake::start(SrTenant {
                rate_limit: None,
                ..seed_users_only(token, users, now_ms())
            })
            .await;
            (
                fake.url(),
                fake.server.port(),
                String::new(),
                Box::new(fake),
            )
        }
        "smartsheet" => {
            use seatwarden_tests::smartsheet_fake::{SmartsheetFake, SsTenant, seed_tenant};
            let fake = SmartsheetFake::start(SsTenant {
                requests_per_minute: None,
                ..seed_tenant(token, users, now_ms(), false)
            })
            .await;
            (
                fake.base_url(),
                fake.server.port(),
                "/2.0".into(),
                Box::new(fake),
            )
        }
        "scim" => {
            use seatwarden_tests::scim_fake::{Listing, ScimBehaviour, ScimFake, bench_user};
            let behaviour = ScimBehaviour {
                patch_supported: true,
                patch_501: false,
                max_per_page: 100,
                authorization: None,
                listing: Listing::Honest,
            };
            let fake = ScimFake::start(behaviour, (0..users).map(bench_user).collect()).await;
            (
                fake.base_url(),
                fake.server.port(),
                "/scim/v2".into(),
                Box::new(fake),
            )
        }
        "okta" => {
            use seatwarden_tests::okta_fake::{OktaFake, OktaTenant, seed_tenant};
            let fake = OktaFake::start(OktaTenant {
                requests_per_minute: None,
                ..seed_tenant(token, users, now_ms())
            })
            .await;
            (
                fake.base_url(),
                fake.server.port(),
                String::new(),
                Box::new(fake),
            )
        }
        "entra" => {
            use seatwarden_tests::entra_fake::{EntraFake, seed_direct_only};
            // The host's OAuth client authenticates with `token` as the
            // client secret; the native client sends `token` as a bearer
            // the fake accepts. Both fetch nothing in the measured pass.
            let fake =
                EntraFake::start(seed_direct_only(ENTRA_CLIENT, token, users, now_ms())).await;
            fake.accept_token(token);
            (
                fake.base_url(),
                fake.server.port(),
                "/v1.0".into(),
                Box::new(fake),
            )
        }
        other => anyhow::bail!("unknown vendor {other}"),
    })
}

/// The Entra fake's client id in the bench.
const ENTRA_CLIENT: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";

async fn native_page(
    vendor: &str,
    port: u16,
    prefix: &str,
    token: &str,
    cursor: Option<&str>,
) -> Result<seatwarden_domain::account::AccountPage> {
    use seatwarden_tests::native_clients as native;
    match vendor {
        "smartrecruiters" => native::list_users(port, token, cursor).await,
        "smartsheet" => native::smartsheet::list_users(port, token, cursor).await,
        "okta" => {
            native::okta::list_users(port, token, seatwarden_tests::okta_fake::APP_ID, cursor).await
        }
        "entra" => {
            native::entra::list_users(port, token, seatwarden_tests::entra_fake::APP_ID, cursor)
                .await
        }
        _ => native::scim::list_users(port, prefix, token, cursor).await,
    }
}

/// A fresh store of `engine` named after `what` and this process, with
/// one tenant and one profile for `connector`.
async fn bench_profile(
    engine: &Engine,
    what: &str,
    connector: &str,
) -> Result<(Scratch, seatwarden_store::ProfileId)> {
    use seatwarden_store::ProfileConnector;
    let scratch = Scratch::open(engine, what).await?;
    let tenant = scratch.storage.ensure_tenant("bench", 0).await?;
    let meta = ProfileConnector {
        name: connector,
        version: "0.1.0",
        digest: "-",
        base_url: "-",
    };
    let profile = scratch
        .storage
        .ensure_profile(tenant, connector, &meta, 0)
        .await?;
    Ok((scratch, profile))
}

/// A connection to a vendor's fake on loopback as a profile would make it:
/// the host's OAuth client for Entra ID (the fake takes `token` as the
/// client secret, sent in the form), the token itself for the others, and
/// each connector's app option.
fn wasm_connection(
    vendor: &str,
    base_url: &str,
    token: &str,
    keep_alive: bool,
    connector: &seatwarden_sandbox::Connector,
) -> Result<Connection> {
    use seatwarden_sandbox::credentials::AuthScheme;
    let credential = if vendor == "entra" {
        let token_url = format!(
            "{}/{}/oauth2/v2.0/token",
            base_url.trim_end_matches("/v1.0"),
            seatwarden_tests::entra_fake::TENANT_ID
        );
        let client = seatwarden_sandbox::oauth::OAuthClient::new(
            ENTRA_CLIENT.into(),
            token.to_string().into(),
            token_url,
            Some("https://graph.microsoft.com/.default".into()),
        )
        .with_client_authentication(seatwarden_sandbox::oauth::ClientAuthentication::Post);
        Credential::OAuth2(std::sync::Arc::new(client))
    } else {
        Credential::secret(token)
    };
    let mut builder = Connection::builder()
        .base_url(base_url.to_string())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(credential)
        .keep_alive(keep_alive);
    if vendor == "scim" {
        builder = builder.auth_scheme(AuthScheme::BearerToken);
    }
    if vendor == "okta" {
        builder = builder.option("app-id", seatwarden_tests::okta_fake::APP_ID);
    }
    if vendor == "entra" {
        builder = builder.option("app-id", seatwarden_tests::entra_fake::APP_ID);
    }
    builder.build(connector.descriptor())
}

/// One sync in a child process, so its peak memory is its own.
async fn sync_child(vendor: &str, mode: &str, users: usize, engine: &Engine) -> Result<()> {
    use seatwarden_app::sync::{ProfileSync, SyncOptions};
    use seatwarden_store::Stream;
    use seatwarden_tests::fixtures::now_ms;
    let token = "bench-token";
    let (base_url, port, prefix, _fake) = start_fake(vendor, token, users).await?;
    let (scratch, profile) =
        bench_profile(engine, &format!("sync-{vendor}-{mode}"), vendor).await?;
    let storage = &scratch.storage;
    let elapsed = match mode {
        "wasm" | "wasm-fresh" => {
            let runtime = Runtime::new(RuntimeConfig {
                cache_dir: Some(repo_root().join("target/test-compile-cache")),
                ..RuntimeConfig::default()
            })?;
            let connector = runtime.load_file(&guest(vendor)).await?;
            let conn = wasm_connection(vendor, &base_url, token, mode == "wasm", &connector)?;
            let sync = ProfileSync {
                clock: &seatwarden_app::clock::SystemClock,
                storage,
                connector: &connector,
                connection: &conn,
                profile,
                options: SyncOptions {
                    download_activity: false,
                    ..SyncOptions::default()
                },
            };
            // Warm-up: one unmeasured pass over every page, as for native.
            let mut cursor: Option<String> = None;
            while let Some(next) = connector
                .list_users(&conn, cursor.as_deref())
                .await?
                .next_cursor
            {
                cursor = Some(next);
            }
            let t = Instant::now();
            let report = sync.run(&|_| {}).await?;
            anyhow::ensure!(
                report.accounts as usize == users,
                "synced {} of {users}",
                report.accounts
            );
            t.elapsed()
        }
        "native" => {
            let mut cursor: Option<String> = None;
            while let Some(next) = native_page(vendor, port, &prefix, token, cursor.as_deref())
                .await?
                .next_cursor
            {
                cursor = Some(next);
            }
            let t = Instant::now();
            let run = storage
                .begin_or_resume(
                    profile,
                    Stream::Users,
                    None,
                    seatwarden_store::Trigger::Manual,
                    now_ms(),
                )
                .await?;
            // Stored in batches as the sync stores them.
            let (mut cursor, mut count) = (None::<String>, 0);
            let mut batch: Vec<Vec<seatwarden_domain::account::Account>> = Vec::new();
            loop {
                let page = native_page(vendor, port, &prefix, token, cursor.as_deref()).await?;
                count += page.accounts.len();
                batch.push(page.accounts);
                let held: usize = batch.iter().map(Vec::len).sum();
                if page.next_cursor.is_none() || held >= seatwarden_app::sync::ITEMS_PER_COMMIT {
                    let pages: Vec<&[seatwarden_domain::account::Account]> =
                        batch.iter().map(Vec::as_slice).collect();
                    storage
                        .upsert_accounts_pages(
                            profile,
                            run.run_id,
                            &pages,
                            page.next_cursor.as_deref(),
                            now_ms(),
                        )
                        .await?;
                    batch.clear();
                }
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            storage
                .finish_users_run(profile, run.run_id, now_ms())
                .await?;
            anyhow::ensure!(count == users, "synced {count} of {users}");
            t.elapsed()
        }
        other => anyhow::bail!("unknown mode {other}"),
    };
    let peak_kb = peak_rss_kib()?;
    scratch.discard().await?;
    println!("{} {}", elapsed.as_secs_f64(), peak_kb);
    Ok(())
}

/// The modes each engine's sync rows measure: keep-alive off only on
/// SQLite (it is about the connection, not the store).
fn sync_modes(engine: &Engine) -> &'static [&'static str] {
    match engine {
        Engine::Sqlite => &["wasm", "wasm-fresh", "native"],
        Engine::Postgres(_) => &["wasm", "native"],
    }
}

/// The names of the engines measured, for a table's title.
fn engine_names(engines: &[Engine]) -> String {
    engines
        .iter()
        .map(Engine::label)
        .collect::<Vec<_>>()
        .join(" and ")
}

fn sync_table(engines: &[Engine]) -> Result<String> {
    let mut out = format!(
        "\n### Sync throughput: {SYNC_USERS} users per vendor from its fake into {} ({SYNC_RUNS} runs each, alternating)\n\n\
         | vendor | store | path | users/s (median) | spread (min–max) | peak RSS of the process | wasm / native |\n\
         |---|---|---|---:|---:|---:|---:|\n",
        engine_names(engines)
    );
    for (vendor_name, vendor) in VENDORS {
        let mut results: std::collections::BTreeMap<(usize, &str), Vec<Vec<f64>>> =
            Default::default();
        for _ in 0..SYNC_RUNS {
            for (e, engine) in engines.iter().enumerate() {
                for mode in sync_modes(engine) {
                    let args = [
                        "--sync-child".into(),
                        vendor.into(),
                        mode.to_string(),
                        SYNC_USERS.to_string(),
                        engine.arg(),
                    ];
                    results
                        .entry((e, mode))
                        .or_default()
                        .extend(child_runs(&args, 1)?);
                }
            }
        }
        // Each run printed its seconds and its peak RSS in KiB.
        let rate = |e: usize, mode: &str| -> (f64, f64, f64, u64) {
            let runs = &results[&(e, mode)];
            let (median, lo, hi) =
                median_spread(runs.iter().map(|r| SYNC_USERS as f64 / r[0]).collect());
            let peak = runs.iter().map(|r| r[1] as u64).max().unwrap_or(0);
            (median, lo, hi, peak)
        };
        for (e, engine) in engines.iter().enumerate() {
            let store = engine.label();
            let (native, _, _, _) = rate(e, "native");
            for mode in sync_modes(engine) {
                let (users, lo, hi, peak) = rate(e, mode);
                let (path, ratio) = match *mode {
                    "wasm" => (
                        "wasm connector in the sandbox",
                        format!("**{:.0}%**", 100.0 * users / native),
                    ),
                    "wasm-fresh" => (
                        "the same, keep-alive off (a new connection per page)",
                        format!("{:.0}%", 100.0 * users / native),
                    ),
                    _ => ("native Rust client, same fake and storage", String::new()),
                };
                out.push_str(&format!(
                    "| {vendor_name} | {store} | {path} | {users:.0} | {lo:.0}–{hi:.0} | {} MiB | {ratio} |\n",
                    peak / 1024
                ));
            }
        }
    }
    out.push_str("\nTarget: wasm at 80% or more of native. Peak RSS includes the in-process fake holding all users.\n");
    Ok(out)
}

fn hooks_for(origin: &str) -> EgressHooks {
    let limits = Limits::default();
    EgressHooks::new(
        EgressCall {
            label: Arc::from("bench@0.1.0"),
            call: "list-users",
            policy: Arc::new(EgressPolicy::new(
                vec![AllowedOrigin::parse(origin).unwrap()],
                PrivateTargets::AllowLoopback,
            )),
            methods: MethodPolicy::ReadOnly,
            credential: seatwarden_sandbox::egress::HostCredential::None,
            declared_auth_header: None,
            request_cap: limits.requests_per_call,
            limits: TransportLimits {
                connect_timeout: limits.connect_timeout,
                read_timeout: limits.read_timeout,
                response_body_bytes: limits.response_body_bytes,
            },
            denial_log: None,
            rate_limiter: None,
            keep_alive: None,
            tap: None,
            redactor: Arc::default(),
        },
        Transport::new(),
    )
}

async fn direct_get(port: u16) -> Result<()> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let response = sender
        .send_request(
            http::Request::get("/users")
                .header("host", "127.0.0.1")
                .body(Empty::<Bytes>::new())?,
        )
        .await?;
    response.into_body().collect().await?;
    Ok(())
}

fn render(rows: &[Row]) -> String {
    let mut out =
        String::from("| what | input | median | p99 | runs |\n|---|---|---:|---:|---:|\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.what,
            r.input,
            fmt(r.median),
            fmt(r.p99),
            r.runs
        ));
    }
    out
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
            })
        })
        .map(|kb| format!("{:.0} GiB", kb as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!(
        "{cpu}, {cores} cores, {mem} RAM, {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn document(table: &str) -> String {
    format!(
        "# Benchmarks\n\nMade by `cargo xtask bench` (release build; the bench binary is `tests/src/bin/bench/`).\n\
         Machine: {}.\n\nEvery row is the median and 99th percentile of the runs shown, taken in one invocation;\n\
         rows that compare alternatives were measured interleaved, round by round. These are measurements,\n\
         not guarantees: nothing in the test suite asserts a time.\n\n{table}\n\
         ## What the rows mean\n\n\
         - *load connector*: read, compile (or deserialize from the on-disk cache), check the exports,\n  \
         pre-instantiate, and call `describe` once in the sandbox.\n\
         - *instantiate + describe()*: a fresh `Store` with all limits, instantiation from the `InstancePre`,\n  \
         one call that crosses the component boundary and returns a record. Target: median under 50 µs with pooling.\n\
         - *loopback GET*: the hook's allowlist, method and cap checks, address check and connect to a\n  \
         fresh connection, against a plain hyper client doing the same exchange; the difference is the\n  \
         hook's fixed overhead (both drive their connection on a spawned task; the hook's has keep-alive\n  \
         off here, so both pay for a new connection); the *egress checks alone* row isolates what the\n  \
         policy itself costs.\n\
         - *list-users through the sandbox*: what one page of a sync costs end to end on loopback.\n\
         - *Sync throughput*: each run is a child process that starts the fake, makes one unmeasured pass\n  \
         over every page (warm-up, for both paths alike), then times a full sync into a fresh SQLite file\n  \
         or a fresh database on the bench's own PostgreSQL 15 server (a cluster under `target/`, started\n  \
         with PostgreSQL's durable defaults: `fsync`, full page writes and synchronous commit on; SQLite\n  \
         runs in WAL mode with `synchronous = NORMAL`, which does not wait for the disk at each commit).\n  \
         Both paths keep connections alive and store 1,000 accounts per transaction; the keep-alive-off row\n  \
         is the wasm path with a new connection per page (loopback: no TLS, no network round trip, so\n  \
         this is the least keep-alive saves).\n\
         - *Connectors by language*: the Example Directory connector written in Rust, Python\n  \
         (componentize-py) and JavaScript (jco), each run a child process: one cold compile (no cache),\n  \
         one load from a fresh disk cache, the median of 50 instantiate + describe() calls, then a\n  \
         sync of 10,000 users (100 pages) from the directory fake into SQLite, activity off. Peak RSS\n  \
         is the child's, and for Python and JavaScript it is the cold compile's (Cranelift on a\n  \
         13–18 MiB component), not the sync's.\n\
         - *Storage*: the storage half of a sync alone, in process: 100,000 accounts stored batch by batch\n  \
         as a sync stores them (`upsert_accounts_pages`: one write transaction per batch with its cursor;\n  \
         a sync commits batches of 1,000, 100 was one vendor page per commit before), first into an empty\n  \
         profile, then again with one account in ten changed, into a fresh SQLite file or PostgreSQL\n  \
         database per run.\n\
         - *Many tenants*: each run is a child process with one runtime, one loaded SmartRecruiters\n  \
         connector, one SQLite file and one fake of 1,000 users; 1,000 tenants each get a profile and a\n  \
         connection of their own and are synced through the wasm connector, at most 100 at once\n  \
         (`SEATWARDEN_BENCH_CONCURRENCY` changes it). Per-sync memory is the peak minus the RSS before the\n  \
         syncs, divided by the syncs at once.\n\
         - *Rules + reconciliation*: each run is a child process that fills a fresh SQLite file (or\n  \
         PostgreSQL database; the engines alternate run by run) with 100\n  \
         SmartRecruiters-shaped profiles of 10,000 subscriptions (2% inactive, 1% of an unmapped role, 10%\n  \
         idle 90 days, 5% never signed in, 10 user exclusions and an identifier exclusion, three\n  \
         entitlements), then times the candidates refresh of every profile (`refresh_candidates`, the\n  \
         rules engine as the scheduler runs it) twice (the first opens every candidate with its audit\n  \
         entry, the second finds nothing to change), once after a day's activity (20 candidates' accounts\n  \
         per profile active an hour ago, through `apply_activity_page` as a sync stores it: their\n  \
         candidates are canceled), once after one more exclusion (the rule's inputs changed, so every open\n  \
         candidate is judged again), and one reconciliation (`reconciliation::reconcile`).\n  \
         Peak RSS is reset before each step (`/proc/self/clear_refs`).\n\
         - *API*: the same 1,000,000 subscriptions in one tenant (every candidate the default rule opens,\n  \
         one reconciliation run kept), served by `seatwarden_server::serve_with` in the bench process on\n  \
         loopback; each list row is Debian's `wrk` (a second process, one thread, 4 keep-alive connections,\n  \
         10 s, a read token) on one URL, with its 50th and 99th latency percentiles and requests per second\n  \
         as wrk prints them; the overview row times 30 sequential `GET /console` requests with a console\n  \
         session cookie from the client's side. `--api-only` runs these rows alone.\n\
         - *Fleet*: one fresh PostgreSQL database per row, copied from a template into which this process\n  \
         applied, validated and published every tenant's profile through the application's own\n  \
         operations; each tenant has its own SmartRecruiters connection (its own credential file, so its\n  \
         own rate-limit bucket at the vendor's 10 requests per second) and one profile with activity off,\n  \
         all against one SmartRecruiters fake in this process. The row starts 1, 2 or 3 real `seatwarden\n  \
         serve --no-listen` processes together (`max_concurrent_jobs = 100` each) and times until every\n  \
         profile's scheduled users run has succeeded, reading the database every half second; then it\n  \
         reads each host's peak RSS and CPU time from `/proc`, counts the succeeded runs per host (the\n  \
         lease owner names the process) and the stored subscriptions (all of them, or the row fails),\n  \
         and stops the hosts with SIGTERM. CPU seconds are the machine's busy time over the row, each\n  \
         host's, this process's (the fake) and the rest, which is the database server. `--fleet-only`\n  \
         runs these rows alone; `SEATWARDEN_BENCH_FLEET_TENANTS` and `SEATWARDEN_BENCH_FLEET_USERS`\n  \
         shrink them for a quick look. The tenants, languages and API rows run on SQLite only.\n\n\
         {}",
        machine(),
        notes()
    )
}

/// The profiling notes kept beside the bench (`tests/bench-notes.md`), so
/// that a new run keeps them.
fn notes() -> String {
    std::fs::read_to_string(repo_root().join("tests/bench-notes.md"))
        .unwrap_or_else(|err| format!("(tests/bench-notes.md unreadable: {err})\n"))
}

/// This process's peak resident set (VmHWM), in KiB.
fn peak_rss_kib() -> Result<u64> {
    status_kib("self", "VmHWM:")
}

/// This process's resident set now (VmRSS), in KiB.
fn current_rss_kib() -> Result<u64> {
    status_kib("self", "VmRSS:")
}

/// One `... kB` line of `/proc/<pid>/status` (`self` for this process), in KiB (0 when absent).
fn status_kib(pid: &str, field: &str) -> Result<u64> {
    Ok(std::fs::read_to_string(format!("/proc/{pid}/status"))?
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)
                .map(|v| v.trim().trim_end_matches(" kB").parse::<u64>().unwrap_or(0))
        })
        .unwrap_or(0))
}

/// Many tenants: profiles (one tenant each), users per profile, runs, and
/// how many syncs run at once (`SEATWARDEN_BENCH_CONCURRENCY` overrides).
const TENANTS: usize = 1_000;
const TENANT_USERS: usize = 1_000;
const TENANT_RUNS: usize = 3;
const TENANT_CONCURRENCY: usize = 100;

/// Runs this binary `runs` times with `args`, each run a child process so
/// its peak memory is its own; returns the numbers each printed.
fn child_runs(args: &[String], runs: usize) -> Result<Vec<Vec<f64>>> {
    let exe = std::env::current_exe()?;
    (0..runs)
        .map(|_| {
            let out = std::process::Command::new(&exe).args(args).output()?;
            anyhow::ensure!(
                out.status.success(),
                "bench {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
            Ok(String::from_utf8(out.stdout)?
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<Vec<f64>, _>>()?)
        })
        .collect()
}

/// The median, minimum and maximum of the `i`th number over runs.
fn median_of(runs: &[Vec<f64>], i: usize) -> (f64, f64, f64) {
    median_spread(runs.iter().map(|r| r[i]).collect())
}

/// The median, minimum and maximum of some measurements.
fn median_spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// The Example Directory connector in each language: (language, toolchain, fixture).
const LANGUAGES: [(&str, &str, &str); 3] = [
    (
        "Rust",
        "wit-bindgen 0.61 + seatwarden-sdk",
        "fixture_directory",
    ),
    (
        "Python",
        "componentize-py 0.25.1 (CPython 3.14)",
        "directory_python",
    ),
    (
        "JavaScript",
        "jco 1.35 + componentize-js 0.23",
        "directory_js",
    ),
];
const LANGUAGE_USERS: usize = 10_000;
const LANGUAGE_RUNS: usize = 3;

/// One connector, in a child process: cold compile, load from the disk
/// cache, instantiate + describe, and a sync of `users` users into SQLite.
/// Prints seconds, seconds, milliseconds, seconds and peak RSS in KiB.
async fn language_child(fixture: &str, users: usize) -> Result<()> {
    use seatwarden_app::sync::{ProfileSync, SyncOptions};
    use seatwarden_tests::fixtures::now_ms;
    let cache = repo_root().join(format!(
        "target/bench-tmp/lang-cache-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&cache);
    let bytes = std::fs::read(guest(fixture))?;
    let cold = Runtime::new(RuntimeConfig {
        cache_dir: None,
        ..RuntimeConfig::default()
    })?;
    let t = Instant::now();
    cold.load_bytes(&bytes, fixture).await?;
    let compile = t.elapsed();
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(cache.clone()),
        ..RuntimeConfig::default()
    })?;
    runtime.load_bytes(&bytes, fixture).await?;
    let t = Instant::now();
    let connector = runtime.load_bytes(&bytes, fixture).await?;
    let cached = t.elapsed();
    let mut describe = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        connector.describe().await?;
        describe.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (describe_ms, _, _) = median_spread(describe);

    let fake = DirectoryFake::start("bench-key", seed_users(users, now_ms())).await;
    let (scratch, profile) =
        bench_profile(&Engine::Sqlite, &format!("lang-{fixture}"), fixture).await?;
    let conn = Connection::builder()
        .base_url(fake.url())
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret("bench-key"))
        .build(connector.descriptor())?;
    let sync = ProfileSync {
        clock: &seatwarden_app::clock::SystemClock,
        storage: &scratch.storage,
        connector: &connector,
        connection: &conn,
        profile,
        options: SyncOptions {
            download_activity: false,
            ..SyncOptions::default()
        },
    };
    let t = Instant::now();
    let report = sync.run(&|_| {}).await?;
    let elapsed = t.elapsed();
    anyhow::ensure!(
        report.accounts as usize == users,
        "synced {} of {users}",
        report.accounts
    );
    scratch.discard().await?;
    let _ = std::fs::remove_dir_all(&cache);
    println!(
        "{} {} {describe_ms} {} {}",
        compile.as_secs_f64(),
        cached.as_secs_f64(),
        elapsed.as_secs_f64(),
        peak_rss_kib()?
    );
    Ok(())
}

/// The same connector written in three languages, side by side.
fn languages_table() -> Result<String> {
    let mut out = format!(
        "\n### Connectors by language: the Example Directory connector, {LANGUAGE_USERS} users from its fake into SQLite ({LANGUAGE_RUNS} runs each, child processes)\n\n\
         | language | toolchain | component | cold compile | load from the disk cache | instantiate + describe() | sync users/s | peak RSS |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n"
    );
    for (language, toolchain, fixture) in LANGUAGES {
        let size = std::fs::metadata(guest(fixture))?.len();
        let args = [
            "--language-child".into(),
            fixture.into(),
            LANGUAGE_USERS.to_string(),
        ];
        let runs = child_runs(&args, LANGUAGE_RUNS)?;
        let (compile, compile_lo, compile_hi) = median_of(&runs, 0);
        let (cached, _, _) = median_of(&runs, 1);
        let (describe, _, _) = median_of(&runs, 2);
        let (rate, rate_lo, rate_hi) =
            median_spread(runs.iter().map(|r| LANGUAGE_USERS as f64 / r[3]).collect());
        let peak = runs.iter().map(|r| r[4] as u64).max().unwrap_or(0);
        out.push_str(&format!(
            "| {language} | {toolchain} | {:.1} MiB | {compile:.2} s ({compile_lo:.2}–{compile_hi:.2}) | {:.1} ms | {describe:.2} ms | {rate:.0} ({rate_lo:.0}–{rate_hi:.0}) | {} MiB |\n",
            size as f64 / (1024.0 * 1024.0),
            cached * 1000.0,
            peak / 1024
        ));
    }
    out.push_str("\nEach call runs in a fresh instance, so instantiate + describe() is the per-call floor; Python and JavaScript components carry an interpreter and a pre-initialised heap. Their peak RSS is the cold compile's.\n");
    Ok(out)
}

/// Runs the many-tenants child processes and tabulates them.
fn tenants_table() -> Result<String> {
    let limit = std::env::var("SEATWARDEN_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(TENANT_CONCURRENCY);
    let runs = child_runs(
        &[
            "--tenants-child".into(),
            TENANTS.to_string(),
            TENANT_USERS.to_string(),
            limit.to_string(),
        ],
        TENANT_RUNS,
    )?;
    let median = |i: usize| median_of(&runs, i);
    let (secs, lo, hi) = median(0);
    let (peak, peak_lo, peak_hi) = median(1);
    let (base, _, _) = median(2);
    let (instances, _, _) = median(3);
    let users = (TENANTS * TENANT_USERS) as f64;
    Ok(format!(
        "\n### Many tenants: {TENANTS} tenants with one SmartRecruiters profile of {TENANT_USERS} users each, {limit} syncs at once ({TENANT_RUNS} runs, child processes)\n\n\
         | what | median | spread (min–max) |\n|---|---:|---:|\n\
         | total time, every profile synced through the wasm connector | {secs:.1} s | {lo:.1}–{hi:.1} s |\n\
         | users stored per second, all tenants | {:.0} | |\n\
         | peak RSS of the process | {:.0} MiB | {:.0}–{:.0} MiB |\n\
         | RSS before the syncs (runtime, connector, database, fake) | {:.0} MiB | |\n\
         | per sync in flight: (peak − before) / syncs at once | {:.2} MiB | |\n\
         | list-users calls, a fresh instance each | {instances:.0} | |\n\n\
         Target: peak under 2 GiB.\n",
        users / secs,
        peak / 1024.0,
        peak_lo / 1024.0,
        peak_hi / 1024.0,
        base / 1024.0,
        (peak - base) / 1024.0 / limit as f64,
    ))
}

/// `tenants` tenants, each with one profile of the shipped SmartRecruiters
/// connector against one shared fake of `users` users (each tenant its own
/// API key, which the fake checks), all synced with at most `limit` at
/// once, in one process, one runtime, one database. Prints seconds, peak
/// RSS and RSS before the syncs in KiB, and the number of connector calls.
async fn tenants_child(tenants: usize, users: usize, limit: usize) -> Result<()> {
    use futures_util::{StreamExt, TryStreamExt};
    use seatwarden_app::sync::{ProfileSync, SyncOptions};
    use seatwarden_store::{ProfileConnector, Storage};
    let token = "bench-token";
    let (base_url, _, _, _fake) = start_fake("smartrecruiters", token, users).await?;
    let dir = repo_root().join("target/bench-tmp");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("tenants-{}.db", std::process::id()));
    let storage = Storage::open(&path).await?;
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(repo_root().join("target/test-compile-cache")),
        ..RuntimeConfig::default()
    })?;
    let connector = runtime.load_file(&guest("smartrecruiters")).await?;
    let meta = ProfileConnector {
        name: "smartrecruiters",
        version: "0.2.0",
        digest: "-",
        base_url: "-",
    };
    let mut profiles = Vec::with_capacity(tenants);
    for t in 0..tenants {
        let tenant = storage.ensure_tenant(&format!("tenant-{t}"), 0).await?;
        let profile = storage.ensure_profile(tenant, "sr", &meta, 0).await?;
        let conn = Connection::builder()
            .base_url(base_url.clone())
            .private_targets(PrivateTargets::AllowLoopback)
            .credential(Credential::secret(token))
            .build(connector.descriptor())?;
        profiles.push((profile, conn));
    }
    let before = current_rss_kib()?;
    std::fs::write("/proc/self/clear_refs", "5")?;
    let t = Instant::now();
    let synced: Vec<i64> = futures_util::stream::iter(&profiles)
        .map(|(profile, conn)| {
            let sync = ProfileSync {
                clock: &seatwarden_app::clock::SystemClock,
                storage: &storage,
                connector: &connector,
                connection: conn,
                profile: *profile,
                options: SyncOptions {
                    download_activity: false,
                    ..SyncOptions::default()
                },
            };
            async move { anyhow::Ok(sync.run(&|_| {}).await?.accounts) }
        })
        .buffer_unordered(limit)
        .try_collect()
        .await?;
    let elapsed = t.elapsed();
    let peak = peak_rss_kib()?;
    let total: i64 = synced.iter().sum();
    anyhow::ensure!(
        total as usize == tenants * users,
        "synced {total} of {}",
        tenants * users
    );
    let calls = tenants * users.div_ceil(100);
    drop(storage);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    println!("{} {peak} {before} {calls}", elapsed.as_secs_f64());
    Ok(())
}

const UPSERT_USERS: usize = 100_000;
const UPSERT_RUNS: usize = 3;
/// Accounts per write transaction: 100 is one vendor page per commit (what
/// a sync did before batching), 1,000 what a sync commits now
/// (`ITEMS_PER_COMMIT`), 5,000 to show where the curve flattens.
const UPSERT_PAGE_SIZES: [usize; 3] = [100, 1000, 5000];

/// Upsert rate into SQLite per transaction size, the storage half of a
/// sync: 100,000 accounts stored batch by batch as a sync stores them (one
/// write transaction per batch with its cursor), first into an empty
/// profile, then again with one account in ten changed.
async fn storage_table(engines: &[Engine]) -> Result<String> {
    use seatwarden_domain::account::Account;
    use seatwarden_store::{ProfileConnector, Stream, Trigger};
    let now = seatwarden_tests::fixtures::now_ms();
    let accounts: Vec<Account> = (0..UPSERT_USERS)
        .map(|i| Account {
            id: format!("{i}"),
            principal: format!("user{i}@example.com"),
            display_name: Some(format!("User {i}")),
            active: true,
            subscriptions: vec!["STANDARD".into()],
            created_at: Some(now - 400 * 86_400_000),
            last_active_at: Some(now - (i % 90) as i64 * 86_400_000),
            attributes: vec![("department".into(), format!("d{}", i % 12))],
        })
        .collect();
    let changed: Vec<Account> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut a = a.clone();
            if i % 10 == 0 {
                a.last_active_at = Some(now);
            }
            a
        })
        .collect();
    let mut out = format!(
        "\n### Storage: {UPSERT_USERS} accounts upserted into {} per transaction size ({UPSERT_RUNS} runs each, in process)\n\n\
         | store | accounts per transaction | first sync (all new), accounts/s | spread | re-sync (all known, 10% changed), accounts/s | spread |\n\
         |---|---:|---:|---:|---:|---:|\n",
        engine_names(engines)
    );
    for engine in engines {
        for page in UPSERT_PAGE_SIZES {
            let (mut first, mut again) = (Vec::new(), Vec::new());
            for run in 0..UPSERT_RUNS {
                let scratch = Scratch::open(engine, &format!("upsert-{page}-{run}")).await?;
                let storage = &scratch.storage;
                let tenant = storage.ensure_tenant("bench", now).await?;
                let meta = ProfileConnector {
                    name: "smartrecruiters",
                    version: "0.2.0",
                    digest: "-",
                    base_url: "-",
                };
                let profile = storage.ensure_profile(tenant, "p", &meta, now).await?;
                for (pass, times) in [(&accounts, &mut first), (&changed, &mut again)] {
                    let sync = storage
                        .begin_or_resume(profile, Stream::Users, None, Trigger::Manual, now)
                        .await?;
                    let pages: Vec<&[Account]> = pass.chunks(page).collect();
                    let t = Instant::now();
                    for (i, chunk) in pages.iter().enumerate() {
                        let cursor = (i + 1 < pages.len()).then(|| (i + 1).to_string());
                        storage
                            .upsert_accounts_page(
                                profile,
                                sync.run_id,
                                chunk,
                                cursor.as_deref(),
                                now,
                            )
                            .await?;
                    }
                    times.push(UPSERT_USERS as f64 / t.elapsed().as_secs_f64());
                    storage.finish_users_run(profile, sync.run_id, now).await?;
                }
                scratch.discard().await?;
            }
            let (f, f_lo, f_hi) = median_spread(first);
            let (a, a_lo, a_hi) = median_spread(again);
            out.push_str(&format!(
                "| {} | {page} | {f:.0} | {f_lo:.0}–{f_hi:.0} | {a:.0} | {a_lo:.0}–{a_hi:.0} |\n",
                engine.label()
            ));
        }
    }
    Ok(out)
}

const RECONCILE_PROFILES: usize = 100;
const RECONCILE_PER_PROFILE: usize = 10_000;
const RECONCILE_RUNS: usize = 3;

/// Runs the rules + reconciliation child processes, alternating engines
/// run by run, and tabulates them side by side.
fn reconcile_table(engines: &[Engine]) -> Result<String> {
    let total = RECONCILE_PROFILES * RECONCILE_PER_PROFILE;
    let mut runs: Vec<Vec<Vec<f64>>> = vec![Vec::new(); engines.len()];
    for _ in 0..RECONCILE_RUNS {
        for (e, engine) in engines.iter().enumerate() {
            runs[e].extend(child_runs(
                &[
                    "--reconcile-child".into(),
                    RECONCILE_PROFILES.to_string(),
                    RECONCILE_PER_PROFILE.to_string(),
                    engine.arg(),
                ],
                1,
            )?);
        }
    }
    let cells = |i: usize, peak: usize| -> String {
        runs.iter()
            .map(|r| {
                let (m, lo, hi) = median_of(r, i);
                let (p, _, _) = median_of(r, peak);
                format!(" {m:.2} s | {lo:.2}–{hi:.2} s | {:.0} MiB |", p / 1024.0)
            })
            .collect()
    };
    let sum = |steps: &[usize]| -> String {
        runs.iter()
            .map(|r| {
                let total: f64 = steps.iter().map(|&i| median_of(r, i).0).sum();
                format!(" {total:.2} s | | |")
            })
            .collect()
    };
    let mut out = format!(
        "\n### Rules + reconciliation: {total} subscriptions across {RECONCILE_PROFILES} profiles, {} ({RECONCILE_RUNS} runs each, alternating, child processes)\n\n| step |",
        engine_names(engines)
    );
    for engine in engines {
        let name = engine.label();
        out.push_str(&format!(
            " {name}: median | {name}: spread (min–max) | {name}: peak RSS |"
        ));
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|---:|---:|".repeat(engines.len()));
    out.push('\n');
    for (what, i, peak) in [
        (
            "rules, first refresh (opens every candidate, one audit entry each)",
            0,
            3,
        ),
        ("rules, steady refresh (nothing changed)", 1, 4),
        (
            "rules, after a day's activity (20 candidates' accounts per profile active again)",
            7,
            8,
        ),
        (
            "rules, after the rule's inputs changed (every open candidate judged again)",
            9,
            10,
        ),
        ("reconciliation (position per model and profile)", 2, 5),
        (
            "identity provider's 50,000 people read and built into an overlay (once)",
            15,
            16,
        ),
        (
            "rules with the overlay, first time (new signals: every open candidate judged again)",
            11,
            12,
        ),
        ("rules with the overlay, steady (no new signals)", 13, 14),
    ] {
        out.push_str(&format!("| {what} |{}\n", cells(i, peak)));
    }
    out.push_str(&format!(
        "| **steady rules + reconciliation** |{}\n\
         | **rules after a day's activity + reconciliation** |{}\n\
         | rules after the rule's inputs changed + reconciliation |{}\n\
         | **steady rules with the identity provider's overlay + reconciliation** |{}\n\
         | rules with the overlay's new signals + reconciliation |{}\n\n",
        sum(&[1, 2]),
        sum(&[7, 2]),
        sum(&[9, 2]),
        sum(&[13, 2]),
        sum(&[11, 2])
    ));
    let (opened, _, _) = median_of(&runs[0], 6);
    out.push_str(&format!(
        "The first refresh opened {opened:.0} candidates. Target: rules + reconciliation under 2 s.\n"
    ));
    Ok(out)
}

/// One measured rules + reconciliation run over a fresh store with
/// `profiles` x `per_profile` SmartRecruiters-shaped subscriptions. Prints
/// seconds (first refresh, steady refresh, reconciliation), the peak RSS in
/// KiB during each, the number of candidates the first refresh opened, then
/// seconds and peak KiB of a refresh after a day's activity, of one after
/// the rule's inputs changed, of the first and of a steady refresh with an
/// identity provider's overlay, and the seconds and peak KiB of building
/// that overlay from its stored profile.
async fn reconcile_child(profiles: usize, per_profile: usize, engine: &Engine) -> Result<()> {
    use seatwarden_domain::rules::{Exclusion, ReclamationRule};
    use seatwarden_store::{Stream, Trigger};
    use seatwarden_tests::fixtures::now_ms;
    let scratch = Scratch::open(engine, "reconcile").await?;
    let storage = &scratch.storage;
    let now = now_ms();
    let (tenant, exclusions, records) =
        seed_subscriptions(storage, profiles, per_profile, now).await?;
    let rule = ReclamationRule::default();
    let reset_peak = || std::fs::write("/proc/self/clear_refs", "5");
    let refresh_all = || refresh_every_profile(storage, tenant, &records, &rule, now);
    reset_peak()?;
    let t = Instant::now();
    let opened = refresh_all().await?;
    let first = t.elapsed();
    let first_peak = peak_rss_kib()?;
    reset_peak()?;
    let t = Instant::now();
    let again = refresh_all().await?;
    let steady = t.elapsed();
    let steady_peak = peak_rss_kib()?;
    anyhow::ensure!(again == 0, "a steady refresh opened {again}");
    // A day's activity: 20 accounts of each profile with an open
    // candidate were active an hour ago (their candidates are canceled).
    for (id, name) in &records {
        let run = storage
            .begin_or_resume(*id, Stream::Activity, None, Trigger::Manual, now)
            .await?;
        let events: Vec<seatwarden_domain::account::Activity> = storage
            .candidates(*id, false)
            .await?
            .iter()
            .take(20)
            .map(|c| seatwarden_domain::account::Activity {
                account_id: c.account_id.clone(),
                at: now - 3_600_000,
                kind: format!("bench {name}"),
            })
            .collect();
        storage
            .apply_activity_page(*id, run.run_id, &events, None)
            .await?;
        storage
            .finish_activity_run(*id, run.run_id, now, now, None)
            .await?;
    }
    reset_peak()?;
    let t = Instant::now();
    let after_activity = refresh_all().await?;
    let daily = t.elapsed();
    let daily_peak = peak_rss_kib()?;
    anyhow::ensure!(
        after_activity == 0,
        "a refresh after activity opened {after_activity}"
    );
    // The rule's inputs change (one more exclusion, matching nobody): every
    // open candidate is judged again.
    let more: Vec<Exclusion> = exclusions
        .iter()
        .cloned()
        .chain([Exclusion::User {
            principal: "nobody@bench.example".into(),
            active: true,
            reason: "bench".into(),
        }])
        .collect();
    storage
        .apply_exclusions(tenant, &more, "bench", now)
        .await?;
    reset_peak()?;
    let t = Instant::now();
    let rejudged = refresh_all().await?;
    let full = t.elapsed();
    let full_peak = peak_rss_kib()?;
    anyhow::ensure!(rejudged == 0, "a full re-judgement opened {rejudged}");
    // An identity provider's sign-ins as a second activity source: one
    // profile of IDP_PEOPLE people who are also accounts of the vendor
    // profiles, each signed in an hour ago, laid over every profile.
    let (overlay, build, build_peak) =
        seed_identity_provider(storage, profiles, per_profile, now).await?;
    reset_peak()?;
    let t = Instant::now();
    let merged_first =
        refresh_every_profile_with(storage, tenant, &records, &rule, now, Some(&overlay)).await?;
    let overlay_first = t.elapsed();
    let overlay_first_peak = peak_rss_kib()?;
    anyhow::ensure!(
        merged_first == 0,
        "the first refresh with the overlay opened {merged_first}"
    );
    reset_peak()?;
    let t = Instant::now();
    let merged =
        refresh_every_profile_with(storage, tenant, &records, &rule, now, Some(&overlay)).await?;
    let overlay_steady = t.elapsed();
    let overlay_steady_peak = peak_rss_kib()?;
    anyhow::ensure!(
        merged == 0,
        "a steady refresh with the overlay opened {merged}"
    );
    reset_peak()?;
    let t = Instant::now();
    let today = jiff::Timestamp::from_millisecond(now)?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let position =
        seatwarden_app::reconciliation::reconcile(storage, tenant, today, &jiff::tz::TimeZone::UTC)
            .await?;
    let reconcile = t.elapsed();
    let reconcile_peak = peak_rss_kib()?;
    let used: u64 = position.models.iter().map(|m| m.used).sum();
    anyhow::ensure!(used > 0, "nothing reconciled");
    scratch.discard().await?;
    println!(
        "{} {} {} {first_peak} {steady_peak} {reconcile_peak} {opened} {} {daily_peak} {} {full_peak} {} {overlay_first_peak} {} {overlay_steady_peak} {} {build_peak}",
        first.as_secs_f64(),
        steady.as_secs_f64(),
        reconcile.as_secs_f64(),
        daily.as_secs_f64(),
        full.as_secs_f64(),
        overlay_first.as_secs_f64(),
        overlay_steady.as_secs_f64(),
        build.as_secs_f64(),
    );
    Ok(())
}

/// People in the bench's identity-provider profile.
const IDP_PEOPLE: usize = 50_000;

/// Stores an identity-provider profile of `IDP_PEOPLE` people spread over
/// the vendor profiles' principals (idle, never-signed-in and active ones
/// alike), each signed in an hour ago, and builds the overlay from it as
/// a refresh does (read the profile's accounts, then build); returns it
/// with the time reading and building took.
async fn seed_identity_provider(
    storage: &seatwarden_store::Storage,
    profiles: usize,
    per_profile: usize,
    now: i64,
) -> Result<(
    seatwarden_domain::activity_overlay::ActivityOverlay,
    std::time::Duration,
    u64,
)> {
    use seatwarden_domain::account::Account;
    use seatwarden_store::{ProfileConnector, Stream, Trigger};
    let meta = ProfileConnector {
        name: "okta",
        version: "0.1.0",
        digest: "-",
        base_url: "-",
    };
    // A tenant of its own, so that reconciliation measures what it did
    // before these rows (the overlay is read from any profile alike).
    let idp_tenant = storage.ensure_tenant("bench-idp", 0).await?;
    let id = storage
        .ensure_profile(idp_tenant, "idp", &meta, now)
        .await?;
    let run = storage
        .begin_or_resume(id, Stream::Users, None, Trigger::Manual, now)
        .await?;
    let per = (IDP_PEOPLE / profiles.max(1)).min(per_profile);
    let people: Vec<Account> = (0..profiles)
        .flat_map(|p| {
            (0..per).map(move |i| Account {
                id: format!("00u{p}x{i}"),
                principal: format!("User{i}@P{p}.example"),
                display_name: None,
                active: true,
                subscriptions: vec!["direct".into()],
                created_at: Some(now - 400 * seatwarden_domain::rules::DAY_MS),
                last_active_at: Some(now - 3_600_000),
                attributes: vec![],
            })
        })
        .collect();
    for page in people.chunks(1000) {
        storage
            .upsert_accounts_page(id, run.run_id, page, None, now)
            .await?;
    }
    storage.finish_users_run(id, run.run_id, now).await?;
    std::fs::write("/proc/self/clear_refs", "5")?;
    let t = Instant::now();
    let accounts = storage.subscriptions(id).await?;
    let overlay = seatwarden_domain::activity_overlay::ActivityOverlay::build(
        "idp",
        &accounts,
        &std::collections::BTreeMap::new(),
    );
    let took = t.elapsed();
    let peak = peak_rss_kib()?;
    anyhow::ensure!(
        overlay.principals() == people.len(),
        "the overlay holds {} of {} people",
        overlay.principals(),
        people.len()
    );
    Ok((overlay, took, peak))
}

/// Fills `storage` with tenant `bench`: ten user exclusions and one
/// identifier exclusion, three entitlements, and `profiles` SmartRecruiters
/// profiles of `per_profile` accounts each (10% idle 90 days, 5% never
/// signed in), each stored as one complete users download at `now`.
async fn seed_subscriptions(
    storage: &seatwarden_store::Storage,
    profiles: usize,
    per_profile: usize,
    now: i64,
) -> Result<(
    seatwarden_store::TenantId,
    Vec<seatwarden_domain::rules::Exclusion>,
    Vec<(seatwarden_store::ProfileId, String)>,
)> {
    use seatwarden_domain::account::Account;
    use seatwarden_domain::rules::{DAY_MS, Exclusion};
    use seatwarden_store::{ProfileConnector, Stream, Trigger};
    const ROLES: [&str; 6] = [
        "STANDARD",
        "STANDARD",
        "EXTENDED",
        "RESTRICTED",
        "ADMINISTRATOR",
        "STANDARD",
    ];
    let tenant = storage.ensure_tenant("bench", 0).await?;
    let exclusions: Vec<Exclusion> = (0..10)
        .map(|i| Exclusion::User {
            principal: format!("user{i}@p0.example"),
            active: true,
            reason: "bench".into(),
        })
        .chain([Exclusion::Identifier {
            connector: "smartrecruiters".into(),
            identifier: "RESTRICTED".into(),
            active: true,
            reason: "bench".into(),
        }])
        .collect();
    storage
        .apply_exclusions(tenant, &exclusions, "bench", now)
        .await?;
    let entitlements: Vec<seatwarden_domain::entitlements::Entitlement> = [
        ("Standard", 500_000, "35.10", "month"),
        ("Extended", 100_000, "99.99", "year"),
        ("Administrator", 200_000, "1200.00", "year"),
    ]
    .into_iter()
    .map(|(edition, quantity, cost, period)| {
        seatwarden_domain::entitlements::Draft {
            name: format!("SR-{edition}"),
            publisher: "SmartRecruiters".into(),
            product: "SmartRecruiters".into(),
            edition: edition.into(),
            quantity,
            unit_cost: cost.into(),
            currency: "EUR".into(),
            period: Some(period.into()),
            start: "2000-01-01".into(),
            end: "2999-12-31".into(),
            renewal: None,
        }
        .check()
        .map_err(|p| anyhow::anyhow!("{p:?}"))
    })
    .collect::<Result<_>>()?;
    storage
        .apply_entitlements(tenant, &entitlements, "bench", now)
        .await?;
    // The models the SmartRecruiters connector declares, stored as a
    // validated profile stores them (since contract 0.2.2 the host knows
    // no vendor's identifiers; without them nothing reconciles).
    let declared: Vec<seatwarden_domain::software_models::Mapping> = [
        ("EMPLOYEE", "Employee"),
        ("RESTRICTED", "Restricted"),
        ("STANDARD", "Standard"),
        ("EXTENDED", "Extended"),
        ("ADMINISTRATOR", "Administrator"),
    ]
    .into_iter()
    .map(
        |(identifier, edition)| seatwarden_domain::software_models::Mapping {
            connector: "smartrecruiters".into(),
            identifier: identifier.into(),
            model: seatwarden_domain::software_models::SoftwareModel {
                publisher: "SmartRecruiters".into(),
                product: "SmartRecruiters".into(),
                edition: edition.into(),
                metric: seatwarden_domain::software_models::Metric::PerUser,
            },
        },
    )
    .collect();
    storage
        .record_declared_models(tenant, "smartrecruiters", "bench", &declared, now)
        .await?;
    let mut records = Vec::new();
    for p in 0..profiles {
        let name = format!("p{p}");
        let meta = ProfileConnector {
            name: "smartrecruiters",
            version: "0.2.0",
            digest: "-",
            base_url: "-",
        };
        let id = storage.ensure_profile(tenant, &name, &meta, now).await?;
        let run = storage
            .begin_or_resume(id, Stream::Users, None, Trigger::Manual, now)
            .await?;
        let accounts: Vec<Account> = (0..per_profile)
            .map(|i| Account {
                id: format!("{p}-{i}"),
                principal: format!("user{i}@p{p}.example"),
                display_name: None,
                active: i % 50 != 0,
                subscriptions: vec![if i % 100 == 7 {
                    "CUSTOM_ROLE".to_string()
                } else {
                    ROLES[i % ROLES.len()].to_string()
                }],
                created_at: Some(now - 400 * DAY_MS),
                // 10% idle 90 days, 5% never signed in, the rest recent.
                last_active_at: match i % 20 {
                    0 | 1 => Some(now - 90 * DAY_MS),
                    2 => None,
                    _ => Some(now - (i % 30) as i64 * DAY_MS),
                },
                attributes: vec![("department".into(), format!("d{}", i % 12))],
            })
            .collect();
        for page in accounts.chunks(1000) {
            storage
                .upsert_accounts_page(id, run.run_id, page, None, now)
                .await?;
        }
        storage.finish_users_run(id, run.run_id, now).await?;
        records.push((id, name));
    }
    Ok((tenant, exclusions, records))
}

/// The API's list endpoints and the console's overview over one tenant of
/// `API_PROFILES` x `API_PER_PROFILE` subscriptions (with every candidate
/// the default rule opens, and one reconciliation run kept).
const API_PROFILES: usize = 100;
const API_PER_PROFILE: usize = 10_000;
/// How long wrk drives each endpoint, and with how many connections.
const API_SECONDS: u32 = 10;
const API_CONNECTIONS: u32 = 4;
/// Sequential overview requests measured.
const OVERVIEW_RUNS: usize = 30;

/// Seeds the database, serves it on loopback from this process, and
/// drives each list endpoint with wrk (a second process) for
/// `API_SECONDS`; then times the console overview request by request.
async fn api_table() -> Result<String> {
    use seatwarden_app::{console_sessions, reconciliation, tokens};
    use seatwarden_domain::access::Scope;
    use seatwarden_domain::rules::ReclamationRule;
    use seatwarden_store::{Storage, Trigger};
    use seatwarden_tests::fixtures::now_ms;
    use secrecy::ExposeSecret;
    anyhow::ensure!(
        std::process::Command::new("wrk").arg("-v").output().is_ok(),
        "the API rows need wrk on PATH (as root: apt-get install wrk; `cargo xtask bench` installs it)"
    );
    let dir = repo_root()
        .join("target/bench-tmp")
        .join(format!("api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let now = now_ms();
    let seeding = Instant::now();
    let opened = {
        let storage = Storage::open(&dir.join("seatwarden.db")).await?;
        let (tenant, _, records) =
            seed_subscriptions(&storage, API_PROFILES, API_PER_PROFILE, now).await?;
        refresh_every_profile(&storage, tenant, &records, &ReclamationRule::default(), now).await?
    };
    eprintln!("bench: API database seeded in {:.1?}", seeding.elapsed());
    std::fs::write(
        dir.join("seatwarden.toml"),
        "database = \"seatwarden.db\"\n\n[tenants.bench]\n",
    )?;
    let config = seatwarden_config::Config::load(&dir.join("seatwarden.toml"))?;
    let app = Arc::new(seatwarden_app::App::open(config, None).await?);
    let (_, tenant) = app.tenant(Some("bench")).await?;
    reconciliation::run(&app, tenant, Trigger::Manual).await?;
    let token = tokens::issue(&app, Some(tenant), "bench", Scope::Read, "bench").await?;
    let token = token.token.expose_secret().to_string();
    let sign_in =
        console_sessions::issue_sign_in(&app, tenant, "bench", Scope::Read, 600_000, "bench")
            .await?;
    let session = console_sessions::sign_in(&app, &sign_in)
        .await?
        .context("the bench's console sign-in was refused")?;
    let cookie = format!("__Host-seatwarden={}", session.cookie.expose_secret());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(seatwarden_server::serve_with(
        listener,
        app.clone(),
        seatwarden_server::Options::default(),
        stop.clone(),
    ));
    let authorization = format!("Bearer {token}");
    let second_page = {
        let first = seatwarden_tests::api_client::call(
            port,
            "GET",
            "/api/v1/subscriptions?limit=100",
            Some(&token),
            None,
        )
        .await
        .json();
        let cursor = first["next_cursor"]
            .as_str()
            .context("the first page of subscriptions has no next page")?
            .to_string();
        format!("/api/v1/subscriptions?limit=100&cursor={cursor}")
    };
    let targets = [
        (
            "subscriptions, first page",
            "/api/v1/subscriptions?limit=100".to_string(),
        ),
        ("subscriptions, next page (cursor)", second_page),
        (
            "subscriptions, one profile, inactive 60 days",
            format!(
                "/api/v1/subscriptions?limit=100&profile=p42&inactive_since={}",
                jiff::Timestamp::from_millisecond(now - 60 * 86_400_000)?
            ),
        ),
        (
            "candidates, first page",
            "/api/v1/candidates?limit=100".to_string(),
        ),
        (
            "candidates, one profile",
            "/api/v1/candidates?limit=100&profile=p42".to_string(),
        ),
    ];
    let mut out = format!(
        "\n### API: {} subscriptions across {API_PROFILES} profiles, {opened} open candidates (wrk from a second process, {API_SECONDS} s per row, {API_CONNECTIONS} connections, pages of 100)\n\n\
         | request | p50 | p99 | requests/s |\n|---|---:|---:|---:|\n",
        API_PROFILES * API_PER_PROFILE
    );
    for (what, target) in &targets {
        let (p50, p99, rate) = wrk(port, target, &authorization)?;
        out.push_str(&format!(
            "| {what} (`{}`) | {p50} | {p99} | {rate:.0} |\n",
            target.split('?').next().unwrap_or(target)
        ));
    }
    let mut samples = Vec::new();
    for _ in 0..OVERVIEW_RUNS {
        let t = Instant::now();
        let answer = seatwarden_tests::api_client::send(
            port,
            "GET",
            "/console",
            &[("cookie", &cookie)],
            None,
        )
        .await;
        samples.push(t.elapsed());
        anyhow::ensure!(
            answer.status == 200,
            "the console overview answered {}",
            answer.status
        );
    }
    let overview = stats("console overview", "", samples);
    out.push_str(&format!(
        "| console overview (`/console`), one request at a time, {OVERVIEW_RUNS} runs | {} | {} | |\n\n\
         Targets: list endpoints p99 under 50 ms per page of 100, overview under 200 ms. wrk and the server share the machine's 2 cores; the overview is timed by the client (a new connection per request), so it is an upper bound on the server's time.\n",
        fmt(overview.median),
        fmt(overview.p99)
    ));
    stop.cancel();
    drop(app);
    if std::env::var_os("SEATWARDEN_BENCH_KEEP").is_some() {
        eprintln!("bench: kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(out)
}

/// Drives `target` with wrk for `API_SECONDS`; answers its 50th and 99th
/// latency percentiles as wrk prints them and its requests per second.
fn wrk(port: u16, target: &str, authorization: &str) -> Result<(String, String, f64)> {
    let output = std::process::Command::new("wrk")
        .args([
            "-t1".to_string(),
            format!("-c{API_CONNECTIONS}"),
            format!("-d{API_SECONDS}s"),
            "--latency".to_string(),
            "-H".to_string(),
            format!("Authorization: {authorization}"),
            format!("http://127.0.0.1:{port}{target}"),
        ])
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    anyhow::ensure!(output.status.success(), "wrk failed: {text}");
    anyhow::ensure!(
        !text.contains("Non-2xx"),
        "{target} answered errors under load: {text}"
    );
    let percentile = |label: &str| -> Result<String> {
        text.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(label))
            .map(|rest| rest.trim().to_string())
            .with_context(|| format!("wrk printed no {label} latency: {text}"))
    };
    let rate: f64 = text
        .lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .context("wrk printed no Requests/sec")?
        .trim()
        .parse()?;
    Ok((percentile("50%")?, percentile("99%")?, rate))
}

/// Refreshes the candidates of every profile in `records` under `rule`, as
/// the scheduler does after a sync; answers how many were opened.
async fn refresh_every_profile(
    storage: &seatwarden_store::Storage,
    tenant: seatwarden_store::TenantId,
    records: &[(seatwarden_store::ProfileId, String)],
    rule: &seatwarden_domain::rules::ReclamationRule,
    now: i64,
) -> Result<usize> {
    refresh_every_profile_with(storage, tenant, records, rule, now, None).await
}

/// As `refresh_every_profile`, with an identity provider's sign-ins laid
/// over every profile's accounts.
async fn refresh_every_profile_with(
    storage: &seatwarden_store::Storage,
    tenant: seatwarden_store::TenantId,
    records: &[(seatwarden_store::ProfileId, String)],
    rule: &seatwarden_domain::rules::ReclamationRule,
    now: i64,
    overlay: Option<&seatwarden_domain::activity_overlay::ActivityOverlay>,
) -> Result<usize> {
    let mut opened = 0;
    for (id, name) in records {
        let scope = seatwarden_store::RefreshScope {
            tenant,
            profile: *id,
            profile_name: name,
            connector: "smartrecruiters",
            credential_account: None,
            actor: "bench",
            now,
            activity_overlay: overlay,
        };
        let stored = storage.exclusions(tenant).await?;
        opened += storage
            .refresh_candidates(scope, rule, &stored)
            .await?
            .opened;
    }
    Ok(opened)
}
