//! The directory connector as a third party built it against contract
//! 0.2.1: with the optional `about` interface of that version, before 0.2.2
//! added the optional `vendor` interface.
//!
//! Its `wit/connector.wit` is a frozen copy of the 0.2.1 contract, so this
//! component exports `seatwarden:connector/connector-api@0.2.1` and
//! `about@0.2.1`, and nothing of 0.2.2. The tests load it in the current host and sync through it: a
//! compatible (patch) change to the contract must never strand a connector
//! already shipped. The HTTP client is the SDK's own source, compiled
//! against these older bindings.

mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "seatwarden:connector/connector-with-about",
        generate_all,
    });
}

#[path = "../../../../components/sdk/src/http.rs"]
#[allow(dead_code)]
mod http;

#[path = "../../contract-0-2-0/src/directory.rs"]
mod directory;

use bindings::seatwarden::connector::types::ConnectorError;
use directory::Directory;

const NAME: &str = "directory-0-2-1";
const VERSION: &str = "0.2.1";
const SUMMARY: &str = "Test fixture: a connector built against contract 0.2.1";

impl bindings::exports::seatwarden::connector::about::Guest for Directory {
    fn links() -> Vec<(String, String)> {
        vec![(
            "Fixture home".into(),
            "https://directory.example/seatwarden".into(),
        )]
    }
}

bindings::export!(Directory with_types_in bindings);
