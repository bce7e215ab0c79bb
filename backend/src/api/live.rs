//! Live per-app numbers from fal's Prometheus metrics.

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use shared::LiveSnapshot;

/// `GET /api/live`.
pub async fn get_live(State(state): State<AppState>) -> Result<Json<LiveSnapshot>, AppError> {
    let scrape = state.fal.metrics().await?;
    Ok(Json(scrape.to_live(chrono::Utc::now())))
}
