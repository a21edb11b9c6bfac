//! Errors as RFC 9457 problem documents (`application/problem+json`).
//!
//! Every failure the API answers with goes through [`ApiError`], so a
//! client always gets the same shape: a `type` URI naming the kind of
//! problem, a `title`, the HTTP `status`, a `detail` sentence that says
//! what is wrong and what to do, and for bad input the offending `field`.
//! The services' typed errors choose the status (the store's `NotFound`,
//! `Conflict` and `Busy`, the profile lifecycle's refusals); anything else
//! is a 500 whose detail says nothing of the server's internals, which go
//! to the log. A vendor's refusal through the connector is a 502.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use seatwarden_app::connections::Refusal as ConnectionRefusal;
use seatwarden_app::profiles::Refusal;
use seatwarden_app::reclamation::UndoError;
use seatwarden_app::sealing::OpenError;
use seatwarden_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of a problem document.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem document (RFC 9457).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem, e.g. `urn:seatwarden:problem:not-found`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What is wrong in this case, and what to do about it.
    pub detail: String,
    /// The request field (body property, query or path parameter) at fault, if one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Why a request failed.
#[derive(Debug)]
pub enum ApiError {
    /// The request is malformed: a body, query or path that does not parse or validate.
    BadRequest {
        /// What is wrong.
        detail: String,
        /// Which field, if known.
        field: Option<String>,
    },
    /// No valid token was presented.
    Unauthorized,
    /// The token is valid but may not do this.
    Forbidden(String),
    /// Nothing of that name or id in the caller's tenant (another tenant's
    /// object is reported the same way).
    NotFound(String),
    /// The change contradicts the current state.
    Conflict(String),
    /// The body is larger than the server accepts.
    TooLarge(String),
    /// The body is not JSON (by its `Content-Type`).
    UnsupportedMediaType(String),
    /// Too many failed authentications from this address; retry after so many seconds.
    TooManyRequests(u64),
    /// The vendor refused or failed what was asked of it through the connector.
    BadGateway(String),
    /// The database is busy; the same request may succeed shortly.
    Unavailable(String),
    /// Anything else; logged, never shown.
    Internal(anyhow::Error),
}

impl ApiError {
    /// A malformed request naming the field at fault.
    pub fn field(field: &str, detail: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            detail: detail.into(),
            field: Some(field.to_string()),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "bad-request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooLarge(_) => "too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::TooManyRequests(_) => "too-many-requests",
            ApiError::BadGateway(_) => "vendor-failed",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The problem document this error answers with.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (detail, field) = match self {
            ApiError::BadRequest { detail, field } => (detail.clone(), field.clone()),
            ApiError::Unauthorized => (
                "send a valid API token as `Authorization: Bearer swt_...`; `seatwarden token create` makes one".to_string(),
                None,
            ),
            ApiError::Forbidden(detail)
            | ApiError::NotFound(detail)
            | ApiError::Conflict(detail)
            | ApiError::TooLarge(detail)
            | ApiError::UnsupportedMediaType(detail)
            | ApiError::BadGateway(detail)
            | ApiError::Unavailable(detail) => (detail.clone(), None),
            ApiError::TooManyRequests(seconds) => (
                format!(
                    "too many failed authentications from this address; try again in {seconds} s"
                ),
                None,
            ),
            ApiError::Internal(_) => (
                "the server failed to answer this request; its log has the details".to_string(),
                None,
            ),
        };
        Problem {
            kind: format!("urn:seatwarden:problem:{}", self.kind()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail,
            field,
        }
    }
}

impl From<anyhow::Error> for ApiError {
    /// Chooses the status from the first typed error in the chain.
    fn from(err: anyhow::Error) -> ApiError {
        for cause in err.chain() {
            if let Some(store) = cause.downcast_ref::<StoreError>() {
                match store {
                    StoreError::NotFound(text) => return ApiError::NotFound(text.clone()),
                    StoreError::Conflict(text) => return ApiError::Conflict(text.clone()),
                    StoreError::Busy(_) => {
                        return ApiError::Unavailable(
                            "the database is busy; retry the request".into(),
                        );
                    }
                    _ => {}
                }
            }
            if let Some(refusal) = cause.downcast_ref::<Refusal>() {
                return ApiError::Conflict(refusal.to_string());
            }
            match cause.downcast_ref::<ConnectionRefusal>() {
                Some(ConnectionRefusal::Field { field, problem }) => {
                    return ApiError::field(field, problem.clone());
                }
                Some(refusal) => return ApiError::Conflict(refusal.to_string()),
                None => {}
            }
            if let Some(open) = cause.downcast_ref::<OpenError>() {
                return ApiError::Conflict(open.to_string());
            }
            match cause.downcast_ref::<UndoError>() {
                Some(UndoError::NotUndoable(text)) => return ApiError::Conflict(text.clone()),
                Some(UndoError::VendorFailed(text)) => return ApiError::BadGateway(text.clone()),
                None => {}
            }
        }
        ApiError::Internal(err)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        ApiError::from(anyhow::Error::from(err))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(err) = &self {
            tracing::error!("API request failed: {err:#}");
        }
        let problem = self.problem();
        let mut response = (self.status(), axum::Json(&problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match self {
            ApiError::Unauthorized => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"seatwarden\""),
                );
            }
            ApiError::TooManyRequests(seconds) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            _ => {}
        }
        response
    }
}

/// What a handler returns.
pub type ApiResult<T> = Result<T, ApiError>;
