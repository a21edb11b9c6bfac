//! Host bindings for the `seatwarden:connector/connector` world.
//!
//! Generated from `wit/` at build time, so the contract third parties read
//! and the types the host uses cannot drift apart. The WASI packages map onto
//! wasmtime-wasi's and wasmtime-wasi-http's own bindings, so their resource
//! types are shared with the linker functions those crates add.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "seatwarden:connector/connector",
    exports: { default: async },
    additional_derives: [PartialEq],
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});

pub use exports::seatwarden::connector::connector_api;
pub use seatwarden::connector::log;
pub use seatwarden::connector::types;

/// The contract version this host speaks; connectors must export
/// `seatwarden:connector/connector-api@0.2.x` (before 1.0, a minor version
/// is a breaking one and a patch version a compatible one). 0.2.0 added
/// `validated` (the credentials' account); 0.2.1 the optional `about`.
pub const CONTRACT_VERSION: &str = "0.2.1";

/// The versions this host loads, as error messages name them.
pub const CONTRACT_COMPATIBLE: &str = "0.2.x";

/// The name of the interface every connector exports, without version.
pub const CONTRACT_INTERFACE: &str = "seatwarden:connector/connector-api";

/// The optional interface of 0.2.1 (links for operators), without version.
pub const ABOUT_INTERFACE: &str = "seatwarden:connector/about";
