//! Server-Sent Event names of falscope's streams, and their status payload.

use serde::{Deserialize, Serialize};

/// `/live/stream`: data is a `Fetched<LiveSnapshot>`.
pub const SNAPSHOT: &str = "snapshot";
/// `/logs/stream`: data is a [`crate::logs::LogLine`].
pub const LOG: &str = "log";
/// `/live/stream`: data is an [`crate::ApiError`]: there is no snapshot to show, and why (fal
/// rejected the key, fal is down and nothing was read yet). The next `snapshot` replaces it.
pub const FAILED: &str = "failed";
/// Both streams: data is a [`StreamStatus`].
pub const STATUS: &str = "status";

/// Health of a live stream, so the UI can say "reconnecting to fal…" instead of going quiet.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StreamStatus {
    /// falscope is receiving from fal.
    Connected,
    /// fal's stream dropped; falscope is reconnecting and will resume without gaps.
    Reconnecting {
        /// Why.
        reason: String,
    },
    /// This viewer fell behind and was dropped; reconnect to resume.
    Lagged,
    /// falscope is shutting down.
    Closing,
}
