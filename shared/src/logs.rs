//! Log lines for the history view and the live tail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Log level, ordered by severity.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// Debug.
    Debug,
    /// Info.
    Info,
    /// Warning.
    Warning,
    /// Error.
    Error,
    /// Critical.
    Critical,
}

impl LogLevel {
    /// All levels, least severe first.
    pub const ALL: [LogLevel; 5] = [
        Self::Debug,
        Self::Info,
        Self::Warning,
        Self::Error,
        Self::Critical,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
        }
    }

    /// Parses a level name (`warn` is accepted for `warning`; unknown names are `None`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "debug" | "trace" => Some(Self::Debug),
            "info" => Some(Self::Info),
            "warning" | "warn" => Some(Self::Warning),
            "error" => Some(Self::Error),
            "critical" | "fatal" => Some(Self::Critical),
            _ => None,
        }
    }
}

/// One log line.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// When it was logged.
    pub ts: DateTime<Utc>,
    /// Level.
    pub level: LogLevel,
    /// Message (may span lines).
    pub message: String,
    /// App name.
    pub app: String,
    /// Revision.
    pub revision: String,
    /// The request it belongs to, from the `fal_request_id` label.
    pub request_id: Option<String>,
    /// Every label.
    pub labels: BTreeMap<String, String>,
}

/// Body of `GET /api/ws/{ws}/logs`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogsPage {
    /// Lines, newest first.
    pub items: Vec<LogLine>,
    /// Cursor of the next (older) page.
    pub next_cursor: Option<String>,
}
