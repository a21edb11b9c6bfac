//! Logging into the host's log through the `log` interface of the contract.
//!
//! The host attributes each line to the connector, call and profile, and caps
//! the number and length of lines per call, so connectors can log freely.

use crate::bindings::seatwarden::connector::log::{Level, log};

/// Logs at debug level.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Logs at info level.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs at error level.
pub fn error(message: &str) {
    log(Level::Error, message);
}
