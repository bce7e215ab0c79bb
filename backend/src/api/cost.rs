//! `GET /api/ws/{ws}/cost`: spend beside request outcomes per app (the cost model in
//! `crate::cost`), from the same cached usage and analytics reports the other pages use.

use super::params::Params;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Duration, DurationRound, Utc};
use shared::analytics::AnalyticsReport;
use shared::apps::AppSummary;
use shared::usage::UsageReport;
use shared::CacheStatus;
use std::collections::HashMap;
use std::sync::Arc;

const ALLOWED: &[&str] = &["from", "to"];

/// `GET /api/ws/{ws}/cost?from&to` (default: the last 7 days). Both ends are aligned down to
/// whole hours so usage and analytics count exactly the same buckets. Each app also gets its
/// spend over the period of the same length just before (top movers).
pub async fn get_cost(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let p = Params::parse(raw.as_deref(), ALLOWED)?;
    let (from, to) = p.range(state.now(), Duration::days(7))?;
    let (from, to) = whole_hours(from, to)?;
    let (mut report, as_of, status) = compute(&state, &ws, from, to).await?;
    // Top movers: a failure here (fal, or a range reaching too far back) leaves them out
    // rather than failing the view.
    if let Ok(previous) = usage(&state, &ws, from - (to - from), from).await {
        let mut before: HashMap<&str, f64> = HashMap::new();
        for line in &previous.value.lines {
            *before.entry(line.app.as_str()).or_default() += line.cost;
        }
        for app in &mut report.apps {
            app.previous_spend = Some(before.get(app.app.as_str()).copied().unwrap_or(0.0));
        }
    }
    Ok(super::respond::derived(report, as_of, status))
}

/// `[from, to)` aligned down to whole hours, or a 400 when no whole hour is left.
pub(crate) fn whole_hours(
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

/// The cached usage report of `[from, to)`.
async fn usage(
    state: &AppState,
    ws: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<crate::cache::Cached<UsageReport>, AppError> {
    let p = Params::of(
        &[("from", Params::iso(from)), ("to", Params::iso(to))],
        super::usage::ALLOWED,
    )?;
    super::usage::cached_report(state, ws, &p).await
}

/// What the cost views join: usage and the analytics of every endpoint of the workspace's
/// apps over the same whole hours, with the `as_of` and status of the older input.
pub(crate) struct Inputs {
    pub usage: Arc<UsageReport>,
    pub analytics: Arc<AnalyticsReport>,
    pub apps: Arc<Vec<AppSummary>>,
    pub as_of: DateTime<Utc>,
    pub status: CacheStatus,
}

/// Reads [`Inputs`] through the caches.
pub(crate) async fn inputs(
    state: &AppState,
    ws: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Inputs, AppError> {
    let usage = usage(state, ws, from, to).await?;
    let apps = super::apps::apps(state, ws).await?.value;
    let endpoints = super::apps::endpoints(&apps, None);
    // As fresh as its older input; stale if either input is.
    let mut as_of = usage.entry.as_of;
    let mut stale = usage.status == CacheStatus::Stale;
    let analytics = if endpoints.is_empty() {
        Arc::new(empty_analytics(from, to))
    } else {
        let p = Params::of(
            &[
                ("from", Params::iso(from)),
                ("to", Params::iso(to)),
                ("endpoints", endpoints.join(",")),
            ],
            super::analytics::ALLOWED,
        )?;
        let analytics = super::analytics::cached_report(state, ws, &p).await?;
        as_of = as_of.min(analytics.entry.as_of);
        stale |= analytics.status == CacheStatus::Stale;
        analytics.value
    };
    Ok(Inputs {
        usage: usage.value,
        analytics,
        apps,
        as_of,
        status: if stale {
            CacheStatus::Stale
        } else {
            usage.status
        },
    })
}

/// The report over `[from, to)` (whole hours), with the `as_of` and cache status of its
/// inputs. `/metrics` shares it.
pub(crate) async fn compute(
    state: &AppState,
    ws: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(shared::cost::CostReport, DateTime<Utc>, CacheStatus), AppError> {
    let i = inputs(state, ws, from, to).await?;
    let report = crate::cost::report(from, to, &i.usage, &i.analytics);
    Ok((report, i.as_of, i.status))
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
