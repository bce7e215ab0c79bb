//! `GET /v1/serverless/analytics` and `GET /v1/models/analytics`: time-bucketed request metrics
//! per route-level endpoint, only the requested metrics present (REFERENCE §6).

use super::errors::FalError;
use super::paging::{page_of, PageSpec};
use super::query::Query;
use super::timeframe::{bucket_label, Range};
use super::wire::{Aggregates, AnalyticsRecord, Bucket, Metric, MetricValue};
use super::world::{Outcome, SimRequest, World};
use super::Sim;
use axum::extract::{RawQuery, State};
use axum::Json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which analytics operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Endpoints the account owns, all callers' traffic.
    Serverless,
    /// Model-API endpoints, the account's own calls.
    Models,
}

/// `GET /v1/serverless/analytics`.
pub async fn serverless(
    State(sim): State<Arc<Sim>>,
    RawQuery(q): RawQuery,
) -> Result<Json<Aggregates<AnalyticsRecord>>, FalError> {
    analytics(&sim, Kind::Serverless, q.as_deref()).map(Json)
}

/// `GET /v1/models/analytics`.
pub async fn models(
    State(sim): State<Arc<Sim>>,
    RawQuery(q): RawQuery,
) -> Result<Json<Aggregates<AnalyticsRecord>>, FalError> {
    analytics(&sim, Kind::Models, q.as_deref()).map(Json)
}

/// Resolves requested ids to `(source, route-level endpoint ids)` pairs, enforcing ownership:
/// another account's endpoint is 403, an unknown id 404.
pub fn resolve_endpoints(
    world: &World,
    ids: &[String],
    kind: Kind,
) -> Result<Vec<(usize, Vec<String>)>, FalError> {
    let mut out: Vec<(usize, Vec<String>)> = Vec::new();
    for id in ids {
        let hit = match kind {
            Kind::Serverless => (0..world.apps.len()).find_map(|i| {
                let routes = world.endpoints_of(i);
                if *id == world.app_id(i) {
                    Some((i, routes))
                } else {
                    routes.contains(id).then(|| (i, vec![id.clone()]))
                }
            }),
            Kind::Models => world
                .models
                .iter()
                .position(|m| m.endpoint_id == id)
                .map(|m| (world.model_source(m), vec![id.clone()])),
        };
        let (source, routes) = match hit {
            Some(h) => h,
            None if kind == Kind::Serverless
                && world.models.iter().any(|m| m.endpoint_id == id) =>
            {
                return Err(FalError::Forbidden)
            }
            None => return Err(FalError::NotFound),
        };
        match out.iter_mut().find(|(s, _)| *s == source) {
            Some((_, rs)) => rs.extend(
                routes
                    .into_iter()
                    .filter(|r| !rs.contains(r))
                    .collect::<Vec<_>>(),
            ),
            None => out.push((source, routes)),
        }
    }
    Ok(out)
}

fn analytics(
    sim: &Sim,
    kind: Kind,
    raw: Option<&str>,
) -> Result<Aggregates<AnalyticsRecord>, FalError> {
    let q = Query::parse(raw)?;
    let ids = q.ids("endpoint_id", true)?;
    let mut expand = q.list("expand");
    if expand.is_empty() {
        expand = vec!["time_series".into(), "request_count".into()];
    }
    if let Some(bad) = expand.iter().find(|e| {
        !matches!(e.as_str(), "time_series" | "summary") && Metric::from_name(e).is_none()
    }) {
        return Err(FalError::invalid(format!("unknown expand value {bad:?}")));
    }
    let want_series = expand.iter().any(|e| e == "time_series");
    let want_summary = expand.iter().any(|e| e == "summary");
    let metrics: Vec<Metric> = Metric::ALL
        .into_iter()
        .filter(|m| expand.iter().any(|e| e == m.name()))
        .collect();
    if !want_series && !want_summary {
        return Err(FalError::invalid("expand needs time_series or summary"));
    }
    if metrics.is_empty() {
        return Err(FalError::invalid("expand needs at least one metric"));
    }
    let (page, pinned) = q.page()?;
    let now = pinned.unwrap_or_else(|| sim.now_ms());
    let limit = q.limit(PageSpec::DEFAULT_LIMIT, sim.max_limits.analytics)?;
    let range = Range::from_query(&q, now)?;
    let sources = resolve_endpoints(&sim.world, &ids, kind)?;

    // Every finished request of the range, per route-level endpoint (slower where a latency
    // regression is switched on).
    let end = range.end.timestamp_millis().min(now);
    let regression = sim.faults.get().latency_regression;
    let mut requests: Vec<SimRequest> = Vec::new();
    for (source, routes) in &sources {
        requests.extend(
            sim.world
                .requests_between(
                    *source,
                    range.start.timestamp_millis(),
                    end.max(range.start.timestamp_millis() + 1),
                )
                .into_iter()
                .filter(|r| r.ended_at <= now && routes.contains(&r.endpoint_id))
                .map(|r| match &regression {
                    Some(slow) => slow.apply(r),
                    None => r,
                }),
        );
    }
    let series: Vec<Bucket<AnalyticsRecord>> = range
        .buckets()
        .into_iter()
        .filter_map(|(label, from, to)| {
            let inside: Vec<&SimRequest> = requests
                .iter()
                .filter(|r| r.sent_at >= from && r.sent_at < to)
                .collect();
            let results = records(&inside, &metrics);
            (!results.is_empty()).then(|| Bucket {
                bucket: bucket_label(label),
                results,
            })
        })
        .collect();
    let summary = want_summary.then(|| records(&requests.iter().collect::<Vec<_>>(), &metrics));
    let spec = PageSpec { page, limit, now };
    let (time_series, next_cursor) = if want_series {
        let (items, next) = page_of(series, &spec);
        (Some(items), next)
    } else {
        (None, None)
    };
    Ok(Aggregates::new(time_series, summary, next_cursor))
}

/// One record per endpoint with requests, sorted by endpoint id.
fn records(requests: &[&SimRequest], metrics: &[Metric]) -> Vec<AnalyticsRecord> {
    let mut by_endpoint: BTreeMap<&str, Vec<&SimRequest>> = BTreeMap::new();
    for r in requests {
        by_endpoint
            .entry(r.endpoint_id.as_str())
            .or_default()
            .push(r);
    }
    by_endpoint
        .into_iter()
        .map(|(endpoint, rs)| AnalyticsRecord {
            endpoint_id: endpoint.to_owned(),
            metrics: metrics
                .iter()
                .filter_map(|m| metric(*m, &rs).map(|v| (*m, v)))
                .collect(),
        })
        .collect()
}

/// One metric over a group; `None` (key omitted) for percentiles without data.
pub fn metric(m: Metric, rs: &[&SimRequest]) -> Option<MetricValue> {
    let count = |f: &dyn Fn(&SimRequest) -> bool| {
        Some(MetricValue::Count(rs.iter().filter(|r| f(r)).count() as u64))
    };
    let pct = |p: f64, values: Vec<f64>| {
        percentile(values, p).map(|v| MetricValue::Seconds((v * 1000.0).round() / 1000.0))
    };
    let prepare = || rs.iter().map(|r| r.prepare).collect::<Vec<_>>();
    let ran = || {
        rs.iter()
            .filter(|r| r.runner_id.is_some())
            .map(|r| r.duration)
            .collect::<Vec<_>>()
    };
    let cold = || {
        rs.iter()
            .filter_map(|r| r.cold_boot)
            .filter(|c| *c > 1.0)
            .collect::<Vec<_>>()
    };
    match m {
        Metric::RequestCount => count(&|_| true),
        Metric::SuccessCount => count(&|r| r.outcome == Outcome::Success),
        Metric::UserErrorCount => count(&|r| r.outcome == Outcome::UserError),
        Metric::ErrorCount => count(&|r| r.outcome.is_server_error()),
        Metric::StartupErrorCount => count(&|r| r.outcome == Outcome::StartupError),
        Metric::ConnectionErrorCount => count(&|r| r.outcome == Outcome::ConnectionError),
        Metric::TimeoutErrorCount => count(&|r| r.outcome == Outcome::TimeoutError),
        Metric::RuntimeErrorCount => count(&|r| r.outcome == Outcome::RuntimeError),
        Metric::ColdBootCount => count(&|r| r.cold_boot.is_some_and(|c| c > 1.0)),
        Metric::TotalBillableDuration => {
            let total: f64 = rs.iter().map(|r| r.billable_units()).sum();
            Some(MetricValue::Seconds((total * 1000.0).round() / 1000.0))
        }
        Metric::P50PrepareDuration => pct(50.0, prepare()),
        Metric::P75PrepareDuration => pct(75.0, prepare()),
        Metric::P90PrepareDuration => pct(90.0, prepare()),
        Metric::P95PrepareDuration => pct(95.0, prepare()),
        Metric::P99PrepareDuration => pct(99.0, prepare()),
        Metric::P25Duration => pct(25.0, ran()),
        Metric::P50Duration => pct(50.0, ran()),
        Metric::P75Duration => pct(75.0, ran()),
        Metric::P90Duration => pct(90.0, ran()),
        Metric::P95Duration => pct(95.0, ran()),
        Metric::P99Duration => pct(99.0, ran()),
        Metric::P50ColdBootDuration => pct(50.0, cold()),
        Metric::P75ColdBootDuration => pct(75.0, cold()),
        Metric::P90ColdBootDuration => pct(90.0, cold()),
    }
}

/// Nearest-rank percentile.
pub fn percentile(mut values: Vec<f64>, p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil().max(1.0) as usize;
    values.get(rank.min(values.len()) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(v.clone(), 50.0), Some(5.0));
        assert_eq!(percentile(v.clone(), 90.0), Some(9.0));
        assert_eq!(percentile(v, 99.0), Some(10.0));
        assert_eq!(percentile(vec![], 50.0), None);
    }
}
