//! Alert rules, their live state and their history; budgets.
//!
//! A rule is evaluated by the backend on data it already caches. Its state moves
//! inactive → pending → firing → resolved; a notification goes out on the move to firing and on
//! the move to resolved, never on a repeated evaluation of the same state.

pub mod draft;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a threshold rule compares.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMetric {
    /// Requests waiting in the queue now (fal's metrics, per app or summed).
    QueueSize,
    /// Share of requests answered 5xx over the look-back window (0–1).
    ErrorRate,
    /// p90 execution seconds over the look-back window (the worst endpoint of the app).
    P90Latency,
    /// Spend over the last 24 whole hours (needs the ADMIN key).
    SpendPerDay,
}

impl ThresholdMetric {
    /// Every metric.
    pub const ALL: [Self; 4] = [
        Self::QueueSize,
        Self::ErrorRate,
        Self::P90Latency,
        Self::SpendPerDay,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::QueueSize => "queue_size",
            Self::ErrorRate => "error_rate",
            Self::P90Latency => "p90_latency",
            Self::SpendPerDay => "spend_per_day",
        }
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::QueueSize => "queue size",
            Self::ErrorRate => "5xx rate",
            Self::P90Latency => "p90 latency (s)",
            Self::SpendPerDay => "spend per day",
        }
    }
}

/// What an anomaly rule watches, hour by hour.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyMetric {
    /// Spend of each complete hour (needs the ADMIN key).
    HourlyCost,
    /// 5xx share of each complete hour.
    ErrorRate,
}

impl AnomalyMetric {
    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::HourlyCost => "hourly cost",
            Self::ErrorRate => "hourly 5xx rate",
        }
    }
}

/// The condition of a rule.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// `metric > above` over the last `window_minutes`, judged only when at least
    /// `min_requests` requests ended in the window (error rate and latency).
    Threshold {
        /// What is compared.
        metric: ThresholdMetric,
        /// Fires above this value.
        above: f64,
        /// Look-back window, minutes (error rate and latency).
        #[serde(default = "default_window")]
        window_minutes: u32,
        /// Fewer requests than this in the window: not judged.
        #[serde(default)]
        min_requests: u64,
        /// For the 5xx rate: only failures of this type count (e.g. timeouts); none: every 5xx.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failure: Option<crate::analytics::FailureType>,
    },
    /// The queue grew over the whole of the last `minutes` (never fell, ended higher).
    QueueGrowing {
        /// How long it must have grown.
        minutes: u32,
    },
    /// Spend this month runs faster than the monthly budget allows (needs a budget).
    OverBudgetPace,
    /// The latest complete hour is more than `sensitivity` scaled MADs above the median of the
    /// `lookback_hours` before it.
    Anomaly {
        /// What is watched.
        metric: AnomalyMetric,
        /// Hours of history the median and MAD are taken over.
        #[serde(default = "default_lookback")]
        lookback_hours: u32,
        /// How many scaled MADs above the median count as an anomaly.
        #[serde(default = "default_sensitivity")]
        sensitivity: f64,
    },
    /// A watched model endpoint misses one of its SLA objectives over the SLA's period
    /// (`crate::models`); the rule names no app.
    Sla {
        /// The watched endpoint (`fal-ai/flux/dev`).
        endpoint: String,
    },
    /// fal's prepaid credit balance is below `below`, or lasts fewer than `runway_days` at the
    /// projected spend (needs the ADMIN key; at least one of the two).
    LowCredits {
        /// Fires below this balance.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        below: Option<f64>,
        /// Fires when the balance runs out sooner than this many days.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        runway_days: Option<f64>,
    },
}

impl Condition {
    /// Whether judging it reads spend (usage): its values and findings are billing data.
    pub fn reads_spend(&self) -> bool {
        matches!(
            self,
            Self::Threshold {
                metric: ThresholdMetric::SpendPerDay,
                ..
            } | Self::OverBudgetPace
                | Self::Anomaly {
                    metric: AnomalyMetric::HourlyCost,
                    ..
                }
                | Self::LowCredits { .. }
        )
    }
}

/// What a caller below the billing role reads instead of a spend rule's finding.
pub const SPEND_HIDDEN: &str = "spend figures are shown to the billing role and up";

fn default_window() -> u32 {
    15
}
fn default_lookback() -> u32 {
    72
}
fn default_sensitivity() -> f64 {
    4.0
}

/// Where a rule was defined.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSource {
    /// The alerts file (`--alerts-file`); edit it there.
    File,
    /// Created in the UI or through the API; stored in the data directory.
    Ui,
}

/// A rule as the API returns it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRule {
    /// Stable id.
    pub id: String,
    /// What people call it.
    pub name: String,
    /// Workspace it watches.
    pub workspace: String,
    /// App it watches; `None`: the whole workspace.
    pub app: Option<String>,
    /// The condition.
    pub condition: Condition,
    /// Minutes the condition must hold before the rule fires (0: at once).
    pub for_minutes: u32,
    /// Where it was defined.
    pub source: RuleSource,
}

/// Body of `POST /api/ws/{ws}/alerts/rules`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRule {
    /// What people call it (1–80 characters).
    pub name: String,
    /// App it watches; absent: the whole workspace.
    #[serde(default)]
    pub app: Option<String>,
    /// The condition.
    pub condition: Condition,
    /// Minutes the condition must hold before the rule fires.
    #[serde(default)]
    pub for_minutes: u32,
}

impl NewRule {
    /// Checks the rule's numbers, as the server does: `(field, what to fix)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let rule = self;
        let name_ok = !rule.name.trim().is_empty() && rule.name.chars().count() <= 80;
        if !name_ok {
            return Err(("name", "must be 1 to 80 characters".into()));
        }
        if rule.for_minutes > 1440 {
            return Err(("for_minutes", "must be 0 to 1440".into()));
        }
        match &rule.condition {
            Condition::Threshold {
                metric,
                above,
                window_minutes,
                failure,
                ..
            } => {
                if !above.is_finite() || *above < 0.0 {
                    return Err(("condition.above", "must be a number ≥ 0".into()));
                }
                if failure.is_some() && *metric != ThresholdMetric::ErrorRate {
                    return Err((
                        "condition.failure",
                        "a failure type narrows the 5xx rate (metric error_rate) only".into(),
                    ));
                }
                if *metric == ThresholdMetric::ErrorRate && *above >= 1.0 {
                    return Err((
                        "condition.above",
                        "an error rate is a share from 0 to 1 (0.05 = 5%)".into(),
                    ));
                }
                if !(1..=1440).contains(window_minutes) {
                    return Err(("condition.window_minutes", "must be 1 to 1440".into()));
                }
            }
            Condition::QueueGrowing { minutes } => {
                if !(1..=240).contains(minutes) {
                    return Err(("condition.minutes", "must be 1 to 240".into()));
                }
            }
            Condition::OverBudgetPace => {}
            Condition::Sla { endpoint } => {
                crate::models::check_endpoint(endpoint).map_err(|e| ("condition.endpoint", e))?;
                if rule.app.is_some() {
                    return Err((
                        "app",
                        "an SLA rule watches a model endpoint, not an app: leave the app empty"
                            .into(),
                    ));
                }
            }
            Condition::LowCredits { below, runway_days } => {
                if below.is_none() && runway_days.is_none() {
                    return Err((
                        "condition.below",
                        "give a balance, a number of days, or both".into(),
                    ));
                }
                if below.is_some_and(|b| !b.is_finite() || b < 0.0) {
                    return Err(("condition.below", "must be a number ≥ 0".into()));
                }
                if runway_days.is_some_and(|d| !d.is_finite() || !(0.0..=365.0).contains(&d)) {
                    return Err(("condition.runway_days", "must be 0 to 365 days".into()));
                }
                if rule.app.is_some() {
                    return Err((
                        "app",
                        "credits belong to the whole account: leave the app empty".into(),
                    ));
                }
            }
            Condition::Anomaly {
                lookback_hours,
                sensitivity,
                ..
            } => {
                if !(24..=720).contains(lookback_hours) {
                    return Err(("condition.lookback_hours", "must be 24 to 720".into()));
                }
                if !sensitivity.is_finite() || !(1.0..=20.0).contains(sensitivity) {
                    return Err((
                        "condition.sensitivity",
                        "must be 1 to 20 (scaled MADs)".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Where a rule stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The condition does not hold.
    Inactive,
    /// The condition holds, not yet for `for_minutes`.
    Pending,
    /// The condition has held for `for_minutes`; notified.
    Firing,
    /// Was firing, no longer holds; notified.
    Resolved,
}

impl AlertState {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inactive => "inactive",
            Self::Pending => "pending",
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }
}

/// A rule with its current state.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleStatus {
    /// The rule.
    pub rule: AlertRule,
    /// Its state.
    pub state: AlertState,
    /// Since when it is in that state.
    pub since: Option<DateTime<Utc>>,
    /// The value last measured.
    pub value: Option<f64>,
    /// What the last evaluation found, in words (also why it could not judge).
    pub detail: String,
    /// When it was last evaluated.
    pub evaluated_at: Option<DateTime<Utc>>,
}

/// One notification-worthy change of a rule.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// Rule id.
    pub rule_id: String,
    /// Rule name at the time.
    pub rule_name: String,
    /// Workspace.
    pub workspace: String,
    /// `firing` or `resolved`.
    pub state: AlertState,
    /// When.
    pub at: DateTime<Utc>,
    /// The value measured.
    pub value: Option<f64>,
    /// In words.
    pub detail: String,
}

/// A delivery target as the browser may see it (never its URL's secret parts or signing key).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookInfo {
    /// Name from the alerts file.
    pub name: String,
    /// `generic` (signed JSON) or `slack`.
    pub format: String,
    /// Host it posts to.
    pub host: String,
}

/// Body of `GET /api/ws/{ws}/alerts`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertsView {
    /// Every rule of the workspace with its state, firing first.
    pub rules: Vec<RuleStatus>,
    /// The latest changes, newest first.
    pub history: Vec<AlertEvent>,
    /// Where notifications go.
    pub webhooks: Vec<WebhookInfo>,
    /// Rules can be created here (false without a usable data directory).
    pub editable: bool,
    /// Evaluations run since start (all workspaces).
    pub evaluations: u64,
    /// Seconds between evaluations.
    #[serde(default)]
    pub evaluate_every_seconds: f64,
}

/// The header's reading of `GET /api/ws/{ws}/alerts`: which rules are firing. It decodes the
/// same answer as [`AlertsView`], skipping every other field, so the dashboard's first load
/// does not carry the decoders of the whole rule model (conditions, history, webhooks).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct FiringRules {
    rules: Vec<RuleHeadline>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct RuleHeadline {
    rule: RuleName,
    state: AlertState,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct RuleName {
    name: String,
}

impl FiringRules {
    /// Names of the rules firing now, in the answer's order.
    pub fn names(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter(|r| r.state == AlertState::Firing)
            .map(|r| r.rule.name.clone())
            .collect()
    }
}

/// Body of `POST /api/ws/{ws}/alerts/test`'s answer: one line per webhook.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryResult {
    /// Webhook name.
    pub webhook: String,
    /// Delivered (a 2xx answer).
    pub ok: bool,
    /// Attempts made.
    pub attempts: u32,
    /// Last HTTP status or transport error.
    pub detail: String,
}

/// A monthly budget of a workspace or one of its apps.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// App; `None`: the whole workspace.
    #[serde(default)]
    pub app: Option<String>,
    /// Amount per calendar month (UTC), in the usage currency.
    pub monthly: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_headers_reading_decodes_the_whole_answer() {
        let status = |name: &str, state| RuleStatus {
            rule: AlertRule {
                id: name.into(),
                name: name.into(),
                workspace: "w".into(),
                app: None,
                condition: Condition::Threshold {
                    metric: ThresholdMetric::QueueSize,
                    above: 50.0,
                    window_minutes: 0,
                    min_requests: 0,
                    failure: None,
                },
                for_minutes: 0,
                source: RuleSource::Ui,
            },
            state,
            since: None,
            value: Some(60.0),
            detail: "queue 60".into(),
            evaluated_at: None,
        };
        let view = AlertsView {
            rules: vec![
                status("queue", AlertState::Firing),
                status("quiet", AlertState::Inactive),
                status("spend", AlertState::Firing),
            ],
            history: Vec::new(),
            webhooks: Vec::new(),
            editable: true,
            evaluations: 3,
            evaluate_every_seconds: 30.0,
        };
        let json = serde_json::to_string(&view).unwrap();
        let firing: FiringRules = serde_json::from_str(&json).unwrap();
        assert_eq!(firing.names(), ["queue", "spend"]);
    }
}
