//! Spend per app × machine type × surge, totals, and spend over time (ADMIN key).

use super::analytics::fal_timeframe;
use super::params::Params;
use super::respond::fetched;
use crate::cache::{key, Cached};
use crate::error::AppError;
use crate::state::AppState;
use crate::upstream::convert::instant;
use crate::upstream::query::{UsageQuery, Window};
use crate::upstream::{FalApi, UpstreamError};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use shared::analytics::Timeframe;
use shared::usage::{UsageLine, UsagePoint, UsageReport};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Usage is settled in fal's billing pipeline; five minutes is plenty fresh.
pub const USAGE_TTL: std::time::Duration = std::time::Duration::from_secs(300);
const MAX_PAGES: usize = 20;
pub const ALLOWED: &[&str] = &["from", "to", "apps", "search", "timeframe", "tz"];

/// Validated parameters.
#[derive(Debug, Clone)]
pub struct UsageParams {
    /// Start.
    pub from: DateTime<Utc>,
    /// End (exclusive).
    pub to: DateTime<Utc>,
    /// Exact app names.
    pub apps: Vec<String>,
    /// Substring filter.
    pub search: Option<String>,
    /// Bucket override.
    pub timeframe: Option<Timeframe>,
    /// Zone.
    pub tz: Option<String>,
}

impl UsageParams {
    /// Parses the query string.
    pub fn parse(p: &Params, now: DateTime<Utc>) -> Result<Self, AppError> {
        let (from, to) = p.range(now, Duration::days(7))?;
        Ok(Self {
            from,
            to,
            apps: p.list("apps", 50)?,
            search: p.get("search").map(str::to_owned),
            timeframe: p.timeframe()?,
            tz: p.tz()?,
        })
    }
}

/// `GET /api/ws/{ws}/usage`.
pub async fn get_usage(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let p = Params::parse(raw.as_deref(), ALLOWED)?;
    Ok(fetched(&cached_report(&state, &ws, &p).await?))
}

/// The report for the query `p`, through the cache (the JSON view and the CSV export share it).
/// Refused without an ADMIN key before anything reaches fal.
pub async fn cached_report(
    state: &AppState,
    ws: &str,
    p: &Params,
) -> Result<Cached<UsageReport>, AppError> {
    let params = UsageParams::parse(p, state.now())?;
    let w = state.workspace(ws)?;
    if !w.fal.has_admin_key() {
        return Err(UpstreamError::AdminKeyMissing.into());
    }
    let fal: Arc<dyn FalApi> = w.fal.clone();
    Ok(state
        .cache
        .get_or_fetch(
            key(&w.id, "usage", &p.pairs(), None),
            |_| USAGE_TTL,
            move || report(fal, params),
        )
        .await?)
}

/// Fetches every page and shapes the report.
pub async fn report(fal: Arc<dyn FalApi>, p: UsageParams) -> Result<UsageReport, UpstreamError> {
    let timeframe = p
        .timeframe
        .unwrap_or_else(|| Timeframe::auto((p.to - p.from).num_seconds()));
    let mut q = UsageQuery {
        apps: p.apps.clone(),
        search: p.search.clone(),
        window: Window {
            start: Some(p.from),
            end: Some(p.to),
            timezone: p.tz.clone(),
            timeframe: Some(fal_timeframe(timeframe)),
            bound_to_timeframe: None,
        },
        time_series: true,
        summary: true,
        limit: Some(1000),
        cursor: None,
    };
    let mut series: BTreeMap<(DateTime<Utc>, String), (f64, f64)> = BTreeMap::new();
    let mut lines: Vec<UsageLine> = Vec::new();
    for _ in 0..MAX_PAGES {
        let page = fal.usage(&q).await?;
        for b in page.time_series.unwrap_or_default() {
            let t = instant(&b.bucket);
            for r in &b.results {
                let app = r.app.clone().unwrap_or_else(|| "(unattributed)".into());
                let e = series.entry((t, app)).or_default();
                e.0 += r.cost_total;
                e.1 += r.quantity;
            }
        }
        if lines.is_empty() {
            lines = page
                .summary
                .unwrap_or_default()
                .iter()
                .map(UsageLine::from)
                .collect();
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    lines.sort_by(|a, b| b.cost.total_cmp(&a.cost));
    let currency = lines
        .first()
        .map_or_else(|| "USD".to_owned(), |l| l.currency.clone());
    Ok(UsageReport {
        from: p.from,
        to: p.to,
        timeframe,
        total_cost: lines.iter().map(|l| l.cost).sum(),
        total_seconds: lines.iter().map(|l| l.seconds).sum(),
        currency,
        lines,
        series: series
            .into_iter()
            .map(|((t, app), (cost, seconds))| UsagePoint {
                t,
                app,
                cost,
                seconds,
            })
            .collect(),
    })
}
