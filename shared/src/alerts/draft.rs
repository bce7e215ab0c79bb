//! The rule form's draft: what the person typed, kept as typed (`0.` on the way to `0.05`),
//! parsed only on submit, and checked by the same rules the server applies ([`NewRule::check`]).

use super::{AlertRule, AnomalyMetric, Condition, NewRule, ThresholdMetric};

/// The kinds of rule the form offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// [`Condition::Threshold`].
    Threshold,
    /// [`Condition::QueueGrowing`].
    QueueGrowing,
    /// [`Condition::OverBudgetPace`].
    OverBudgetPace,
    /// [`Condition::Anomaly`].
    Anomaly,
    /// [`Condition::Sla`].
    Sla,
    /// [`Condition::LowCredits`].
    LowCredits,
}

impl RuleKind {
    /// Every kind, in the form's order.
    pub const ALL: [Self; 6] = [
        Self::Threshold,
        Self::QueueGrowing,
        Self::OverBudgetPace,
        Self::Anomaly,
        Self::Sla,
        Self::LowCredits,
    ];

    /// The wire name of the condition's `kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Threshold => "threshold",
            Self::QueueGrowing => "queue_growing",
            Self::OverBudgetPace => "over_budget_pace",
            Self::Anomaly => "anomaly",
            Self::Sla => "sla",
            Self::LowCredits => "low_credits",
        }
    }

    /// What a person reads.
    pub fn label(self) -> &'static str {
        match self {
            Self::Threshold => "Threshold",
            Self::QueueGrowing => "Queue growing",
            Self::OverBudgetPace => "Over budget pace",
            Self::Anomaly => "Anomaly",
            Self::Sla => "Model SLA missed",
            Self::LowCredits => "Low credits",
        }
    }

    /// The kind of wire name `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl ThresholdMetric {
    /// The metric of wire name `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether it is measured over a window of requests (so the window and the minimum
    /// request count apply).
    pub fn uses_window(self) -> bool {
        matches!(self, Self::ErrorRate | Self::P90Latency)
    }

    /// A threshold that makes sense for it, offered when it is picked.
    pub fn default_above(self) -> &'static str {
        match self {
            Self::QueueSize => "50",
            Self::ErrorRate => "0.05",
            Self::P90Latency => "10",
            Self::SpendPerDay => "100",
        }
    }

    /// The unit of the threshold, said beside it.
    pub fn unit(self) -> &'static str {
        match self {
            Self::QueueSize => "requests waiting",
            Self::ErrorRate => "share, 0.05 = 5%",
            Self::P90Latency => "seconds",
            Self::SpendPerDay => "amount in the usage currency",
        }
    }
}

/// The form's fields as typed.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDraft {
    /// Rule name.
    pub name: String,
    /// App name, empty for every app.
    pub app: String,
    /// Kind of condition.
    pub kind: RuleKind,
    /// Threshold metric.
    pub metric: ThresholdMetric,
    /// Anomaly metric.
    pub anomaly: AnomalyMetric,
    /// For the 5xx rate: one failure type only.
    pub failure: Option<crate::analytics::FailureType>,
    /// Threshold, as typed.
    pub above: String,
    /// Window minutes, as typed.
    pub window: String,
    /// Minimum requests, as typed.
    pub min_requests: String,
    /// Minutes of growth, as typed.
    pub minutes: String,
    /// Look-back hours, as typed.
    pub lookback: String,
    /// Sensitivity, as typed.
    pub sensitivity: String,
    /// Hold minutes, as typed.
    pub hold: String,
    /// SLA rules: the watched model endpoint.
    pub endpoint: String,
    /// Low credits: the balance, as typed (empty: not judged).
    pub credits_below: String,
    /// Low credits: the runway days, as typed (empty: not judged).
    pub runway_days: String,
}

impl Default for RuleDraft {
    fn default() -> Self {
        let metric = ThresholdMetric::QueueSize;
        Self {
            name: String::new(),
            app: String::new(),
            kind: RuleKind::Threshold,
            metric,
            anomaly: AnomalyMetric::HourlyCost,
            failure: None,
            above: metric.default_above().into(),
            window: "15".into(),
            min_requests: "20".into(),
            minutes: "10".into(),
            lookback: "72".into(),
            sensitivity: "4".into(),
            hold: "5".into(),
            endpoint: String::new(),
            credits_below: String::new(),
            runway_days: "14".into(),
        }
    }
}

impl RuleDraft {
    /// The draft of an existing rule (to edit it).
    pub fn of(rule: &AlertRule) -> Self {
        let mut d = Self {
            name: rule.name.clone(),
            app: rule.app.clone().unwrap_or_default(),
            hold: rule.for_minutes.to_string(),
            ..Self::default()
        };
        match &rule.condition {
            Condition::Threshold {
                metric,
                above,
                window_minutes,
                min_requests,
                failure,
            } => {
                d.kind = RuleKind::Threshold;
                d.failure = *failure;
                d.metric = *metric;
                d.above = above.to_string();
                d.window = window_minutes.to_string();
                d.min_requests = min_requests.to_string();
            }
            Condition::QueueGrowing { minutes } => {
                d.kind = RuleKind::QueueGrowing;
                d.minutes = minutes.to_string();
            }
            Condition::OverBudgetPace => d.kind = RuleKind::OverBudgetPace,
            Condition::Anomaly {
                metric,
                lookback_hours,
                sensitivity,
            } => {
                d.kind = RuleKind::Anomaly;
                d.anomaly = *metric;
                d.lookback = lookback_hours.to_string();
                d.sensitivity = sensitivity.to_string();
            }
            Condition::Sla { endpoint } => {
                d.kind = RuleKind::Sla;
                d.endpoint = endpoint.clone();
            }
            Condition::LowCredits { below, runway_days } => {
                d.kind = RuleKind::LowCredits;
                d.credits_below = below.map(|b| b.to_string()).unwrap_or_default();
                d.runway_days = runway_days.map(|r| r.to_string()).unwrap_or_default();
            }
        }
        d
    }

    /// Picks the threshold metric: its own default threshold replaces one that was the last
    /// metric's default (a typed one is kept).
    pub fn pick_metric(&mut self, metric: ThresholdMetric) {
        if self.above.trim().is_empty() || self.above == self.metric.default_above() {
            self.above = metric.default_above().into();
        }
        self.metric = metric;
    }

    /// The rule, or the field to fix and how: parsed here, checked as the server checks.
    pub fn parse(&self) -> Result<NewRule, (&'static str, String)> {
        let condition = match self.kind {
            // The window fields are hidden for metrics that do not use them: not read.
            RuleKind::Threshold if !self.metric.uses_window() => Condition::Threshold {
                metric: self.metric,
                above: number(&self.above, "condition.above")?,
                window_minutes: 15,
                min_requests: 0,
                failure: None,
            },
            RuleKind::Threshold => Condition::Threshold {
                metric: self.metric,
                above: number(&self.above, "condition.above")?,
                window_minutes: whole(&self.window, "condition.window_minutes")?,
                min_requests: whole(&self.min_requests, "condition.min_requests")?,
                failure: self
                    .failure
                    .filter(|_| self.metric == ThresholdMetric::ErrorRate),
            },
            RuleKind::QueueGrowing => Condition::QueueGrowing {
                minutes: whole(&self.minutes, "condition.minutes")?,
            },
            RuleKind::OverBudgetPace => Condition::OverBudgetPace,
            RuleKind::Anomaly => Condition::Anomaly {
                metric: self.anomaly,
                lookback_hours: whole(&self.lookback, "condition.lookback_hours")?,
                sensitivity: number(&self.sensitivity, "condition.sensitivity")?,
            },
            RuleKind::Sla => Condition::Sla {
                endpoint: self.endpoint.trim().to_owned(),
            },
            RuleKind::LowCredits => Condition::LowCredits {
                below: optional(&self.credits_below, "condition.below")?,
                runway_days: optional(&self.runway_days, "condition.runway_days")?,
            },
        };
        let rule = NewRule {
            name: self.name.trim().to_owned(),
            // Model SLAs and credits are not about an app: the form hides the field.
            app: Some(self.app.trim().to_owned()).filter(|a| {
                !a.is_empty() && !matches!(self.kind, RuleKind::Sla | RuleKind::LowCredits)
            }),
            condition,
            for_minutes: whole(&self.hold, "for_minutes")?,
        };
        rule.check()?;
        Ok(rule)
    }
}

/// A decimal number with a dot (`0.05`, `.5`, `1000`). A comma is refused, not guessed at:
/// `1,000` and `2,5` mean different things to different people.
fn number(s: &str, field: &'static str) -> Result<f64, (&'static str, String)> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or((
            field,
            format!(
                "{:?} is not a number: use digits and a dot (0.05, 2.5, 1000)",
                s.trim()
            ),
        ))
}

/// A [`number`], or nothing when left empty.
fn optional(s: &str, field: &'static str) -> Result<Option<f64>, (&'static str, String)> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        number(s, field).map(Some)
    }
}

/// A whole number ≥ 0.
fn whole<T: std::str::FromStr>(s: &str, field: &'static str) -> Result<T, (&'static str, String)> {
    s.trim()
        .parse::<T>()
        .map_err(|_| (field, format!("{:?} is not a whole number ≥ 0", s.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_parsed_as_typed() {
        let mut d = RuleDraft {
            name: "errors".into(),
            ..RuleDraft::default()
        };
        d.pick_metric(ThresholdMetric::ErrorRate);
        assert_eq!(d.above, "0.05", "the 5xx rate brings its own default");
        d.above = "0.07".into();
        let Condition::Threshold { above, .. } = d.parse().unwrap().condition else {
            panic!("a threshold")
        };
        assert_eq!(above, 0.07);
        d.pick_metric(ThresholdMetric::P90Latency);
        assert_eq!(d.above, "0.07", "a typed value is kept");
        d.above = "2.5".into();
        let Condition::Threshold { above, .. } = d.parse().unwrap().condition else {
            panic!("a threshold")
        };
        assert_eq!(above, 2.5);
        // `1,000` is not read as 1.
        d.above = "1,000".into();
        assert_eq!(d.parse().unwrap_err().0, "condition.above");
    }

    #[test]
    fn the_server_s_rules_apply_in_the_form() {
        let mut d = RuleDraft {
            name: "errors".into(),
            ..RuleDraft::default()
        };
        d.pick_metric(ThresholdMetric::ErrorRate);
        d.above = "5".into();
        assert_eq!(d.parse().unwrap_err().0, "condition.above");
        d.above = "0.0.5".into();
        assert_eq!(d.parse().unwrap_err().0, "condition.above");
        d.above = "0.05".into();
        d.hold = "2.5".into();
        assert_eq!(d.parse().unwrap_err().0, "for_minutes");
        d.hold = "0".into();
        // A hidden field does not block saving: a queue size has no window.
        d.window = "0".into();
        d.pick_metric(ThresholdMetric::QueueSize);
        assert!(d.parse().is_ok());
        d.name = " ".into();
        assert_eq!(d.parse().unwrap_err().0, "name");
    }

    #[test]
    fn a_rule_edited_round_trips() {
        let rule = AlertRule {
            id: "r".into(),
            name: "p90".into(),
            workspace: "w".into(),
            app: Some("flux-studio".into()),
            condition: Condition::Threshold {
                metric: ThresholdMetric::P90Latency,
                above: 2.5,
                window_minutes: 30,
                min_requests: 10,
                failure: None,
            },
            for_minutes: 5,
            source: super::super::RuleSource::Ui,
        };
        let back = RuleDraft::of(&rule).parse().unwrap();
        assert_eq!(back.condition, rule.condition);
        assert_eq!(back.app, rule.app);
        for condition in [
            Condition::Sla {
                endpoint: "fal-ai/flux/dev".into(),
            },
            Condition::LowCredits {
                below: Some(25.5),
                runway_days: None,
            },
        ] {
            let rule = AlertRule {
                condition,
                app: None,
                ..rule.clone()
            };
            let back = RuleDraft::of(&rule).parse().unwrap();
            assert_eq!(back.condition, rule.condition);
            assert_eq!(back.app, None);
        }
    }

    #[test]
    fn sla_and_credit_rules_say_what_is_missing() {
        let mut d = RuleDraft {
            name: "flux".into(),
            app: "flux-studio".into(),
            kind: RuleKind::Sla,
            endpoint: "flux".into(),
            ..RuleDraft::default()
        };
        assert_eq!(d.parse().unwrap_err().0, "condition.endpoint");
        d.endpoint = "fal-ai/flux/dev".into();
        assert_eq!(d.parse().unwrap().app, None, "no app for a model SLA");
        d.kind = RuleKind::LowCredits;
        d.credits_below = String::new();
        d.runway_days = String::new();
        assert_eq!(d.parse().unwrap_err().0, "condition.below");
        d.runway_days = "400".into();
        assert_eq!(d.parse().unwrap_err().0, "condition.runway_days");
        d.runway_days = "14".into();
        assert!(d.parse().is_ok());
    }
}
