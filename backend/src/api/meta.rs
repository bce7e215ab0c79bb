//! Probes and the public configuration.

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use shared::config::Health;
use shared::PublicConfig;

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// `GET /readyz`: fal (or the simulator) answers.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    state.fal.list_apps().await?;
    Ok(healthz().await)
}

/// `GET /api/config`.
pub async fn get_config(State(state): State<AppState>) -> Json<PublicConfig> {
    Json(state.public.clone())
}
