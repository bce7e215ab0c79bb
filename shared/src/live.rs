//! Live state of a workspace's apps, derived from fal's Prometheus metrics.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One scrape of fal's metrics, grouped per application.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveSnapshot {
    /// When fal produced these numbers (fal caches metrics for 10 s).
    pub as_of: DateTime<Utc>,
    /// One entry per application, sorted by name.
    pub apps: Vec<AppLive>,
}

/// Runner state as fal's `fal_app_runners{state=...}` label reports it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunnerState {
    /// Processing requests.
    Running,
    /// Warm, waiting for work.
    Idle,
    /// Cold start in progress.
    Pending,
}

impl RunnerState {
    /// All states in display order.
    pub const ALL: [RunnerState; 3] = [Self::Running, Self::Idle, Self::Pending];

    /// The label value fal uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Idle => "idle",
            Self::Pending => "pending",
        }
    }
}

/// Runners of one machine type in one state.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunnerCount {
    /// Display name such as `NVIDIA H100`.
    pub machine_type: String,
    /// The runners' state.
    pub state: RunnerState,
    /// Number of runners.
    pub count: u32,
}

/// One cumulative latency bucket: `count` requests finished within `le_seconds`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyBucket {
    /// Upper bound in seconds; `None` is `+Inf`.
    pub le_seconds: Option<f64>,
    /// Requests completed in the last minute with latency ≤ the bound.
    pub count: u64,
}

/// The live numbers of one application (`<owner>/<name>`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppLive {
    /// `<owner>/<name>`.
    pub application: String,
    /// Runner counts by machine type and state.
    pub runners: Vec<RunnerCount>,
    /// Requests waiting in the queue.
    pub queue_size: u64,
    /// Requests being processed now.
    pub concurrent_requests: u64,
    /// Requests received in the last minute.
    pub received_per_min: u64,
    /// Requests completed in the last minute, by HTTP status: `[status, count]` pairs.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Vec<u64>>))]
    pub completed_per_min: Vec<(u16, u64)>,
    /// Cumulative latency buckets of the last minute, ending with `+Inf`.
    pub latency: Vec<LatencyBucket>,
}

impl AppLive {
    /// Total runners in `state` across machine types.
    pub fn runners_in(&self, state: RunnerState) -> u32 {
        self.runners
            .iter()
            .filter(|r| r.state == state)
            .map(|r| r.count)
            .sum()
    }
}

/// A stored sample of one app's live numbers.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveSample {
    /// When it was sampled.
    pub t: DateTime<Utc>,
    /// `<owner>/<name>`.
    pub application: String,
    /// Running runners.
    pub running: u32,
    /// Idle runners.
    pub idle: u32,
    /// Pending runners.
    pub pending: u32,
    /// Queue size.
    pub queue_size: u64,
    /// Concurrent requests.
    pub concurrent_requests: u64,
    /// Requests received in the minute before the sample.
    pub received_per_min: u64,
}

/// Body of `GET /api/ws/{ws}/live/history`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveHistory {
    /// Samples, oldest first.
    pub samples: Vec<LiveSample>,
}

impl AppLive {
    /// Estimates the `q` quantile (0–1) of last minute's latency from the cumulative `le`
    /// buckets, interpolating linearly inside the bucket that holds it (as Prometheus's
    /// `histogram_quantile` does). `None` without completed requests; a quantile in the
    /// `+Inf` bucket reports the largest finite bound.
    pub fn latency_quantile(&self, q: f64) -> Option<f64> {
        let total = self.latency.iter().find(|b| b.le_seconds.is_none())?.count;
        if total == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = q * total as f64;
        let (mut lower_bound, mut lower_count) = (0.0, 0u64);
        for b in &self.latency {
            let Some(upper) = b.le_seconds else {
                return Some(lower_bound);
            };
            if b.count as f64 >= rank {
                let in_bucket = (b.count - lower_count) as f64;
                if in_bucket <= 0.0 {
                    return Some(upper);
                }
                return Some(
                    lower_bound + (upper - lower_bound) * (rank - lower_count as f64) / in_bucket,
                );
            }
            lower_bound = upper;
            lower_count = b.count;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(buckets: &[(Option<f64>, u64)]) -> AppLive {
        AppLive {
            application: "a/b".into(),
            runners: vec![],
            queue_size: 0,
            concurrent_requests: 0,
            received_per_min: 0,
            completed_per_min: vec![],
            latency: buckets
                .iter()
                .map(|(le, count)| LatencyBucket {
                    le_seconds: *le,
                    count: *count,
                })
                .collect(),
        }
    }

    #[test]
    fn quantiles_interpolate_within_buckets() {
        let a = app(&[
            (Some(1.0), 5),
            (Some(5.0), 15),
            (Some(10.0), 19),
            (None, 24),
        ]);
        // Rank 12 of 24 falls in (1, 5]: 1 + 4 × (12 − 5) / 10 = 3.8.
        assert!((a.latency_quantile(0.5).unwrap() - 3.8).abs() < 1e-9);
        assert!((a.latency_quantile(0.1).unwrap() - 0.48).abs() < 1e-9);
        assert_eq!(
            a.latency_quantile(0.99),
            Some(10.0),
            "beyond the last finite bound"
        );
        assert_eq!(
            app(&[(Some(1.0), 0), (None, 0)]).latency_quantile(0.5),
            None
        );
    }
}
