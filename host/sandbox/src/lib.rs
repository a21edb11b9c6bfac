//! Seatwarden's sandbox: where untrusted connector components run.
//!
//! [`runtime`] loads components (compiled once, cached by digest in
//! [`cache`]) and calls them in a fresh instance per call under the limits
//! in [`limits`]; [`egress`] lets a call reach only its connection's
//! origins, injects the credentials from [`credentials`] (and [`oauth`]
//! tokens) on the way out and paces requests ([`ratelimit`]);
//! [`guest_output`] checks and bounds everything a guest returns before
//! the host keeps it, and [`redact`] keeps secrets out of it. The
//! generated contract types stay in [`contract`]: calls return the
//! domain's own types. The sandbox knows no tenant, database or rule.

pub mod cache;
mod call_state;
pub mod connection;
pub mod contract;
mod cpu_meter;
pub mod credentials;
pub mod declarations;
pub mod descriptor;
pub mod egress;
pub mod engine_config;
pub mod error;
pub mod guest_output;
pub mod limits;
pub mod oauth;
pub mod ratelimit;
pub mod redact;
pub mod runtime;
pub mod trust;

pub use connection::Connection;
pub use credentials::{AuthScheme, Credential};
pub use error::{CallError, CallErrorKind, ConnectorError, LoadError};
pub use limits::Limits;
pub use runtime::{Connector, Runtime, RuntimeConfig, Validated};
