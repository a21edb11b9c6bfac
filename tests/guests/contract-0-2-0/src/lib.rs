//! The directory connector as a third party built it against contract
//! 0.2.0, before 0.2.1 added the optional `about` interface.
//!
//! Its `wit/connector.wit` is a frozen copy of the 0.2.0 contract, so this
//! component exports `seatwarden:connector/connector-api@0.2.0` and nothing
//! of 0.2.1. The tests load it in the current host and sync through it: a
//! compatible (patch) change to the contract must never strand a connector
//! already shipped. The HTTP client is the SDK's own source, compiled
//! against these older bindings.

mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "seatwarden:connector/connector",
        generate_all,
    });
}

#[path = "../../../../components/sdk/src/http.rs"]
#[allow(dead_code)]
mod http;

#[path = "directory.rs"]
mod directory;

use bindings::seatwarden::connector::types::ConnectorError;
use directory::Directory;

const NAME: &str = "directory-0-2-0";
const VERSION: &str = "0.2.0";
const SUMMARY: &str = "Test fixture: a connector built against contract 0.2.0";

bindings::export!(Directory with_types_in bindings);
