//! Seatwarden: a SaaS license manager that runs one sandboxed WebAssembly
//! connector per vendor.
//!
//! The library is the host: [`runtime`] loads connector components and calls
//! them under the limits in [`limits`], with outbound HTTP scoped by
//! [`egress`] and credentials injected from [`credentials`]. The binary in
//! `main.rs` is a thin command line over it ([`cli`]).

pub mod answers;
// The domain crate's modules, under the paths the host has used so far.
pub use seatwarden_domain::{candidate_state, entitlements, plausible, rules};
pub use seatwarden_domain::{cron as schedule, software_models as models};
pub use seatwarden_store as storage;
// The sandbox crate's modules, likewise.
pub use seatwarden_sandbox::{
    bindings, cache, connection, credentials, descriptor, egress, engine, error, guest_output,
    limits, oauth, ratelimit, redact, runtime, trust,
};
pub mod app;
pub mod cli;
pub mod config;
pub mod conformance;
pub mod lease;
pub mod manual;
pub mod notify;

pub mod profiles;
pub mod reclamation;
pub mod reconciliation;
pub mod reports;
pub mod scheduler;
pub mod serving;
pub mod sync;

pub use seatwarden_domain::account::{Account, AccountPage, Activity, ActivityPage};
pub use seatwarden_sandbox::{
    AuthScheme, CallError, CallErrorKind, Connection, Connector, ConnectorError, Credential,
    Limits, LoadError, Runtime, RuntimeConfig,
};
