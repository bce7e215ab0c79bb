//! Request analytics per endpoint: counts by outcome, error rate, queue vs execution latency.

use super::{align_moving, iso, zone, Reports};
use crate::cache::{key, Cached};
use crate::error::AppError;
use crate::upstream::convert::{
    billable_seconds, cold_starts, instant, outcomes, ANALYTICS_METRICS,
};
use crate::upstream::models::AnalyticsRecord;
use crate::upstream::query::{self as fal_query, AnalyticsKind, Window};
use crate::upstream::{FalApi, UpstreamError};
use chrono::{DateTime, Duration, Utc};
use shared::analytics::{AnalyticsPoint, AnalyticsReport, AnalyticsSummary, Timeframe};
use shared::query::{resolve_range, AnalyticsQuery};
use std::sync::Arc;

/// Analytics move slowly; a minute keeps fal calls rare without hiding news for long.
const ANALYTICS_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// An analytics query resolved against the clock: what its cache key and its fal call are made
/// of.
#[derive(Debug, Clone)]
struct Resolved {
    endpoints: Vec<String>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    timeframe: Timeframe,
    tz: Option<String>,
    /// Only the endpoints asked for, not the routes fal adds to a bare app id.
    exact: bool,
    /// fal's serverless (apps) or models analytics.
    kind: AnalyticsKind,
}

impl Resolved {
    /// The cache key's operation.
    fn op(&self) -> &'static str {
        match (self.kind, self.exact) {
            (AnalyticsKind::Models, _) => "models-analytics",
            (AnalyticsKind::Serverless, true) => "analytics",
            (AnalyticsKind::Serverless, false) => "analytics+routes",
        }
    }

    fn key(&self, ws: &str) -> String {
        let op = self.op();
        let mut pairs = vec![
            ("endpoints", self.endpoints.join(",")),
            ("from", iso(self.from)),
            ("to", iso(self.to)),
            ("timeframe", self.timeframe.as_str().to_owned()),
        ];
        if let Some(tz) = &self.tz {
            pairs.push(("tz", tz.clone()));
        }
        key(ws, op, &pairs, None)
    }
}

impl Reports {
    /// The analytics report of exactly the endpoints `q` names (the JSON view and its CSV: a
    /// person picked them, so `acme/x` is not `acme/x/turbo` too).
    pub async fn analytics(
        &self,
        ws: &str,
        q: &AnalyticsQuery,
    ) -> Result<Cached<AnalyticsReport>, AppError> {
        self.analytics_of(ws, q, true, AnalyticsKind::Serverless)
            .await
    }

    /// The analytics of model endpoints `q` names (fal's models analytics: the team's own calls
    /// to fal's model APIs).
    pub async fn models_analytics(
        &self,
        ws: &str,
        q: &AnalyticsQuery,
    ) -> Result<Cached<AnalyticsReport>, AppError> {
        self.analytics_of(ws, q, true, AnalyticsKind::Models).await
    }

    /// The analytics report of `q`'s endpoints with the routes fal adds to a bare app id (the
    /// cost views and alert rules ask for whole apps; an app list without its routes, or one
    /// cut at fal's 50 ids, still counts every route).
    pub async fn analytics_with_routes(
        &self,
        ws: &str,
        q: &AnalyticsQuery,
    ) -> Result<Cached<AnalyticsReport>, AppError> {
        self.analytics_of(ws, q, false, AnalyticsKind::Serverless)
            .await
    }

    /// Failures by type per endpoint of every app over `[from, to)` (fal's first 50 ids; a
    /// bare app id brings its routes): `/metrics` re-exports them.
    pub async fn failures_between(
        &self,
        ws: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, shared::analytics::Failures)>, AppError> {
        let apps = self.apps(ws).await?.value;
        let endpoints = super::endpoints(&apps, None);
        if endpoints.is_empty() {
            return Ok(Vec::new());
        }
        let q = AnalyticsQuery {
            endpoints: shared::query::List::of(&endpoints),
            from: Some(shared::query::TimeExpr::at(from)),
            to: Some(shared::query::TimeExpr::at(to)),
            timeframe: None,
            tz: None,
        };
        let report = self.analytics_with_routes(ws, &q).await?.value;
        Ok(report
            .summary
            .iter()
            .map(|s| (s.endpoint.clone(), s.failures))
            .collect())
    }

    async fn analytics_of(
        &self,
        ws: &str,
        q: &AnalyticsQuery,
        exact: bool,
        kind: AnalyticsKind,
    ) -> Result<Cached<AnalyticsReport>, AppError> {
        let now = self.now();
        let (from, to) = resolve_range(q.from.as_ref(), q.to.as_ref(), now, Duration::hours(24))?;
        let timeframe = q
            .timeframe
            .unwrap_or_else(|| Timeframe::auto((to - from).num_seconds()));
        // Aligned to its bucket (at most an hour, so zones a whole hour off UTC line up too).
        let step = if timeframe == Timeframe::Minute {
            Duration::minutes(1)
        } else {
            Duration::hours(1)
        };
        let (from, to) = align_moving((q.from.as_ref(), q.to.as_ref()), (from, to), step);
        let r = Resolved {
            endpoints: q.endpoints.values().to_vec(),
            from,
            to,
            timeframe,
            tz: zone(q.tz.as_deref())?,
            exact,
            kind,
        };
        let w = self.workspace(ws)?;
        let fal: Arc<dyn FalApi> = w.fal.clone();
        let clock = self.0.clock.clone();
        let family = super::moving_family(
            &w.id,
            r.op(),
            &[
                ("endpoints", r.endpoints.join(",")),
                ("timeframe", r.timeframe.as_str().to_owned()),
                ("tz", r.tz.clone().unwrap_or_default()),
            ],
            q.from.as_ref(),
            q.to.as_ref(),
        );
        Ok(self
            .cache()
            .get_or_fetch_moving(
                r.key(&w.id),
                family,
                |_| ANALYTICS_TTL,
                move || {
                    let to = r.to.min(clock.now());
                    fetch(fal, Resolved { to, ..r })
                },
            )
            .await?)
    }
}

/// Fetches every page and shapes the report.
async fn fetch(fal: Arc<dyn FalApi>, p: Resolved) -> Result<AnalyticsReport, UpstreamError> {
    let mut q = fal_query::AnalyticsQuery {
        endpoint_ids: p.endpoints.clone(),
        metrics: ANALYTICS_METRICS.iter().map(|m| (*m).to_owned()).collect(),
        time_series: true,
        summary: true,
        window: fal_window(p.from, p.to, p.tz.clone(), p.timeframe),
        // fal documents no maximum page size here: its default, and `next_cursor` followed.
        limit: None,
        cursor: None,
    };
    let (buckets, summary_records) = super::all_pages(
        |cursor| {
            q.cursor = cursor;
            let (fal, q) = (fal.clone(), q.clone());
            async move { fal.analytics(p.kind, &q).await }
        },
        |r: &AnalyticsRecord| r.endpoint_id.clone(),
    )
    .await?;
    // fal answers a bare app id with its route-level endpoints too (`acme/x` brings
    // `acme/x/turbo`): a view shows exactly the endpoints chosen.
    let chosen = |r: &&AnalyticsRecord| !p.exact || p.endpoints.contains(&r.endpoint_id);
    let series = buckets
        .iter()
        // A bucket whose time does not parse is left out (counted by `instant`).
        .filter_map(|b| Some((instant(&b.bucket)?, b)))
        .flat_map(|(t, b)| {
            b.results.iter().filter(chosen).map(move |r| {
                let o = outcomes(r);
                AnalyticsPoint {
                    t,
                    endpoint: r.endpoint_id.clone(),
                    requests: o.requests,
                    success: o.success,
                    user_errors: o.user_errors,
                    server_errors: o.server_errors,
                    failures: o.failures,
                    prepare: o.prepare,
                    execution: o.execution,
                }
            })
        })
        .collect();
    let summary = summary_records
        .iter()
        .filter(chosen)
        .map(|r| {
            let o = outcomes(r);
            let cold = cold_starts(r);
            AnalyticsSummary {
                endpoint: r.endpoint_id.clone(),
                requests: o.requests,
                success: o.success,
                user_errors: o.user_errors,
                server_errors: o.server_errors,
                failures: o.failures,
                error_rate: if o.requests == 0 {
                    0.0
                } else {
                    o.server_errors as f64 / o.requests as f64
                },
                prepare: o.prepare,
                execution: o.execution,
                cold_starts: cold.count,
                cold_start_p50: cold.p50,
                billable_seconds: billable_seconds(r),
            }
        })
        .collect();
    Ok(AnalyticsReport {
        from: p.from,
        to: p.to,
        timeframe: p.timeframe,
        series,
        summary,
    })
}

/// fal's window of an aggregate read: `[from, to)` in buckets of `timeframe` aligned in `tz`.
/// falscope has chosen (and aligned, where the view moves) the window itself, so fal is told
/// to read exactly it: by default fal moves the start back to its bucket's start (REFERENCE
/// §6.3), and a 7-day view would read up to a day more than it shows, a "previous period" would
/// overlap the current one.
pub(super) fn fal_window(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    tz: Option<String>,
    timeframe: Timeframe,
) -> Window {
    Window {
        start: Some(from),
        end: Some(to),
        timezone: tz,
        timeframe: Some(fal_timeframe(timeframe)),
        bound_to_timeframe: Some(false),
    }
}

/// The dashboard's timeframe as fal's.
pub(super) fn fal_timeframe(t: Timeframe) -> fal_query::Timeframe {
    match t {
        Timeframe::Minute => fal_query::Timeframe::Minute,
        Timeframe::Hour => fal_query::Timeframe::Hour,
        Timeframe::Day => fal_query::Timeframe::Day,
        Timeframe::Week => fal_query::Timeframe::Week,
        Timeframe::Month => fal_query::Timeframe::Month,
    }
}
