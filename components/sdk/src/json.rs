//! JSON decoding of vendor responses with errors an operator can act on.
//!
//! A vendor that answers garbage must produce `invalid-response` with what
//! was expected, the field where decoding stopped (`content[3].email`), the
//! line and column, and a short excerpt of the body, never a panic.

use crate::ConnectorError;
use crate::http::{Response, excerpt};
use serde::de::DeserializeOwned;

/// Decodes `response.body` as `T`; `what` names the expected document.
pub fn decode<T: DeserializeOwned>(response: &Response, what: &str) -> Result<T, ConnectorError> {
    let fail = |path: Option<String>, err: serde_json::Error| {
        let at = path
            .filter(|path| path != ".")
            .map(|path| format!(" at {path}"))
            .unwrap_or_default();
        ConnectorError::InvalidResponse(format!(
            "expected {what} (HTTP {}), but{at}: {err}; body starts: {}",
            response.status,
            excerpt(&response.body)
        ))
    };
    let mut deserializer = serde_json::Deserializer::from_slice(&response.body);
    let value = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|err| fail(Some(err.path().to_string()), err.into_inner()))?;
    deserializer.end().map_err(|err| fail(None, err))?;
    Ok(value)
}

/// Serializes a request body.
pub fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("serializing plain data to JSON cannot fail")
}
