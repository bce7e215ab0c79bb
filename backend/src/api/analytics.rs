//! Request analytics per endpoint: counts by outcome, error rate, queue vs execution latency.

use super::params::Params;
use super::respond::fetched;
use crate::cache::{key, Cached};
use crate::error::AppError;
use crate::state::AppState;
use crate::upstream::convert::{
    analytics_numbers, billable_seconds, cold_starts, instant, ANALYTICS_METRICS,
};
use crate::upstream::models::{AnalyticsRecord, Bucket};
use crate::upstream::query::{AnalyticsKind, AnalyticsQuery, Timeframe as FalTimeframe, Window};
use crate::upstream::{FalApi, UpstreamError};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use shared::analytics::{AnalyticsPoint, AnalyticsReport, AnalyticsSummary, Timeframe};
use std::sync::Arc;

/// Analytics move slowly; a minute keeps fal calls rare without hiding news for long.
pub const ANALYTICS_TTL: std::time::Duration = std::time::Duration::from_secs(60);
/// Pages fetched per report at most (1,000 buckets each).
const MAX_PAGES: usize = 20;

/// Validated parameters.
#[derive(Debug, Clone)]
pub struct AnalyticsParams {
    endpoints: Vec<String>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    timeframe: Option<Timeframe>,
    tz: Option<String>,
}

impl AnalyticsParams {
    /// Parses the query string.
    pub fn parse(p: &Params, now: chrono::DateTime<Utc>) -> Result<Self, AppError> {
        let (from, to) = p.range(now, Duration::hours(24))?;
        Ok(Self {
            endpoints: p.required_list("endpoints", 50)?,
            from,
            to,
            timeframe: p.timeframe()?,
            tz: p.tz()?,
        })
    }
}

pub const ALLOWED: &[&str] = &["endpoints", "from", "to", "timeframe", "tz"];

/// `GET /api/ws/{ws}/analytics`.
pub async fn get_analytics(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let p = Params::parse(raw.as_deref(), ALLOWED)?;
    Ok(fetched(&cached_report(&state, &ws, &p).await?))
}

/// The report for the query `p`, through the cache (the JSON view and the CSV export share it).
pub async fn cached_report(
    state: &AppState,
    ws: &str,
    p: &Params,
) -> Result<Cached<AnalyticsReport>, AppError> {
    let params = AnalyticsParams::parse(p, state.now())?;
    let w = state.workspace(ws)?;
    let fal: Arc<dyn FalApi> = w.fal.clone();
    Ok(state
        .cache
        .get_or_fetch(
            key(&w.id, "analytics", &p.pairs(), None),
            |_| ANALYTICS_TTL,
            move || report(fal, params),
        )
        .await?)
}

/// Fetches every page and shapes the report.
pub async fn report(
    fal: Arc<dyn FalApi>,
    p: AnalyticsParams,
) -> Result<AnalyticsReport, UpstreamError> {
    let timeframe = p
        .timeframe
        .unwrap_or_else(|| Timeframe::auto((p.to - p.from).num_seconds()));
    let mut q = AnalyticsQuery {
        endpoint_ids: p.endpoints.clone(),
        metrics: ANALYTICS_METRICS.iter().map(|m| (*m).to_owned()).collect(),
        time_series: true,
        summary: true,
        window: Window {
            start: Some(p.from),
            end: Some(p.to),
            timezone: p.tz.clone(),
            timeframe: Some(fal_timeframe(timeframe)),
            bound_to_timeframe: None,
        },
        limit: Some(1000),
        cursor: None,
    };
    let mut buckets: Vec<Bucket<AnalyticsRecord>> = Vec::new();
    let mut summary_records = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = fal.analytics(AnalyticsKind::Serverless, &q).await?;
        buckets.extend(page.time_series.unwrap_or_default());
        if summary_records.is_empty() {
            summary_records = page.summary.unwrap_or_default();
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    let series = buckets
        .iter()
        .flat_map(|b| {
            let t = instant(&b.bucket);
            b.results.iter().map(move |r| {
                let (requests, success, user_errors, server_errors, prepare, execution) =
                    analytics_numbers(r);
                AnalyticsPoint {
                    t,
                    endpoint: r.endpoint_id.clone(),
                    requests,
                    success,
                    user_errors,
                    server_errors,
                    prepare,
                    execution,
                }
            })
        })
        .collect();
    let summary = summary_records
        .iter()
        .map(|r| {
            let (requests, success, user_errors, server_errors, prepare, execution) =
                analytics_numbers(r);
            AnalyticsSummary {
                endpoint: r.endpoint_id.clone(),
                requests,
                success,
                user_errors,
                server_errors,
                error_rate: if requests == 0 {
                    0.0
                } else {
                    server_errors as f64 / requests as f64
                },
                prepare,
                execution,
                cold_starts: cold_starts(r).0,
                cold_start_p50: cold_starts(r).1,
                billable_seconds: billable_seconds(r),
            }
        })
        .collect();
    Ok(AnalyticsReport {
        from: p.from,
        to: p.to,
        timeframe,
        series,
        summary,
    })
}

/// The dashboard's timeframe as fal's.
pub fn fal_timeframe(t: Timeframe) -> FalTimeframe {
    match t {
        Timeframe::Minute => FalTimeframe::Minute,
        Timeframe::Hour => FalTimeframe::Hour,
        Timeframe::Day => FalTimeframe::Day,
        Timeframe::Week => FalTimeframe::Week,
        Timeframe::Month => FalTimeframe::Month,
    }
}
