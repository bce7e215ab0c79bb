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
    /// Spend over the period of the same length just before (top movers); `None` when not
    /// asked for or unknown.
    #[serde(default)]
    pub previous_spend: Option<f64>,
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
    /// The workspace's monthly budget, when one is set.
    #[serde(default)]
    pub budget: Option<f64>,
    /// Each app's month: spent, projected and its budget.
    #[serde(default)]
    pub apps: Vec<AppForecast>,
}

/// One app's month.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppForecast {
    /// App name.
    pub app: String,
    /// Spend from the month's start until now.
    pub month_to_date: f64,
    /// Projected spend for the whole month (`None` with less than a week of history).
    pub projected: Option<f64>,
    /// Its monthly budget, when one is set.
    pub budget: Option<f64>,
}

/// Machine-seconds (and their money) of one share of an app's billed time.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Share {
    /// Machine-seconds.
    pub seconds: f64,
    /// Their cost (seconds × the app's effective price per machine-second).
    pub cost: f64,
}

/// Where one app's machine time went.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppSplit {
    /// App name.
    pub app: String,
    /// Machine type(s) billed, comma-separated.
    pub machine_type: String,
    /// Machine-seconds billed (usage).
    pub machine_seconds: f64,
    /// Spend (usage).
    pub spend: f64,
    /// Executing requests that ended 2xx or 4xx (Σ their durations); `None` when fal did not
    /// report the durations.
    pub running: Option<Share>,
    /// Executing requests that ended 5xx.
    pub failed: Option<Share>,
    /// Cold starts (estimated: cold starts × their median duration).
    pub setup: Option<Share>,
    /// The rest: warm runners waiting (min concurrency, keep-alive).
    pub idle: Option<Share>,
    /// 5xx requests whose billed duration was read (the failed share is measured on them).
    pub failed_sampled: u64,
    /// 5xx requests that ran in the range.
    pub failed_requests: u64,
    /// True when any share is an estimate rather than a sum.
    pub estimated: bool,
    /// What is missing or estimated, in words.
    pub notes: Vec<String>,
}

/// Body of `GET /api/ws/{ws}/split`: where the money goes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitReport {
    /// Resolved start.
    pub from: DateTime<Utc>,
    /// Resolved end (exclusive).
    pub to: DateTime<Utc>,
    /// ISO 4217.
    pub currency: String,
    /// Apps, most expensive first.
    pub apps: Vec<AppSplit>,
}

impl AppSplit {
    /// Share of billed time not spent on successful work (idle + setup + failed), 0–1.
    pub fn overhead_share(&self) -> Option<f64> {
        let running = self.running?.seconds;
        (self.machine_seconds > 0.0).then(|| (1.0 - running / self.machine_seconds).clamp(0.0, 1.0))
    }
}

/// The price of one billable unit of an app.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceLine {
    /// App name.
    pub app: String,
    /// Spend ÷ machine-seconds over the last 7 days of usage.
    pub derived: Option<f64>,
    /// The admin's price, when set; it wins.
    pub override_price: Option<f64>,
    /// The price per-request costs use.
    pub effective: Option<f64>,
    /// The app was billed at more than one unit price (surge, several machine types): a
    /// request's cost from one blended price is approximate.
    pub ambiguous: bool,
    /// Distinct unit prices seen in usage, lowest first.
    pub prices_seen: Vec<f64>,
    /// Machine types seen in usage.
    pub machine_types: Vec<String>,
}

/// Body of `PUT /api/ws/{ws}/prices`: set (or clear, with `null`) an app's price.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceOverride {
    /// App name.
    pub app: String,
    /// Price per billable unit (machine-second); `null` removes the override.
    pub unit_price: Option<f64>,
}

/// Body of `GET /api/ws/{ws}/credits` (billing): fal's prepaid credit balance and when it runs
/// out at the projected spend.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credits {
    /// The balance fal reports.
    pub balance: f64,
    /// ISO 4217.
    pub currency: String,
    /// When the balance reaches zero at the projected spend; `None`: see `note`.
    pub runway: Option<Runway>,
    /// Projected spend per day over the next seven days (`None` without a projection).
    pub daily_spend: Option<f64>,
    /// Why there is no runway, or what to keep in mind about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// When a credit balance runs out: the projected day and the ~95% band around it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Runway {
    /// Days from now at the projected spend.
    pub days: f64,
    /// When, at the projected spend.
    pub runs_out: DateTime<Utc>,
    /// When, at the band's high spend.
    pub earliest: DateTime<Utc>,
    /// When, at the band's low spend (`None`: beyond the year falscope looks ahead).
    pub latest: Option<DateTime<Utc>>,
}

/// How far ahead a credit runway is projected, in days.
pub const RUNWAY_HORIZON_DAYS: u32 = 365;
