//! Scoped outbound HTTP for connectors: policy, hook and transport.
//!
//! Split three ways so each part can be tested on its own: [`policy`] is pure
//! decisions (unit-tested without a guest), [`hooks`] applies them to
//! `wasi:http` requests and injects credentials, [`transport`] resolves,
//! re-checks and connects, [`keep_alive`] holds a connection's idle
//! HTTP/1.1 connections for its next requests, [`host_fetch`] sends the
//! host's own requests (single sign-on) through the same checks, and [`tap`] lets the
//! conformance kit record requests and inject vendor faults.

pub mod hooks;
pub mod host_fetch;
pub mod keep_alive;
pub mod policy;
pub mod tap;
pub mod transport;

pub use hooks::{DenialLog, EgressCall, EgressHooks, HostCredential};
pub use keep_alive::KeepAlive;
pub use policy::{AllowedOrigin, Denial, EgressPolicy, MethodPolicy, PrivateTargets};
pub use tap::Tap;
pub use transport::Transport;
