//! Model endpoints a team calls (`fal-ai/flux/dev`: fal's own model APIs, not the apps it
//! deploys), watched per workspace with SLA objectives, and their analytics (fal's models
//! analytics reports the team's own calls to them).
//!
//! fal has no listing of "endpoints I called", so falscope keeps the watched list. An SLA is
//! judged over its own period ending now: p90 execution and p90 prepare (queue) seconds at or
//! below a target, and a success share (requests not answered 5xx: a 4xx is the caller's
//! error, not the provider's) at or above one, whose error budget is the 5xx answers the
//! target allows in the period.

use crate::analytics::{AnalyticsReport, AnalyticsSummary};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How many model endpoints a workspace may watch: what one fal analytics call takes.
pub const MAX_WATCHED: usize = crate::apps::MAX_ENDPOINTS;

/// An endpoint's SLA objectives; an absent one is not judged.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaObjectives {
    /// p90 execution seconds at most this.
    #[serde(default)]
    pub p90_execution_s: Option<f64>,
    /// p90 prepare (queue) seconds at most this.
    #[serde(default)]
    pub p90_prepare_s: Option<f64>,
    /// Share of requests not answered 5xx at least this (0.99 = 99%).
    #[serde(default)]
    pub success: Option<f64>,
    /// Hours the objectives are judged over, ending now (1–720).
    #[serde(default = "one_hour")]
    pub period_hours: u32,
}

fn one_hour() -> u32 {
    1
}

impl Default for SlaObjectives {
    /// What a team would start from for an image model: p90 execution ≤ 8 s, p90 prepare ≤
    /// 2 s, 99% success, over the last hour.
    fn default() -> Self {
        Self {
            p90_execution_s: Some(8.0),
            p90_prepare_s: Some(2.0),
            success: Some(0.99),
            period_hours: 1,
        }
    }
}

impl SlaObjectives {
    /// Checks the numbers: `(field, what to fix)`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for (field, v) in [
            ("sla.p90_execution_s", self.p90_execution_s),
            ("sla.p90_prepare_s", self.p90_prepare_s),
        ] {
            if v.is_some_and(|v| !v.is_finite() || v <= 0.0 || v > 86_400.0) {
                return Err((field, "seconds above 0 and at most 86400".into()));
            }
        }
        if self
            .success
            .is_some_and(|v| !v.is_finite() || v <= 0.0 || v >= 1.0)
        {
            return Err((
                "sla.success",
                "a share above 0 and below 1 (0.99 = 99%)".into(),
            ));
        }
        if !(1..=720).contains(&self.period_hours) {
            return Err(("sla.period_hours", "1 to 720 hours".into()));
        }
        Ok(())
    }

    /// The objectives set, with their targets.
    pub fn objectives(&self) -> Vec<(Objective, f64)> {
        [
            (Objective::P90Execution, self.p90_execution_s),
            (Objective::P90Prepare, self.p90_prepare_s),
            (Objective::Success, self.success),
        ]
        .into_iter()
        .filter_map(|(o, t)| Some((o, t?)))
        .collect()
    }
}

/// A model endpoint a workspace watches.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchedModel {
    /// fal's endpoint id, `owner/name[/route…]` (`fal-ai/flux/dev`).
    pub endpoint: String,
    /// Its SLA.
    #[serde(default)]
    pub sla: SlaObjectives,
}

/// Body of `GET /api/ws/{ws}/models`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Watched {
    /// The watched endpoints, in the order they were added.
    pub models: Vec<WatchedModel>,
    /// Endpoints worth offering (demo mode: the simulator's models).
    #[serde(default)]
    pub suggestions: Vec<String>,
}

/// Checks a model endpoint id the way fal writes them: 2 to 6 `/`-separated segments of
/// letters, digits, `.`, `_` and `-` (not `.` or `..`), at most 200 characters.
pub fn check_endpoint(id: &str) -> Result<(), String> {
    let segments: Vec<&str> = id.split('/').collect();
    let segment_ok = |s: &&str| {
        !s.is_empty()
            && *s != "."
            && *s != ".."
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    if id.len() <= 200 && (2..=6).contains(&segments.len()) && segments.iter().all(segment_ok) {
        Ok(())
    } else {
        Err(format!(
            "{id:?} is not a fal endpoint id: write it as owner/name[/route], e.g. fal-ai/flux/dev"
        ))
    }
}

/// One SLA objective.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// p90 execution seconds ≤ target.
    P90Execution,
    /// p90 prepare (queue) seconds ≤ target.
    P90Prepare,
    /// Share not answered 5xx ≥ target.
    Success,
}

impl Objective {
    /// Wire name (and the `objective` label on `/metrics`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::P90Execution => "p90_execution",
            Self::P90Prepare => "p90_prepare",
            Self::Success => "success",
        }
    }

    /// What a person reads, with `target`.
    pub fn describe(self, target: f64) -> String {
        match self {
            Self::P90Execution => format!("p90 execution ≤ {target} s"),
            Self::P90Prepare => format!("p90 prepare ≤ {target} s"),
            Self::Success => format!("success ≥ {}%", target * 100.0),
        }
    }

    /// Its value in an endpoint's summary.
    pub fn actual(self, s: &AnalyticsSummary) -> Option<f64> {
        match self {
            Self::P90Execution => s.execution.p90,
            Self::P90Prepare => s.prepare.p90,
            Self::Success => (s.requests > 0).then_some(1.0 - s.error_rate),
        }
    }

    /// Whether `actual` meets `target`.
    pub fn met(self, actual: f64, target: f64) -> bool {
        match self {
            Self::P90Execution | Self::P90Prepare => actual <= target,
            Self::Success => actual >= target,
        }
    }
}

/// One objective over the SLA's period.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveState {
    /// Which.
    pub objective: Objective,
    /// Its target.
    pub target: f64,
    /// What the period measured (`None`: no requests, not judged).
    pub actual: Option<f64>,
    /// Met or missed (`None`: not judged).
    pub met: Option<bool>,
    /// Success only: share of the period's error budget (the 5xx answers the target allows)
    /// still unspent; below 0 when overspent.
    pub budget_left: Option<f64>,
}

/// An endpoint's SLA over its period ending now.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaState {
    /// The endpoint.
    pub endpoint: String,
    /// The period judged.
    pub from: DateTime<Utc>,
    /// Its end (now).
    pub to: DateTime<Utc>,
    /// Requests in the period.
    pub requests: u64,
    /// Each objective set.
    pub objectives: Vec<ObjectiveState>,
    /// Every judged objective met (`None`: nothing judged: no requests, no objectives, or
    /// fal refused the endpoint).
    pub met: Option<bool>,
    /// Why fal gave nothing for it (it answers 403/404 for the endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

impl SlaState {
    /// Judges `sla` on `summary` (the endpoint's summary over `[from, to)`; `None`: no
    /// requests).
    pub fn judge(
        endpoint: &str,
        sla: &SlaObjectives,
        summary: Option<&AnalyticsSummary>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
    ) -> Self {
        let objectives: Vec<ObjectiveState> = sla
            .objectives()
            .into_iter()
            .map(|(objective, target)| {
                let actual = summary.and_then(|s| objective.actual(s));
                let budget_left = match (objective, summary) {
                    (Objective::Success, Some(s)) if s.requests > 0 => {
                        let allowed = (1.0 - target) * s.requests as f64;
                        Some(1.0 - s.server_errors as f64 / allowed.max(f64::MIN_POSITIVE))
                    }
                    _ => None,
                };
                ObjectiveState {
                    objective,
                    target,
                    actual,
                    met: actual.map(|a| objective.met(a, target)),
                    budget_left,
                }
            })
            .collect();
        let judged: Vec<bool> = objectives.iter().filter_map(|o| o.met).collect();
        Self {
            endpoint: endpoint.to_owned(),
            from,
            to,
            requests: summary.map_or(0, |s| s.requests),
            met: (!judged.is_empty()).then(|| judged.iter().all(|m| *m)),
            objectives,
            refused: None,
        }
    }

    /// The objectives missed, as a sentence part (`p90 execution 12.1 s > 8 s`).
    pub fn misses(&self) -> Vec<String> {
        self.objectives
            .iter()
            .filter(|o| o.met == Some(false))
            .filter_map(|o| {
                let a = o.actual?;
                Some(match o.objective {
                    Objective::Success => {
                        format!("success {:.2}% < {}%", a * 100.0, o.target * 100.0)
                    }
                    Objective::P90Execution => {
                        format!("p90 execution {a:.2} s > {} s", o.target)
                    }
                    Objective::P90Prepare => format!("p90 prepare {a:.2} s > {} s", o.target),
                })
            })
            .collect()
    }
}

/// Body of `GET /api/ws/{ws}/models/report`: the watched endpoints' analytics over the range
/// asked for, and each one's SLA over its own period.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelsReport {
    /// The watched endpoints and their SLAs.
    pub watched: Vec<WatchedModel>,
    /// Their analytics (empty when none are watched).
    pub analytics: AnalyticsReport,
    /// Each watched endpoint's SLA state, in `watched`'s order.
    pub sla: Vec<SlaState>,
    /// Watched endpoints fal refused (`endpoint: why`), left out of the analytics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_ids_are_checked_as_fal_writes_them() {
        for ok in [
            "fal-ai/flux/dev",
            "fal-ai/flux-pro/v1.1",
            "fal-ai/kling-video/v2/master",
            "acme/x",
        ] {
            assert_eq!(check_endpoint(ok), Ok(()), "{ok}");
        }
        for bad in [
            "flux",
            "fal-ai/",
            "/flux",
            "fal-ai/../x",
            "fal ai/flux",
            "a/b/c/d/e/f/g",
            "fal-ai/flux?x=1",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }

    fn summary(requests: u64, server_errors: u64, p90: f64) -> AnalyticsSummary {
        AnalyticsSummary {
            endpoint: "fal-ai/flux/dev".into(),
            requests,
            success: requests - server_errors,
            user_errors: 0,
            server_errors,
            error_rate: server_errors as f64 / requests as f64,
            failures: Default::default(),
            prepare: crate::analytics::Percentiles {
                p50: Some(0.2),
                p75: Some(0.4),
                p90: Some(0.5),
            },
            execution: crate::analytics::Percentiles {
                p50: Some(p90 / 2.0),
                p75: Some(p90 / 1.5),
                p90: Some(p90),
            },
            cold_starts: 0,
            cold_start_p50: None,
            billable_seconds: None,
        }
    }

    #[test]
    fn an_sla_is_met_missed_or_not_judged_and_its_error_budget_is_the_5xx_it_allows() {
        let sla = SlaObjectives::default();
        let t = (DateTime::<Utc>::default(), DateTime::<Utc>::default());
        // 1,000 requests at 99%: 10 5xx allowed; 4 spent → 60% left.
        let ok = SlaState::judge("e", &sla, Some(&summary(1000, 4, 5.0)), t);
        assert_eq!(ok.met, Some(true));
        let success = ok
            .objectives
            .iter()
            .find(|o| o.objective == Objective::Success)
            .unwrap();
        assert!((success.budget_left.unwrap() - 0.6).abs() < 1e-9);
        // Slow: p90 execution 12 s against 8 s.
        let slow = SlaState::judge("e", &sla, Some(&summary(1000, 4, 12.0)), t);
        assert_eq!(slow.met, Some(false));
        assert_eq!(slow.misses(), ["p90 execution 12.00 s > 8 s"]);
        // 15 5xx: the budget is overspent by half.
        let failing = SlaState::judge("e", &sla, Some(&summary(1000, 15, 5.0)), t);
        let success = failing
            .objectives
            .iter()
            .find(|o| o.objective == Objective::Success)
            .unwrap();
        assert_eq!(success.met, Some(false));
        assert!((success.budget_left.unwrap() + 0.5).abs() < 1e-9);
        // No requests in the period: nothing judged, nothing missed.
        let quiet = SlaState::judge("e", &sla, None, t);
        assert_eq!(quiet.met, None);
        assert!(quiet.misses().is_empty());
    }

    #[test]
    fn objectives_are_checked() {
        let mut sla = SlaObjectives::default();
        assert!(sla.check().is_ok());
        sla.success = Some(99.0);
        assert_eq!(sla.check().unwrap_err().0, "sla.success");
        sla.success = None;
        sla.period_hours = 0;
        assert_eq!(sla.check().unwrap_err().0, "sla.period_hours");
    }
}
