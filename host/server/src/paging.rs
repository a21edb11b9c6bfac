//! Cursor pagination: page sizes and opaque cursors.
//!
//! A list endpoint returns `items` and a `next_cursor`; passing that back
//! as `cursor` gives the next page, and a null `next_cursor` means the
//! last page. A cursor is the last row's key in base64url JSON: opaque to
//! clients, but nothing secret (every query is scoped to the caller's
//! tenant whatever the cursor says), so a tampered cursor can only skip
//! rows of the caller's own tenant. One that does not decode is a 400.

use crate::problem::ApiError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Items per page when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 100;
/// The largest `limit` accepted.
pub const MAX_LIMIT: u32 = 500;
/// The longest cursor accepted, in bytes.
const MAX_CURSOR: usize = 2048;

/// The page size a request asked for, checked.
pub fn limit(asked: Option<u32>) -> Result<u32, ApiError> {
    match asked {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::field(
            "limit",
            format!("limit {n} is out of range: ask for 1 to {MAX_LIMIT} items per page"),
        )),
    }
}

/// Encodes a key as a cursor.
pub fn encode<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

/// Decodes a cursor a client sent back.
pub fn decode<K: DeserializeOwned>(cursor: Option<&str>) -> Result<Option<K>, ApiError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let bad = || {
        ApiError::field(
            "cursor",
            "the cursor is not one this endpoint gave out; start again without it",
        )
    };
    if cursor.len() > MAX_CURSOR {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map(Some).map_err(|_| bad())
}

/// Splits one row more than a page off `rows` (the query asks for
/// `limit + 1`): the page, and the cursor after its last row when there
/// are more.
pub fn split<T, K: Serialize>(
    mut rows: Vec<T>,
    limit: u32,
    key: impl Fn(&T) -> K,
) -> (Vec<T>, Option<String>) {
    let limit = limit as usize;
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(|row| encode(&key(row)));
        (rows, next)
    } else {
        (rows, None)
    }
}
