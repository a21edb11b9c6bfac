//! The integration suite as one test binary: each module is one area of the
//! host, tested through its public surface against real fakes and peers.
//! One binary instead of one per file: every test binary links wasmtime
//! (~200 MB each with line tables), so twenty-one of them cost minutes of
//! linking and gigabytes of disk on a 2-core CI machine. nextest still runs
//! every test in its own process.

/// A test run once on SQLite and once on PostgreSQL: `async fn
/// name(engine: Engine) { ... }` becomes the module `name` with the tests
/// `sqlite` and `postgres`, so one suite proves both engines.
macro_rules! on_both_engines {
    ($(#[$meta:meta])* async fn $name:ident($engine:ident: Engine) $body:block) => {
        $(#[$meta])*
        mod $name {
            use super::*;
            async fn run($engine: seatwarden_store::Engine) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(seatwarden_store::Engine::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(seatwarden_store::Engine::Postgres).await
            }
        }
    };
}

mod api;
mod api_connections;
mod audit;
mod candidates;
mod cli_profile;
mod config;
mod conformance;
mod connector_calls;
mod console;
mod credential_owner;
mod database_tls;
mod entra;
mod fleet;
mod hardening;
mod idp_activity;
mod leases;
mod loading;
mod models;
mod notify;
mod oauth;
mod okta;
mod profiles;
mod reclaim;
mod reconciliation;
mod sandbox;
mod scheduler;
mod scim;
mod secrets;
mod serving;
mod sign_on;
mod smartrecruiters;
mod smartsheet;
mod storage;
mod tenant_isolation;
mod tls;
mod undo;
