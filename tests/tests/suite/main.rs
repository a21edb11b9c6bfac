//! The integration suite as one test binary: each module is one area of the
//! host, tested through its public surface against real fakes and peers.
//! One binary instead of one per file: every test binary links wasmtime
//! (~200 MB each with line tables), so twenty-one of them cost minutes of
//! linking and gigabytes of disk on a 2-core CI machine. nextest still runs
//! every test in its own process.

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
mod hardening;
mod leases;
mod loading;
mod models;
mod notify;
mod oauth;
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
mod tls;
mod undo;
