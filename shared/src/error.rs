//! The only error body the browser ever parses.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Error body of every non-2xx `/api` response.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Machine-readable class of the failure.
    pub code: ErrorCode,
    /// A user-safe sentence saying what went wrong and, for 4xx, what to fix.
    pub message: String,
    /// The query/path parameter at fault, for validation errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

impl ApiError {
    /// An error without a parameter.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            param: None,
        }
    }

    /// A validation error naming the parameter to fix.
    pub fn invalid_param(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::InvalidParameter,
            message: message.into(),
            param: Some(param.into()),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.param {
            Some(p) => write!(f, "{} ({p})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Classes of failure; each maps to exactly one HTTP status in the backend.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: a query, path or body value is malformed or out of range.
    InvalidParameter,
    /// 401: not signed in (or the session expired).
    Unauthenticated,
    /// 403: signed in, but the role or workspace does not allow this call.
    Forbidden,
    /// 403: a state-changing call without the CSRF header.
    CsrfRejected,
    /// 404: no such route or resource.
    NotFound,
    /// 409: the operation needs an ADMIN-scoped fal key that is not configured.
    AdminKeyMissing,
    /// 409: the resource cannot change this way (a rule from the alerts file, no data directory).
    Conflict,
    /// 413: the upload is larger than the configured cap.
    PayloadTooLarge,
    /// 429: too many requests from this client.
    RateLimited,
    /// 431: the request's headers are too large.
    HeadersTooLarge,
    /// 502: fal rejected falscope's key (401/403 upstream).
    UpstreamCredentials,
    /// 403: fal refused a named endpoint or app: the fal account does not own it.
    UpstreamRefused,
    /// 502: fal answered with an error or an unreadable body.
    Upstream,
    /// 503: fal is unreachable or timed out and no cached data exists.
    UpstreamUnavailable,
    /// 500: a bug in falscope.
    Internal,
    /// 503: falscope's own database (`--database-url`) cannot be reached: the change was not
    /// saved; try again when it is back.
    StoreUnavailable,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_is_snake_case_and_omits_absent_param() {
        let body = serde_json::to_string(&ApiError::new(ErrorCode::AdminKeyMissing, "x")).unwrap();
        assert_eq!(body, r#"{"code":"admin_key_missing","message":"x"}"#);
        let back: ApiError =
            serde_json::from_str(r#"{"code":"invalid_parameter","message":"m","param":"limit"}"#)
                .unwrap();
        assert_eq!(back, ApiError::invalid_param("limit", "m"));
    }
}
