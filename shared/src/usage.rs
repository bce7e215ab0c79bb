//! Spend per app × machine type × surge, and spend over time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One app × machine type × surge line over the whole range.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageLine {
    /// App name (fal's usage `app`), or `(unattributed)`.
    pub app: String,
    /// Machine type, e.g. `GPU-H100`.
    pub machine_type: String,
    /// Surge-priced usage.
    pub is_surge: bool,
    /// Machine-seconds.
    pub seconds: f64,
    /// Price per machine-second before discounts.
    pub unit_price: f64,
    /// Discount in percent, when any.
    pub discount_percent: Option<f64>,
    /// Cost after discounts.
    pub cost: f64,
    /// ISO 4217.
    pub currency: String,
}

/// Spend of one app in one bucket.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsagePoint {
    /// Bucket start.
    pub t: DateTime<Utc>,
    /// App name.
    pub app: String,
    /// Cost after discounts (surge and non-surge summed).
    pub cost: f64,
    /// Machine-seconds.
    pub seconds: f64,
}

/// Body of `GET /api/ws/{ws}/usage`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageReport {
    /// Resolved start.
    pub from: DateTime<Utc>,
    /// Resolved end (exclusive).
    pub to: DateTime<Utc>,
    /// Bucket size of `series`.
    pub timeframe: crate::analytics::Timeframe,
    /// Lines, most expensive first.
    pub lines: Vec<UsageLine>,
    /// Spend over time per app.
    pub series: Vec<UsagePoint>,
    /// Sum of `lines[].cost` (surge and non-surge).
    pub total_cost: f64,
    /// Sum of `lines[].seconds`.
    pub total_seconds: f64,
    /// Currency of the totals.
    pub currency: String,
}
