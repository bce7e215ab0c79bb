//! Request analytics per endpoint, shaped for charts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Bucket size (fal picks one from the range unless overridden).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeframe {
    /// One minute.
    Minute,
    /// One hour.
    Hour,
    /// One day.
    Day,
    /// One week.
    Week,
    /// One month.
    Month,
}

impl Timeframe {
    /// All values, smallest first.
    pub const ALL: [Timeframe; 5] = [Self::Minute, Self::Hour, Self::Day, Self::Week, Self::Month];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// fal's auto-selection from a span in seconds: minute < 2 h ≤ hour < 2 d ≤ day < 64 d ≤ week < 183 d ≤ month.
    pub fn auto(span_seconds: i64) -> Self {
        const H: i64 = 3600;
        const D: i64 = 24 * H;
        match span_seconds {
            s if s < 2 * H => Self::Minute,
            s if s < 2 * D => Self::Hour,
            s if s < 64 * D => Self::Day,
            s if s < 183 * D => Self::Week,
            _ => Self::Month,
        }
    }
}

/// One bucket of one endpoint.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsPoint {
    /// Bucket start.
    pub t: DateTime<Utc>,
    /// Route-level endpoint id.
    pub endpoint: String,
    /// Requests.
    pub requests: u64,
    /// 2xx.
    pub success: u64,
    /// 4xx.
    pub user_errors: u64,
    /// 5xx.
    pub server_errors: u64,
    /// The 5xx by failure type.
    #[serde(default)]
    pub failures: Failures,
    /// Queue (prepare) latency percentiles, seconds.
    pub prepare: Percentiles,
    /// Execution latency percentiles, seconds.
    pub execution: Percentiles,
}

/// Why requests failed (5xx), by fal's failure types. fal may leave a count out: it reads 0.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failures {
    /// The runner never started (startup timeout, scheduling failure).
    #[serde(default)]
    pub startup: u64,
    /// The connection to the runner timed out, dropped or was refused.
    #[serde(default)]
    pub connection: u64,
    /// The request ran past its timeout.
    #[serde(default)]
    pub timeout: u64,
    /// The app raised (internal or server error).
    #[serde(default)]
    pub runtime: u64,
}

/// One of fal's failure types.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureType {
    /// [`Failures::startup`].
    Startup,
    /// [`Failures::connection`].
    Connection,
    /// [`Failures::timeout`].
    Timeout,
    /// [`Failures::runtime`].
    Runtime,
}

impl FailureType {
    /// Every type, in the order charts stack them.
    pub const ALL: [Self; 4] = [
        Self::Startup,
        Self::Connection,
        Self::Timeout,
        Self::Runtime,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Startup => "startup",
            Self::Connection => "connection",
            Self::Timeout => "timeout",
            Self::Runtime => "runtime",
        }
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::Startup => "startup errors",
            Self::Connection => "connection errors",
            Self::Timeout => "timeouts",
            Self::Runtime => "runtime errors",
        }
    }
}

impl Failures {
    /// The count of `kind`.
    pub fn of(&self, kind: FailureType) -> u64 {
        match kind {
            FailureType::Startup => self.startup,
            FailureType::Connection => self.connection,
            FailureType::Timeout => self.timeout,
            FailureType::Runtime => self.runtime,
        }
    }

    /// Every typed failure.
    pub fn total(&self) -> u64 {
        self.startup + self.connection + self.timeout + self.runtime
    }
}

/// p50 / p75 / p90 in seconds; `None` without data.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 75th percentile.
    pub p75: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
}

/// Whole-range totals of one endpoint.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsSummary {
    /// Route-level endpoint id.
    pub endpoint: String,
    /// Requests.
    pub requests: u64,
    /// 2xx.
    pub success: u64,
    /// 4xx.
    pub user_errors: u64,
    /// 5xx.
    pub server_errors: u64,
    /// 5xx share of requests, 0–1.
    pub error_rate: f64,
    /// The 5xx by failure type.
    #[serde(default)]
    pub failures: Failures,
    /// Queue latency percentiles.
    pub prepare: Percentiles,
    /// Execution latency percentiles.
    pub execution: Percentiles,
    /// Requests with a cold start.
    pub cold_starts: u64,
    /// Median cold-start seconds (cold starts only).
    #[serde(default)]
    pub cold_start_p50: Option<f64>,
    /// Σ billed request durations, seconds (fal's `total_billable_duration`).
    #[serde(default)]
    pub billable_seconds: Option<f64>,
}

/// Body of `GET /api/ws/{ws}/analytics`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsReport {
    /// Resolved start (bucket-aligned).
    pub from: DateTime<Utc>,
    /// Resolved end (exclusive).
    pub to: DateTime<Utc>,
    /// Bucket size used.
    pub timeframe: Timeframe,
    /// Points, ordered by time then endpoint.
    pub series: Vec<AnalyticsPoint>,
    /// One summary per endpoint.
    pub summary: Vec<AnalyticsSummary>,
}
