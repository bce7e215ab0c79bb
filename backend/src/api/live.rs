//! Live per-app numbers from fal's Prometheus metrics.

use super::respond::fetched;
use crate::cache::key;
use crate::error::AppError;
use crate::state::AppState;
use crate::upstream::FalApi;
use axum::extract::{Path, State};
use axum::response::Response;
use std::time::Duration;

/// fal caches metrics for 10 s; asking more often only repeats the same numbers.
pub const METRICS_TTL: Duration = Duration::from_secs(10);

/// `GET /api/ws/{ws}/live`.
pub async fn get_live(
    State(state): State<AppState>,
    Path(ws): Path<String>,
) -> Result<Response, AppError> {
    let w = state.workspace(&ws)?;
    let fal = w.fal.clone();
    let cached = state
        .cache
        .get_or_fetch(
            key(&w.id, "metrics", &[], None),
            |_| METRICS_TTL,
            move || async move { Ok(fal.metrics().await?.to_live(chrono::Utc::now())) },
        )
        .await?;
    Ok(fetched::<shared::LiveSnapshot>(&cached))
}
