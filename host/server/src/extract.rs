//! Request extractors that answer bad input with a problem document.
//!
//! axum's own `Json`, `Query` and `Path` reject with plain text; these
//! wrap them so a malformed body, an unknown field, a wrong type or an
//! oversized body becomes a 400 (or 413) problem naming the field, and a
//! handler never starts on input it did not expect. Request bodies deny
//! unknown fields (each body type says so), so a misspelt option is an
//! error instead of silently ignored.

use crate::problem::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON body, or a problem naming what is wrong with it.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(|value| {
                let essence = value.split(';').next().unwrap_or("").trim();
                essence.to_ascii_lowercase()
            })
            .is_some_and(|essence| {
                essence
                    .strip_prefix("application/")
                    .is_some_and(|subtype| subtype == "json" || subtype.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                "send the body as JSON, with `Content-Type: application/json`".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|err| json_problem(JsonRejection::BytesRejection(err)))?;
        // JSON spells a NUL character only as this escape (a raw NUL byte
        // is not JSON); no stored text may hold one (PostgreSQL refuses it).
        if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
            return Err(nul_problem("the JSON body"));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_problem(rejection)),
        }
    }
}

/// A NUL character in `place`: refused before any handler sees it.
fn nul_problem(place: &str) -> ApiError {
    ApiError::BadRequest {
        detail: format!(
            "{place} holds a NUL character (%00 or \\u0000), which no name or text may contain"
        ),
        field: None,
    }
}

/// Whether `raw` (a path or query as sent) spells a NUL character: URLs
/// can only percent-encode it.
fn spells_nul(raw: &str) -> bool {
    raw.as_bytes()
        .windows(3)
        .any(|w| w.eq_ignore_ascii_case(b"%00"))
}

fn json_problem(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(err) => {
            let detail = without_string_values(&source_text(&err));
            ApiError::BadRequest {
                field: field_of(&detail),
                detail: format!("the JSON body does not fit: {detail}"),
            }
        }
        JsonRejection::JsonSyntaxError(err) => ApiError::BadRequest {
            detail: format!("the body is not valid JSON: {}", source_text(&err)),
            field: None,
        },
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
            "send the body as JSON, with `Content-Type: application/json`".into(),
        ),
        JsonRejection::BytesRejection(err) => {
            if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(format!(
                    "the body is larger than the {} KiB this endpoint accepts",
                    crate::MAX_JSON_BODY / 1024
                ))
            } else {
                ApiError::BadRequest {
                    detail: "the body could not be read".into(),
                    field: None,
                }
            }
        }
        other => ApiError::BadRequest {
            detail: other.body_text(),
            field: None,
        },
    }
}

/// serde's sentence with the strings it quotes from the body left out
/// (`invalid type: string "tok_…", expected …`): a secret sent in the
/// wrong place must not come back in the answer.
fn without_string_values(detail: &str) -> String {
    let mut out = String::with_capacity(detail.len());
    let mut rest = detail;
    while let Some(at) = rest.find("string \"") {
        out.push_str(&rest[..at + "string".len()]);
        let quoted = &rest[at + "string \"".len()..];
        let mut end = None;
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        match end {
            Some(i) => rest = &quoted[i + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The innermost error's text (serde's own sentence, with its path).
fn source_text(err: &dyn std::error::Error) -> String {
    let mut innermost = err;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

/// The field a serde error's path names (`decision: unknown variant ...`
/// names `decision`), if it starts with one.
fn field_of(detail: &str) -> Option<String> {
    if let Some(rest) = detail.strip_prefix("unknown field `") {
        return rest.split('`').next().map(str::to_string);
    }
    if let Some(rest) = detail.strip_prefix("missing field `") {
        return rest.split('`').next().map(str::to_string);
    }
    let (path, _) = detail.split_once(": ")?;
    let plain = path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'));
    (plain && !path.is_empty()).then(|| path.to_string())
}

/// Query parameters, or a problem naming the one at fault.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if parts.uri.query().is_some_and(spells_nul) {
            return Err(nul_problem("the query string"));
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(err)) => {
                let detail = source_text(&err);
                Err(ApiError::BadRequest {
                    field: field_of(&detail),
                    detail: format!("the query string does not fit: {detail}"),
                })
            }
            Err(other) => Err(ApiError::BadRequest {
                detail: other.body_text(),
                field: None,
            }),
        }
    }
}

/// Path parameters, or a problem naming the one at fault.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if spells_nul(parts.uri.path()) {
            return Err(nul_problem("the path"));
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(err)) => Err(ApiError::BadRequest {
                detail: format!("the path does not fit: {}", err.body_text()),
                field: None,
            }),
            Err(other) => Err(ApiError::BadRequest {
                detail: other.body_text(),
                field: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::without_string_values;

    #[test]
    fn serde_sentences_lose_the_strings_they_quote_from_the_body() {
        assert_eq!(
            without_string_values(
                r#"credential: invalid type: string "tok_\"secret", expected internally tagged enum at line 1 column 30"#
            ),
            "credential: invalid type: string, expected internally tagged enum at line 1 column 30"
        );
        assert_eq!(
            without_string_values("unknown field `colour`, expected one of `name`"),
            "unknown field `colour`, expected one of `name`"
        );
        assert_eq!(without_string_values(r#"string "unterminated"#), "string");
    }
}
