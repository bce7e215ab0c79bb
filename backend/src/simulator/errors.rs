//! fal's error responses: `{"error":{"type","message"}}` with the status/type pairs REFERENCE.md §1.3 lists.

use super::wire::{ErrorBody, ErrorObject, ErrorType};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// A fal error.
#[derive(Debug, Clone, PartialEq)]
pub enum FalError {
    /// 400 `validation_error`, with what was wrong.
    Validation(String),
    /// 401 `authorization_error`.
    Unauthorized,
    /// 403 `authorization_error`.
    Forbidden,
    /// 404 `not_found`.
    NotFound,
    /// 429 `rate_limited`, with `x-ratelimit-reset` seconds.
    RateLimited(u64),
    /// 413: an upload (or its source) over the size limit.
    TooLarge(String),
}

impl FalError {
    /// A validation error.
    pub fn invalid(detail: impl std::fmt::Display) -> Self {
        Self::Validation(detail.to_string())
    }
}

/// An error response with an arbitrary status and fal's body for it.
pub fn with_status(status: StatusCode) -> Response {
    let (kind, message) = match status.as_u16() {
        400 => (ErrorType::ValidationError, "Invalid request parameters"),
        401 => (ErrorType::AuthorizationError, "Authentication required"),
        403 => (ErrorType::AuthorizationError, "Access denied"),
        404 => (ErrorType::NotFound, "Resource not found"),
        429 => (ErrorType::RateLimited, "Rate limit exceeded"),
        501 => (ErrorType::NotImplemented, "Not implemented"),
        _ => (ErrorType::ServerError, "An unexpected error occurred"),
    };
    body(status, kind, message.to_owned())
}

fn body(status: StatusCode, error_type: ErrorType, message: String) -> Response {
    let body = ErrorBody {
        error: ErrorObject {
            error_type,
            message,
            docs_url: Some("https://fal.ai/docs/platform-apis".into()),
            request_id: None,
        },
    };
    (status, Json(body)).into_response()
}

impl IntoResponse for FalError {
    fn into_response(self) -> Response {
        match self {
            Self::Validation(detail) => body(
                StatusCode::BAD_REQUEST,
                ErrorType::ValidationError,
                format!("Invalid request parameters: {detail}"),
            ),
            Self::Unauthorized => with_status(StatusCode::UNAUTHORIZED),
            Self::Forbidden => with_status(StatusCode::FORBIDDEN),
            Self::NotFound => with_status(StatusCode::NOT_FOUND),
            Self::RateLimited(reset) => {
                let mut resp = with_status(StatusCode::TOO_MANY_REQUESTS);
                resp.headers_mut()
                    .insert("x-ratelimit-reset", axum::http::HeaderValue::from(reset));
                resp
            }
            // [I] fal documents no 413; its error body with the closest type.
            Self::TooLarge(detail) => body(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorType::ValidationError,
                format!("File too large: {detail}"),
            ),
        }
    }
}

/// Fallback for unknown paths.
pub async fn not_found() -> FalError {
    FalError::NotFound
}
