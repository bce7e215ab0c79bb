//! [`AppError`]: every way an `/api` call can fail, with one exhaustive mapping to an HTTP status
//! and a `shared::ApiError` body. 4xx messages say what to fix; 5xx messages are generic and the
//! detail is logged once, here, inside the request's span.

use crate::upstream::UpstreamError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::{ApiError, ErrorCode};

/// An `/api` failure.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A parameter is malformed or out of range.
    #[error("invalid parameter {param}: {message}")]
    InvalidParam {
        /// The parameter's name as the client sent it.
        param: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// Not signed in; the message says how to sign in.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// Signed in but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A state-changing call without the CSRF header.
    #[error("missing CSRF header")]
    CsrfRejected,
    /// Over the caller's rate or stream limit.
    #[error("rate limited: {message}")]
    RateLimited {
        /// Seconds until a retry can succeed.
        retry_after: u64,
        /// What was exceeded.
        message: String,
    },
    /// No such resource.
    #[error("not found: {0}")]
    NotFound(String),
    /// The resource cannot change this way; the message says where to change it.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request body is larger than allowed.
    #[error("payload too large: {0}")]
    TooLarge(String),
    /// fal failed or refused.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// `/readyz` to a caller who is not signed in: why is in the log.
    #[error("not ready")]
    NotReady,
    /// A bug; the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// falscope's database cannot be reached; the detail is logged, never sent.
    #[error("database unreachable: {0}")]
    StoreUnavailable(String),
}

/// A storage failure is falscope's own fault: logged, answered as a generic 500, or as a 503
/// when the database cannot be reached (a change can be tried again).
impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Unavailable(why) => Self::StoreUnavailable(why),
            crate::store::StoreError::Failed(why) => Self::Internal(why),
        }
    }
}

impl AppError {
    /// Shorthand for [`AppError::InvalidParam`].
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidParam {
            param: param.into(),
            message: message.into(),
        }
    }

    /// The JSON error body this error answers with.
    pub fn body(&self) -> ApiError {
        self.status_and_body().1
    }

    fn status_and_body(&self) -> (StatusCode, ApiError) {
        match self {
            Self::InvalidParam { param, message } => (
                StatusCode::BAD_REQUEST,
                ApiError::invalid_param(param.clone(), message.clone()),
            ),
            Self::Unauthenticated(message) => (
                StatusCode::UNAUTHORIZED,
                ApiError::new(ErrorCode::Unauthenticated, message.clone()),
            ),
            Self::Forbidden(message) => (
                StatusCode::FORBIDDEN,
                ApiError::new(ErrorCode::Forbidden, message.clone()),
            ),
            Self::CsrfRejected => (
                StatusCode::FORBIDDEN,
                ApiError::new(
                    ErrorCode::CsrfRejected,
                    format!("state-changing calls need the {} header (falscope's own pages send it); scripts can use an API token instead", shared::auth::CSRF_HEADER),
                ),
            ),
            Self::RateLimited { message, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                ApiError::new(ErrorCode::RateLimited, message.clone()),
            ),
            Self::NotFound(what) => (
                StatusCode::NOT_FOUND,
                ApiError::new(ErrorCode::NotFound, format!("{what} was not found")),
            ),
            Self::Conflict(message) => (
                StatusCode::CONFLICT,
                ApiError::new(ErrorCode::Conflict, message.clone()),
            ),
            Self::TooLarge(message) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ApiError::new(ErrorCode::PayloadTooLarge, message.clone()),
            ),
            Self::Upstream(err) => upstream_status_and_body(err),
            Self::NotReady => (
                StatusCode::SERVICE_UNAVAILABLE,
                ApiError::new(
                    ErrorCode::UpstreamUnavailable,
                    "not ready: a workspace's fal cannot be read; falscope's log says which and why",
                ),
            ),
            Self::StoreUnavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ApiError::new(
                    ErrorCode::StoreUnavailable,
                    "falscope's database cannot be reached, so this was not saved (nothing saved before is lost); try again in a moment",
                ),
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ApiError::new(
                    ErrorCode::Internal,
                    "falscope hit an internal error; see its logs",
                ),
            ),
        }
    }
}

/// fal is out (429, 5xx, timeout, open breaker) and the cache had nothing to fall back on.
fn unavailable() -> (StatusCode, ErrorCode, String) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::UpstreamUnavailable,
        "fal is failing or not answering right now, and falscope has no earlier copy of this view"
            .to_owned(),
    )
}

fn upstream_status_and_body(err: &UpstreamError) -> (StatusCode, ApiError) {
    use UpstreamError as U;
    let (status, code, message) = match err {
        U::AdminKeyMissing { setting } => (
            StatusCode::CONFLICT,
            ErrorCode::AdminKeyMissing,
            format!("this view needs an ADMIN-scoped fal key: set {setting} and restart falscope"),
        ),
        U::Credentials { .. } => (
            StatusCode::BAD_GATEWAY,
            ErrorCode::UpstreamCredentials,
            "fal rejected falscope's key: check FAL_KEY / FAL_ADMIN_KEY".to_owned(),
        ),
        U::Refused { status: 403, what } => (
            StatusCode::FORBIDDEN,
            ErrorCode::UpstreamRefused,
            format!(
                "fal refused access to {what}: the fal account of this workspace does not own it"
            ),
        ),
        U::Refused { what, .. } => (
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("fal has no {what}: check the endpoint id (owner/name or owner/name/route)"),
        ),
        U::RateLimited { .. } | U::Timeout | U::Transport(_) | U::CircuitOpen => unavailable(),
        U::Status {
            status: 413,
            message,
            ..
        } => (
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("fal refused the file: {message}"),
        ),
        U::Status { status, .. } if *status >= 500 => unavailable(),
        U::Status {
            status,
            kind,
            message,
        } if (400..500).contains(status) && kind == "validation_error" => (
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidParameter,
            format!("fal rejected the query: {message}"),
        ),
        U::Status { .. } | U::Decode(_) => (
            StatusCode::BAD_GATEWAY,
            ErrorCode::Upstream,
            "fal answered with an error; see falscope's logs".to_owned(),
        ),
    };
    (status, ApiError::new(code, message))
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = self.status_and_body();
        let retry_after = match &self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        };
        if status.is_server_error() {
            tracing::warn!(error = %self, status = status.as_u16(), "request failed");
        } else {
            tracing::debug!(error = %self, status = status.as_u16(), "request rejected");
        }
        let mut resp = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_failures_map_to_distinct_codes() {
        let code = |e: UpstreamError| AppError::from(e).status_and_body();
        assert_eq!(
            code(UpstreamError::admin_key_missing()).0,
            StatusCode::CONFLICT
        );
        let (status, body) = code(UpstreamError::Credentials { status: 401 });
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert_eq!(body.code, ErrorCode::UpstreamCredentials);
        assert_eq!(
            code(UpstreamError::Timeout).0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        let internal = AppError::Internal("secret detail".into())
            .status_and_body()
            .1;
        assert!(!internal.message.contains("secret detail"));
    }
}
