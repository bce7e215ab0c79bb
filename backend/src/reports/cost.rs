//! Spend beside request outcomes per app (the model is `crate::cost`), from the same cached
//! usage and analytics reports the other views use, over whole hours.

use super::{Derived, Reports};
use crate::error::AppError;
use chrono::{DateTime, Duration, DurationRound, Utc};
use shared::analytics::AnalyticsReport;
use shared::apps::AppIndex;
use shared::cost::CostReport;
use shared::query::{resolve_range, AnalyticsQuery, HoursQuery, List, TimeExpr, UsageQuery};
use shared::usage::UsageReport;
use shared::CacheStatus;
use std::collections::HashMap;
use std::sync::Arc;

/// `[from, to)` aligned down to whole hours, or a 400 when no whole hour is left.
pub fn whole_hours(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
    let hour = Duration::hours(1);
    let from = from.duration_trunc(hour).unwrap_or(from);
    let to = to.duration_trunc(hour).unwrap_or(to);
    if to <= from {
        return Err(AppError::invalid(
            "from",
            "this view needs at least one whole hour between `from` and `to`",
        ));
    }
    Ok((from, to))
}

/// What the cost views join: usage and the analytics of every endpoint of the workspace's
/// apps over the same whole hours, with the `as_of` and status of the older input.
pub(super) struct Inputs {
    pub usage: Arc<UsageReport>,
    pub analytics: Arc<AnalyticsReport>,
    pub index: AppIndex,
    pub as_of: DateTime<Utc>,
    pub status: CacheStatus,
}

impl Reports {
    /// The whole hours of `q`, defaulting to the last `default`.
    pub(super) fn hours(
        &self,
        q: &HoursQuery,
        default: Duration,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
        let (from, to) = resolve_range(q.from.as_ref(), q.to.as_ref(), self.now(), default)?;
        whole_hours(from, to)
    }

    /// The cost view of `q` (default: the last 7 days), each app with its spend over the
    /// period of the same length just before (top movers).
    pub async fn cost(&self, ws: &str, q: &HoursQuery) -> Result<Derived<CostReport>, AppError> {
        let (from, to) = self.hours(q, Duration::days(7))?;
        let mut report = self.cost_between(ws, from, to).await?;
        // Top movers: a failure here (fal, or a range reaching too far back) leaves them out
        // rather than failing the view.
        if let Ok(previous) = self.usage_between(ws, from - (to - from), from, None).await {
            let mut before: HashMap<&str, f64> = HashMap::new();
            for line in &previous.lines {
                *before.entry(line.app.as_str()).or_default() += line.cost;
            }
            for app in &mut report.value.apps {
                app.previous_spend = Some(before.get(app.app.as_str()).copied().unwrap_or(0.0));
            }
        }
        Ok(report)
    }

    /// The cost report over `[from, to)` (whole hours); alert rules and `/metrics` share it.
    pub async fn cost_between(
        &self,
        ws: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Derived<CostReport>, AppError> {
        let i = self.inputs(ws, from, to).await?;
        Ok(Derived {
            value: crate::cost::report(from, to, &i.usage, &i.analytics, &i.index),
            as_of: i.as_of,
            status: i.status,
        })
    }

    /// The usage report of `[from, to)` (of one app, or all), through the cache.
    pub async fn usage_between(
        &self,
        ws: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        app: Option<&str>,
    ) -> Result<Arc<UsageReport>, AppError> {
        let q = UsageQuery {
            from: Some(TimeExpr::at(from)),
            to: Some(TimeExpr::at(to)),
            apps: List::of(&app.into_iter().collect::<Vec<_>>()),
            ..UsageQuery::default()
        };
        Ok(self.usage(ws, &q).await?.value)
    }

    /// Reads [`Inputs`] through the caches.
    pub(super) async fn inputs(
        &self,
        ws: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Inputs, AppError> {
        let usage = self
            .usage(
                ws,
                &UsageQuery {
                    from: Some(TimeExpr::at(from)),
                    to: Some(TimeExpr::at(to)),
                    ..UsageQuery::default()
                },
            )
            .await?;
        let index = AppIndex::new(self.apps(ws).await?.value);
        let endpoints = super::endpoints(index.apps(), None);
        // As fresh as its older input; stale if either input is.
        let mut as_of = usage.entry.as_of;
        let mut stale = usage.status == CacheStatus::Stale;
        let analytics = if endpoints.is_empty() {
            Arc::new(empty_analytics(from, to))
        } else {
            let q = AnalyticsQuery {
                endpoints: List::of(&endpoints),
                from: Some(TimeExpr::at(from)),
                to: Some(TimeExpr::at(to)),
                ..AnalyticsQuery::default()
            };
            let analytics = self.analytics_with_routes(ws, &q).await?;
            as_of = as_of.min(analytics.entry.as_of);
            stale |= analytics.status == CacheStatus::Stale;
            analytics.value
        };
        Ok(Inputs {
            usage: usage.value,
            analytics,
            index,
            as_of,
            status: if stale {
                CacheStatus::Stale
            } else {
                usage.status
            },
        })
    }
}

fn empty_analytics(from: DateTime<Utc>, to: DateTime<Utc>) -> AnalyticsReport {
    AnalyticsReport {
        from,
        to,
        timeframe: shared::analytics::Timeframe::Hour,
        series: Vec::new(),
        summary: Vec::new(),
    }
}
