//! Seatwarden: a SaaS license manager that runs one sandboxed WebAssembly
//! connector per vendor.
//!
//! The library is the host: [`runtime`] loads connector components and calls
//! them under the limits in [`limits`], with outbound HTTP scoped by
//! [`egress`] and credentials injected from [`credentials`]. The binary in
//! `main.rs` is a thin command line over it ([`cli`]).

pub mod answers;
// The domain crate's modules, under the paths the host has used so far.
pub use seatwarden_domain::{candidate_state, entitlements, rules};
pub use seatwarden_domain::{cron as schedule, software_models as models};
pub use seatwarden_store as storage;
pub mod app;
pub mod bindings;
pub mod cache;
pub mod cli;
pub mod config;
pub mod conformance;
pub mod connection;
mod cpu_meter;
pub mod credentials;
pub mod descriptor;
pub mod egress;
pub mod engine;
pub mod error;
pub mod guest_output;
pub mod lease;
pub mod limits;
pub mod manual;
pub mod notify;
pub mod oauth;
pub mod plausible;
pub mod profiles;
pub mod ratelimit;
pub mod reclamation;
pub mod reconciliation;
pub mod redact;
pub mod reports;
pub mod runtime;
mod sandbox;
pub mod scheduler;
pub mod serving;
pub mod sync;
pub mod trust;

pub use bindings::types::ConnectorError;
pub use connection::Connection;
pub use credentials::{AuthScheme, Credential};
pub use error::{CallError, CallErrorKind, LoadError};
pub use limits::Limits;
pub use runtime::{Connector, Runtime, RuntimeConfig};
pub use seatwarden_domain::account::{Account, AccountPage, Activity, ActivityPage};
