//! Requests with their cost, one page at a time, and one request with its logs.

use crate::logs::LogLine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Outcome class of a request.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusClass {
    /// 2xx.
    Success,
    /// 4xx.
    UserError,
    /// 5xx.
    Error,
    /// Not finished yet.
    Running,
}

impl StatusClass {
    /// Class of an HTTP status (`None` = unfinished).
    pub fn of(status: Option<u16>) -> Self {
        match status {
            None => Self::Running,
            Some(s) if s >= 500 => Self::Error,
            Some(s) if s >= 400 => Self::UserError,
            Some(_) => Self::Success,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::UserError => "user_error",
            Self::Error => "error",
            Self::Running => "running",
        }
    }
}

/// What one request cost.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cost {
    /// `billable_units × unit price`.
    Known {
        /// Amount.
        amount: f64,
        /// Price per unit used.
        unit_price: f64,
        /// The app was billed at several unit prices (surge, machine types): the price is their
        /// blend and the amount approximate.
        #[serde(default)]
        blended: bool,
    },
    /// fal has not billed it yet (`billable_units` is null).
    Pending,
    /// No unit price: the ADMIN key is missing or the app has no usage in range.
    Unknown,
}

/// One request as the table shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRow {
    /// Request id.
    pub id: String,
    /// Route-level endpoint id.
    pub endpoint: String,
    /// HTTP status, `None` while running.
    pub status_code: Option<u16>,
    /// Outcome class.
    pub status: StatusClass,
    /// Submitted.
    pub sent_at: DateTime<Utc>,
    /// Started executing.
    pub started_at: DateTime<Utc>,
    /// Finished.
    pub ended_at: Option<DateTime<Utc>>,
    /// Queue wait, seconds (`started_at − sent_at`).
    pub queue_seconds: f64,
    /// Total duration, seconds.
    pub duration_seconds: Option<f64>,
    /// Runner id.
    pub runner_id: Option<String>,
    /// Billed units (`None`: not billed yet).
    pub billable_units: Option<f64>,
    /// Cost.
    pub cost: Cost,
}

/// Body of `GET /api/ws/{ws}/requests`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestsPage {
    /// Rows.
    pub items: Vec<RequestRow>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
}

/// Body of `GET /api/ws/{ws}/requests/{id}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestDetail {
    /// The request.
    pub row: RequestRow,
    /// Its log lines, oldest first.
    pub logs: Vec<LogLine>,
}
