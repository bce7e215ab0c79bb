//! `GET /api/ws/{ws}/split`: where the money goes (the model is `crate::cost::split`), from the
//! cached usage and analytics reports plus a bounded, cached read of each app's 5xx requests
//! with billing.

use super::params::Params;
use crate::cache::key;
use crate::cost::split::{split, FailedSample};
use crate::error::AppError;
use crate::state::AppState;
use crate::upstream::query::{RequestStatus, RequestsQuery};
use crate::upstream::FalApi;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use shared::cost::SplitReport;
use shared::CacheStatus;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Pages of 100 5xx requests read per app at most; beyond that the failed share is their
/// mean × the 5xx count.
const FAILED_PAGES: usize = 3;
const FAILED_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// `GET /api/ws/{ws}/split?from&to` (default: the last 24 hours, whole hours).
pub async fn get_split(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let p = Params::parse(raw.as_deref(), &["from", "to"])?;
    let (from, to) = p.range(state.now(), Duration::hours(24))?;
    let (from, to) = super::cost::whole_hours(from, to)?;
    let (report, as_of, status) = compute(&state, &ws, from, to).await?;
    Ok(super::respond::derived(report, as_of, status))
}

/// The split over `[from, to)`; `/metrics` shares it.
pub(crate) async fn compute(
    state: &AppState,
    ws: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<(SplitReport, DateTime<Utc>, CacheStatus), AppError> {
    let inputs = super::cost::inputs(state, ws, from, to).await?;
    let mut failed = BTreeMap::new();
    for app in inputs.apps.iter() {
        let errors: u64 = inputs
            .analytics
            .summary
            .iter()
            .filter(|s| app.endpoints.contains(&s.endpoint))
            .map(|s| s.server_errors)
            .sum();
        if errors > 0 {
            failed.insert(
                app.name.clone(),
                failed_sample(state, ws, &app.endpoints, from, to).await?,
            );
        }
    }
    let report = SplitReport {
        from,
        to,
        currency: inputs.usage.currency.clone(),
        apps: split(&inputs.usage.lines, &inputs.analytics.summary, &failed),
    };
    Ok((report, inputs.as_of, inputs.status))
}

/// The billed seconds of an app's 5xx requests in `[from, to)`, at most [`FAILED_PAGES`] pages.
async fn failed_sample(
    state: &AppState,
    ws: &str,
    endpoints: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<FailedSample, AppError> {
    let w = state.workspace(ws)?;
    let fal: Arc<dyn FalApi> = w.fal.clone();
    let params = [
        ("endpoints", endpoints.join(",")),
        ("from", Params::iso(from)),
        ("to", Params::iso(to)),
    ];
    let mut q = RequestsQuery {
        endpoint_ids: endpoints.to_vec(),
        limit: Some(100),
        start: Some(from),
        end: Some(to),
        status: Some(RequestStatus::Error),
        billing: true,
        ..RequestsQuery::default()
    };
    let cached = state
        .cache
        .get_or_fetch(
            key(&w.id, "failed_sample", &params, None),
            |_| FAILED_TTL,
            move || async move {
                let mut sample = FailedSample::default();
                let mut unbilled = false;
                for _ in 0..FAILED_PAGES {
                    let page = fal.requests(&q).await?;
                    for r in &page.items {
                        match r.billable_units.flatten() {
                            Some(units) => {
                                sample.seconds += units;
                                sample.billed += 1;
                            }
                            None => unbilled = true,
                        }
                    }
                    match page.next_cursor {
                        Some(c) if page.has_more => q.cursor = Some(c),
                        _ => {
                            sample.complete = !unbilled;
                            break;
                        }
                    }
                }
                Ok(sample)
            },
        )
        .await?;
    Ok(*cached.value)
}
