//! `GET /api/ws/{ws}/cost`: spend beside request outcomes per app (the cost model in
//! `crate::cost`), from the same cached usage and analytics reports the other pages use.

use super::params::Params;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Duration, DurationRound, Utc};
use shared::CacheStatus;

const ALLOWED: &[&str] = &["from", "to"];

/// `GET /api/ws/{ws}/cost?from&to` (default: the last 7 days). Both ends are aligned down to
/// whole hours so usage and analytics count exactly the same buckets.
pub async fn get_cost(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let p = Params::parse(raw.as_deref(), ALLOWED)?;
    let (from, to) = p.range(state.now(), Duration::days(7))?;
    let hour = Duration::hours(1);
    let from = from.duration_trunc(hour).unwrap_or(from);
    let to = to.duration_trunc(hour).unwrap_or(to);
    if to <= from {
        return Err(AppError::invalid(
            "from",
            "the cost view needs at least one whole hour between `from` and `to`",
        ));
    }
    let (report, as_of, status) = compute(&state, &ws, from, to).await?;
    Ok(super::respond::derived(report, as_of, status))
}

/// The report over `[from, to)` (whole hours), with the `as_of` and cache status of its
/// inputs. `/metrics` shares it.
pub(crate) async fn compute(
    state: &AppState,
    ws: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(shared::cost::CostReport, DateTime<Utc>, CacheStatus), AppError> {
    let iso = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let range = [("from", iso(from)), ("to", iso(to))];
    let query = |extra: Option<(&'static str, String)>| {
        let pairs: Vec<(&str, String)> = range.iter().cloned().chain(extra).collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    };
    let usage_q = query(None);
    let usage_p = Params::parse(Some(&usage_q), super::usage::ALLOWED)?;
    let usage = super::usage::cached_report(state, ws, &usage_p).await?;
    let endpoints: Vec<String> = super::apps::apps(state, ws)
        .await?
        .value
        .iter()
        .flat_map(|a| a.endpoints.iter().cloned())
        .take(50)
        .collect();
    // As fresh as its older input; stale if either input is.
    let mut as_of = usage.entry.as_of;
    let mut stale = usage.status == CacheStatus::Stale;
    let report = if endpoints.is_empty() {
        crate::cost::report(from, to, &usage.value, &empty_analytics(from, to))
    } else {
        let analytics_q = query(Some(("endpoints", endpoints.join(","))));
        let analytics_p = Params::parse(Some(&analytics_q), super::analytics::ALLOWED)?;
        let analytics = super::analytics::cached_report(state, ws, &analytics_p).await?;
        as_of = as_of.min(analytics.entry.as_of);
        stale |= analytics.status == CacheStatus::Stale;
        crate::cost::report(from, to, &usage.value, &analytics.value)
    };
    let status = if stale {
        CacheStatus::Stale
    } else {
        usage.status
    };
    Ok((report, as_of, status))
}

fn empty_analytics(from: DateTime<Utc>, to: DateTime<Utc>) -> shared::analytics::AnalyticsReport {
    shared::analytics::AnalyticsReport {
        from,
        to,
        timeframe: shared::analytics::Timeframe::Hour,
        series: Vec::new(),
        summary: Vec::new(),
    }
}
