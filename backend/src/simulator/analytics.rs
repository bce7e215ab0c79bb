//! `GET /v1/serverless/analytics` and `GET /v1/models/analytics`: time-bucketed request metrics
//! per route-level endpoint, only the requested metrics present (REFERENCE §6).

use super::errors::FalError;
use super::paging::{page_of, PageSpec};
use super::query::Query;
use super::timeframe::{bucket_label, Range};
use super::world::{Outcome, SimRequest, World};
use super::Sim;
use crate::upstream::models::{Aggregates, AnalyticsRecord, Bucket};
use axum::extract::{RawQuery, State};
use axum::Json;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The 24 metric names `expand` accepts.
pub const METRICS: [&str; 24] = [
    "request_count",
    "success_count",
    "user_error_count",
    "error_count",
    "startup_error_count",
    "connection_error_count",
    "timeout_error_count",
    "runtime_error_count",
    "p50_prepare_duration",
    "p75_prepare_duration",
    "p90_prepare_duration",
    "p95_prepare_duration",
    "p99_prepare_duration",
    "p25_duration",
    "p50_duration",
    "p75_duration",
    "p90_duration",
    "p95_duration",
    "p99_duration",
    "cold_boot_count",
    "p50_cold_boot_duration",
    "p75_cold_boot_duration",
    "p90_cold_boot_duration",
    "total_billable_duration",
];

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
        !matches!(e.as_str(), "time_series" | "summary") && !METRICS.contains(&e.as_str())
    }) {
        return Err(FalError::invalid(format!("unknown expand value {bad:?}")));
    }
    let want_series = expand.iter().any(|e| e == "time_series");
    let want_summary = expand.iter().any(|e| e == "summary");
    let metrics: Vec<&str> = METRICS
        .iter()
        .copied()
        .filter(|m| expand.iter().any(|e| e == m))
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
    Ok(Aggregates {
        time_series,
        summary,
        has_more: next_cursor.is_some(),
        next_cursor,
    })
}

/// One record per endpoint with requests, sorted by endpoint id.
fn records(requests: &[&SimRequest], metrics: &[&str]) -> Vec<AnalyticsRecord> {
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
                .filter_map(|m| metric(m, &rs).map(|v| ((*m).to_owned(), v)))
                .collect(),
        })
        .collect()
}

/// One metric over a group; `None` (key omitted) for percentiles without data.
pub fn metric(name: &str, rs: &[&SimRequest]) -> Option<Value> {
    let count = |f: &dyn Fn(&SimRequest) -> bool| Some(json!(rs.iter().filter(|r| f(r)).count()));
    let pct = |p: f64, values: Vec<f64>| {
        percentile(values, p).map(|v| json!((v * 1000.0).round() / 1000.0))
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
    match name {
        "request_count" => Some(json!(rs.len())),
        "success_count" => count(&|r| r.outcome == Outcome::Success),
        "user_error_count" => count(&|r| r.outcome == Outcome::UserError),
        "error_count" => count(&|r| r.outcome.is_server_error()),
        "startup_error_count" => count(&|r| r.outcome == Outcome::StartupError),
        "connection_error_count" => count(&|r| r.outcome == Outcome::ConnectionError),
        "timeout_error_count" => count(&|r| r.outcome == Outcome::TimeoutError),
        "runtime_error_count" => count(&|r| r.outcome == Outcome::RuntimeError),
        "cold_boot_count" => count(&|r| r.cold_boot.is_some_and(|c| c > 1.0)),
        "total_billable_duration" => {
            let total: f64 = rs.iter().map(|r| r.billable_units()).sum();
            Some(json!((total * 1000.0).round() / 1000.0))
        }
        _ => {
            let (p, family) = name.strip_prefix('p')?.split_once('_')?;
            let p: f64 = p.parse().ok()?;
            match family {
                "prepare_duration" => pct(p, prepare()),
                "duration" => pct(p, ran()),
                "cold_boot_duration" => pct(p, cold()),
                _ => None,
            }
        }
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
