//! Scoped outbound HTTP for connectors: policy, hook and transport.
//!
//! Split three ways so each part can be tested on its own: [`policy`] is pure
//! decisions (unit-tested without a guest), [`hooks`] applies them to
//! `wasi:http` requests and injects credentials, [`transport`] resolves,
//! re-checks and connects, and [`keep_alive`] holds a connection's idle
//! HTTP/1.1 connections for its next requests.

pub mod hooks;
pub mod keep_alive;
pub mod policy;
pub mod transport;

pub use hooks::{DenialLog, EgressCall, EgressHooks, HostCredential};
pub use keep_alive::KeepAlive;
pub use policy::{AllowedOrigin, Denial, EgressPolicy, MethodPolicy, PrivateTargets};
pub use transport::Transport;
