//! Where the guest fixtures are, and a runtime set up for tests.
//!
//! The fixtures are built for wasm32-wasip2 by `cargo xtask test` (or
//! `cargo xtask build-guests`) into `target/wasm`; tests read them from there.

use seatwarden_sandbox::Connection;
use seatwarden_sandbox::Connector;
use seatwarden_sandbox::Credential;
use seatwarden_sandbox::Limits;
use seatwarden_sandbox::Runtime;
use seatwarden_sandbox::RuntimeConfig;
use seatwarden_sandbox::egress::PrivateTargets;
use std::path::PathBuf;

/// A database path under `target/test-tmp` with no database (or WAL files)
/// left from an earlier run.
pub fn fresh_database(name: &str) -> PathBuf {
    let dir = repo_root().join("target/test-tmp");
    std::fs::create_dir_all(&dir).expect("creating target/test-tmp");
    let path = dir.join(format!("{name}-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

/// A new, empty database named after `name` on `engine`: a file under
/// `target/test-tmp`, or a database of its own on the shared PostgreSQL
/// server.
pub async fn fresh_store(
    name: &str,
    engine: seatwarden_store::Engine,
) -> seatwarden_store::Database {
    match engine {
        seatwarden_store::Engine::Sqlite => seatwarden_store::Database::File(fresh_database(name)),
        seatwarden_store::Engine::Postgres => seatwarden_store::Database::Postgres(
            seatwarden_domain::database::PostgresUrl::parse(&crate::postgres::new_database())
                .expect("the test server's URL"),
        ),
    }
}

/// Tenant `acme` and its profile `sr` of `connector` (at `digest`) in a
/// fresh store, for tests that drive storage directly.
pub async fn acme_profile(
    storage: &seatwarden_store::Storage,
    connector: &str,
    digest: &str,
) -> (seatwarden_store::TenantId, seatwarden_store::ProfileId) {
    let tenant = storage.ensure_tenant("acme", 0).await.unwrap();
    let profile = storage
        .ensure_profile(
            tenant,
            "sr",
            &seatwarden_store::ProfileConnector {
                name: connector,
                version: "0.1.0",
                digest,
                base_url: "x",
            },
            0,
        )
        .await
        .unwrap();
    (tenant, profile)
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

/// The built component of a guest crate, e.g. `fixture_hostile`.
pub fn guest(name: &str) -> PathBuf {
    let path = repo_root()
        .join("target/wasm/wasm32-wasip2/release")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: build the guests first with `cargo xtask build-guests` (or run `cargo xtask test`)",
        path.display()
    );
    path
}

/// The `seatwarden` binary of this build (the workspace build makes it
/// beside the test binaries' `deps` directory), for tests that need a real
/// process: one to kill, or one whose printed output is the point.
pub fn seatwarden_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/<profile>/deps");
    let path = dir.join("seatwarden");
    assert!(
        path.exists(),
        "{} is missing: build the workspace (`cargo xtask test` does)",
        path.display()
    );
    path
}

/// The built binary as a child process on the configuration at `config`,
/// with the tests' shared compile cache: arguments, environment and how
/// its output is taken are the caller's.
pub fn seatwarden_command(config: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(seatwarden_binary());
    command
        .arg("--config")
        .arg(config)
        .arg("--cache-dir")
        .arg(repo_root().join("target/test-compile-cache"));
    command
}

/// A runtime with the given limits and a compile cache under `target/`.
pub fn runtime(limits: Limits) -> Runtime {
    Runtime::new(RuntimeConfig {
        limits,
        cache_dir: Some(repo_root().join("target/test-compile-cache")),
        ..RuntimeConfig::default()
    })
    .expect("runtime starts")
}

/// Loads a fixture by crate name.
pub async fn load(runtime: &Runtime, name: &str) -> Connector {
    runtime
        .load_file(&guest(name))
        .await
        .expect("fixture loads")
}

/// A loopback connection to `base_url` with an API key.
pub fn loopback_connection(connector: &Connector, base_url: &str, key: &str) -> Connection {
    Connection::builder()
        .base_url(base_url)
        .private_targets(PrivateTargets::AllowLoopback)
        .credential(Credential::secret(key))
        .build(connector.descriptor())
        .expect("valid connection")
}

/// Every account, following `next-cursor` to the end; also the page count.
pub async fn all_accounts(
    connector: &Connector,
    conn: &Connection,
) -> (Vec<seatwarden_domain::account::Account>, usize) {
    let (mut cursor, mut accounts, mut pages) = (None::<String>, Vec::new(), 0);
    loop {
        let page = connector
            .list_users(conn, cursor.as_deref())
            .await
            .expect("list-users page");
        pages += 1;
        accounts.extend(page.accounts);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return (accounts, pages),
        }
    }
}

/// Every activity event at or after `since`, to the end; also the page count.
pub async fn all_activity(
    connector: &Connector,
    conn: &Connection,
    since: i64,
) -> (Vec<seatwarden_domain::account::Activity>, usize) {
    let (mut cursor, mut events, mut pages) = (None::<String>, Vec::new(), 0);
    loop {
        let page = connector
            .get_activity(conn, since, cursor.as_deref())
            .await
            .expect("get-activity page");
        pages += 1;
        events.extend(page.events);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return (events, pages),
        }
    }
}

/// Milliseconds since the epoch by the wall clock, for tests that date
/// their data relative to now. (The services read the app's clock; a test
/// on a manual clock starts it from this.)
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The vendor's error a connector call failed with; panics on any other
/// failure (a trap, a host refusal), naming it.
pub fn vendor_error(err: seatwarden_sandbox::CallError) -> seatwarden_sandbox::ConnectorError {
    match err.kind {
        seatwarden_sandbox::CallErrorKind::Vendor(e) => e,
        other => panic!("expected a vendor error, got {other:?}"),
    }
}
