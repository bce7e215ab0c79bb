//! What requests really cost: spend per app beside its request outcomes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One app over the report's range.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppCost {
    /// App name (fal's usage `app`).
    pub app: String,
    /// Spend after discounts, surge and non-surge summed.
    pub spend: f64,
    /// Machine-seconds billed.
    pub machine_seconds: f64,
    /// Requests that ended in the range.
    pub requests: u64,
    /// 2xx.
    pub success: u64,
    /// 4xx.
    pub user_errors: u64,
    /// 5xx.
    pub server_errors: u64,
    /// `spend ÷ success`; `None` when no request succeeded (there is no honest figure).
    pub cost_per_success: Option<f64>,
}

/// Body of `GET /api/ws/{ws}/cost`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostReport {
    /// Resolved start.
    pub from: DateTime<Utc>,
    /// Resolved end (exclusive).
    pub to: DateTime<Utc>,
    /// ISO 4217 currency of every amount.
    pub currency: String,
    /// Apps, most expensive first.
    pub apps: Vec<AppCost>,
    /// Sum of `apps[].spend`.
    pub total_spend: f64,
    /// Sum of `apps[].success`.
    pub total_success: u64,
    /// `total_spend ÷ total_success`, when any request succeeded.
    pub cost_per_success: Option<f64>,
}

/// One day of the month: what was spent, or what is projected.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailySpend {
    /// The day's start (UTC midnight).
    pub day: DateTime<Utc>,
    /// Spend so far (today: partial).
    pub actual: Option<f64>,
    /// Projected spend (today and later days).
    pub predicted: Option<f64>,
}

/// Body of `GET /api/ws/{ws}/forecast`: this month's spend so far and where it is heading.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// First instant of the month (UTC).
    pub month_start: DateTime<Utc>,
    /// First instant of the next month.
    pub month_end: DateTime<Utc>,
    /// ISO 4217.
    pub currency: String,
    /// Spend from `month_start` until now.
    pub month_to_date: f64,
    /// Projected spend for the whole month; `None` with less than a week of history.
    pub projected: Option<f64>,
    /// Lower end of the ~95% band.
    pub low: Option<f64>,
    /// Upper end of the ~95% band.
    pub high: Option<f64>,
    /// Every day of the month.
    pub daily: Vec<DailySpend>,
}
