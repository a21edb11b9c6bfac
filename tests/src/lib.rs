//! Test support for Seatwarden: loopback servers, vendor fakes, fixtures.
//!
//! Everything here is real networking on 127.0.0.1: the sandbox under test
//! sends real HTTP through its real transport, and the fakes record what
//! arrived so tests can assert on what the vendor saw, not on what the host
//! thinks it sent.

pub mod api_client;
pub mod directory_fake;
pub mod entra_fake;
pub mod fixtures;
pub mod identity_provider;
pub mod logs;
pub mod native_clients;
pub mod okta_fake;
pub mod postgres;
pub mod published;
pub mod scim_fake;
pub mod scim_server;
pub mod server;
pub mod smartrecruiters_fake;
pub mod smartsheet_fake;
pub mod smtp_sink;
pub mod tls;
pub mod workspace;
