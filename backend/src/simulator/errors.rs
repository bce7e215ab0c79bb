//! fal's error responses: `{"error":{"type","message"}}` with the status/type pairs REFERENCE.md §1.3 lists.

use crate::upstream::models::{ErrorBody, ErrorDetail};
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
        400 => ("validation_error", "Invalid request parameters"),
        401 | 403 => ("authorization_error", "Access denied"),
        404 => ("not_found", "Resource not found"),
        429 => ("rate_limited", "Rate limit exceeded"),
        501 => ("not_implemented", "Not implemented"),
        _ => ("server_error", "An unexpected error occurred"),
    };
    body(status, kind, message.to_owned())
}

fn body(status: StatusCode, kind: &str, message: String) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            kind: kind.to_owned(),
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
                "validation_error",
                format!("Invalid request parameters: {detail}"),
            ),
            Self::Unauthorized => body(
                StatusCode::UNAUTHORIZED,
                "authorization_error",
                "Authentication required".into(),
            ),
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
                "validation_error",
                format!("File too large: {detail}"),
            ),
        }
    }
}

/// Fallback for unknown paths.
pub async fn not_found() -> FalError {
    FalError::NotFound
}
