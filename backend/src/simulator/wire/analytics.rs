//! §6.1: analytics records and the metric names `expand` accepts.

use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// §6.1: an analytics record: the endpoint plus only the requested metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyticsRecord {
    /// Route-level endpoint id.
    pub endpoint_id: String,
    /// The requested metrics that have data (a percentile without data is left out).
    #[serde(flatten)]
    pub metrics: BTreeMap<Metric, MetricValue>,
}

/// A metric's value: counts are integers, durations seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum MetricValue {
    /// An integer ≥ 0.
    Count(u64),
    /// Seconds.
    Seconds(f64),
}

/// §6.1: the 24 metric names `expand` accepts; each variant is the metric [`Metric::name`]
/// spells (`P50PrepareDuration` is `p50_prepare_duration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    RequestCount,
    SuccessCount,
    UserErrorCount,
    ErrorCount,
    StartupErrorCount,
    ConnectionErrorCount,
    TimeoutErrorCount,
    RuntimeErrorCount,
    P50PrepareDuration,
    P75PrepareDuration,
    P90PrepareDuration,
    P95PrepareDuration,
    P99PrepareDuration,
    P25Duration,
    P50Duration,
    P75Duration,
    P90Duration,
    P95Duration,
    P99Duration,
    ColdBootCount,
    P50ColdBootDuration,
    P75ColdBootDuration,
    P90ColdBootDuration,
    TotalBillableDuration,
}

impl Metric {
    /// Every metric, in REFERENCE's order.
    pub const ALL: [Metric; 24] = [
        Self::RequestCount,
        Self::SuccessCount,
        Self::UserErrorCount,
        Self::ErrorCount,
        Self::StartupErrorCount,
        Self::ConnectionErrorCount,
        Self::TimeoutErrorCount,
        Self::RuntimeErrorCount,
        Self::P50PrepareDuration,
        Self::P75PrepareDuration,
        Self::P90PrepareDuration,
        Self::P95PrepareDuration,
        Self::P99PrepareDuration,
        Self::P25Duration,
        Self::P50Duration,
        Self::P75Duration,
        Self::P90Duration,
        Self::P95Duration,
        Self::P99Duration,
        Self::ColdBootCount,
        Self::P50ColdBootDuration,
        Self::P75ColdBootDuration,
        Self::P90ColdBootDuration,
        Self::TotalBillableDuration,
    ];

    /// fal's name, as in `expand` and as the record key.
    pub fn name(self) -> &'static str {
        match self {
            Self::RequestCount => "request_count",
            Self::SuccessCount => "success_count",
            Self::UserErrorCount => "user_error_count",
            Self::ErrorCount => "error_count",
            Self::StartupErrorCount => "startup_error_count",
            Self::ConnectionErrorCount => "connection_error_count",
            Self::TimeoutErrorCount => "timeout_error_count",
            Self::RuntimeErrorCount => "runtime_error_count",
            Self::P50PrepareDuration => "p50_prepare_duration",
            Self::P75PrepareDuration => "p75_prepare_duration",
            Self::P90PrepareDuration => "p90_prepare_duration",
            Self::P95PrepareDuration => "p95_prepare_duration",
            Self::P99PrepareDuration => "p99_prepare_duration",
            Self::P25Duration => "p25_duration",
            Self::P50Duration => "p50_duration",
            Self::P75Duration => "p75_duration",
            Self::P90Duration => "p90_duration",
            Self::P95Duration => "p95_duration",
            Self::P99Duration => "p99_duration",
            Self::ColdBootCount => "cold_boot_count",
            Self::P50ColdBootDuration => "p50_cold_boot_duration",
            Self::P75ColdBootDuration => "p75_cold_boot_duration",
            Self::P90ColdBootDuration => "p90_cold_boot_duration",
            Self::TotalBillableDuration => "total_billable_duration",
        }
    }

    /// The metric called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metric_names_round_trip_and_serialise_as_record_keys() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
        let names: std::collections::BTreeSet<_> = Metric::ALL.map(Metric::name).into();
        assert_eq!(names.len(), 24);
        let r = AnalyticsRecord {
            endpoint_id: "o/a".into(),
            metrics: BTreeMap::from([
                (Metric::RequestCount, MetricValue::Count(3)),
                (Metric::P50Duration, MetricValue::Seconds(2.5)),
            ]),
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"endpoint_id": "o/a", "request_count": 3, "p50_duration": 2.5})
        );
    }
}
