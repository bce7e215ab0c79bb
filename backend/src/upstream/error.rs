//! What can go wrong talking to fal, sorted so the cache and the UI can react differently.

use std::time::Duration;

/// A failed fal call. Never carries a key: messages are built from status codes and fal's
/// error `type`, and transport errors are reduced to their kind.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// fal rejected falscope's key (401) or its scope (403).
    #[error("fal rejected the configured key (HTTP {status})")]
    Credentials {
        /// 401 or 403.
        status: u16,
    },
    /// fal answered 429.
    #[error("fal rate limit exceeded")]
    RateLimited {
        /// From `Retry-After` or `x-ratelimit-reset`, when present.
        retry_after: Option<Duration>,
    },
    /// fal answered another non-2xx status.
    #[error("fal answered HTTP {status} ({kind})")]
    Status {
        /// HTTP status.
        status: u16,
        /// fal's `error.type`, or `unknown` when the body was not fal's error shape.
        kind: String,
        /// fal's `error.message`; shown to users only for 4xx validation errors.
        message: String,
    },
    /// No answer in time.
    #[error("fal did not answer in time")]
    Timeout,
    /// Connection refused, reset, DNS…
    #[error("could not reach fal: {0}")]
    Transport(String),
    /// A 2xx body falscope could not read.
    #[error("unreadable answer from fal: {0}")]
    Decode(String),
    /// falscope's circuit breaker for this operation is open: fal failed repeatedly.
    #[error("fal is failing; falscope is holding off for a moment")]
    CircuitOpen,
    /// The operation needs the ADMIN key, which is not configured.
    #[error("this needs an ADMIN-scoped fal key ({setting}), which is not configured")]
    AdminKeyMissing {
        /// Where this workspace's ADMIN key is configured: `FAL_ADMIN_KEY`, or the
        /// workspaces file's `admin_key_env`.
        setting: std::sync::Arc<str>,
    },
    /// fal refused what was asked for, not the key: 403 for endpoints the account does not own,
    /// 404 for ones that do not exist (analytics, requests, queues).
    #[error("fal answered HTTP {status} for {what}")]
    Refused {
        /// 403 or 404.
        status: u16,
        /// What was asked for (endpoint or app ids), for the message.
        what: String,
    },
}

impl UpstreamError {
    /// The ADMIN key is missing; with a single account it is set with `FAL_ADMIN_KEY`.
    pub fn admin_key_missing() -> Self {
        Self::AdminKeyMissing {
            setting: "FAL_ADMIN_KEY".into(),
        }
    }

    /// Failures where fal (not the request) is at fault: serve stale data, count for the breaker.
    pub fn is_outage(&self) -> bool {
        match self {
            Self::RateLimited { .. } | Self::Timeout | Self::Transport(_) | Self::CircuitOpen => {
                true
            }
            Self::Status { status, .. } => *status >= 500,
            Self::Credentials { .. }
            | Self::Decode(_)
            | Self::AdminKeyMissing { .. }
            | Self::Refused { .. } => false,
        }
    }

    /// For operations on named endpoints: a 403 is the account not owning `ids` (not a bad
    /// key) and a 404 is `ids` not existing (fal's §1.2: analytics and requests answer 403 when
    /// the caller does not own a requested endpoint).
    pub fn about(self, ids: &[String]) -> Self {
        let what = || match ids {
            [one] => one.clone(),
            many => many.join(", "),
        };
        match self {
            Self::Credentials { status: 403 } => Self::Refused {
                status: 403,
                what: what(),
            },
            Self::Status { status: 404, .. } => Self::Refused {
                status: 404,
                what: what(),
            },
            other => other,
        }
    }

    pub(crate) fn from_reqwest(err: &reqwest::Error) -> Self {
        if err.is_timeout() {
            Self::Timeout
        } else if err.is_decode() || err.is_body() {
            Self::Decode("the body could not be read".into())
        } else if err.is_connect() {
            Self::Transport("connection failed".into())
        } else {
            Self::Transport("request failed".into())
        }
    }
}
