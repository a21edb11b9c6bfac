//! JSON decoding of vendor responses with errors an operator can act on.
//!
//! A vendor that answers garbage must produce `invalid-response` with what
//! was expected, where serde stopped, and a short excerpt of the body, never
//! a panic.

use crate::ConnectorError;
use crate::http::{Response, excerpt};
use serde::de::DeserializeOwned;

/// Decodes `response.body` as `T`; `what` names the expected document.
pub fn decode<T: DeserializeOwned>(response: &Response, what: &str) -> Result<T, ConnectorError> {
    serde_json::from_slice(&response.body).map_err(|err| {
        ConnectorError::InvalidResponse(format!(
            "expected {what} (HTTP {}), but {err}; body starts: {}",
            response.status,
            excerpt(&response.body)
        ))
    })
}

/// Serializes a request body.
pub fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("serializing plain data to JSON cannot fail")
}
