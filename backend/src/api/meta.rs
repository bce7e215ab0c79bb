//! Probes and the public configuration.

use crate::auth::Caller;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::State;
use axum::{Extension, Json};
use shared::config::Health;
use shared::PublicConfig;

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// `GET /readyz`: every workspace's fal answers, or its app list is cached (stale is fine).
/// Why not is logged; it is answered only to a signed-in caller (a probe needs the status, a
/// stranger does not need to learn which workspace fails or how). With `--redis-url` and Redis
/// unreachable the replica is still ready (it serves alone) and says `"degraded"`.
pub async fn readyz(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Health>, AppError> {
    for w in state.reports.workspaces() {
        if let Err(err) = state.reports.apps(&w.id).await {
            tracing::warn!(workspace = %w.id, error = %err, "not ready");
            if caller.identity.is_some() {
                return Err(err);
            }
            return Err(AppError::NotReady);
        }
    }
    let mut health = healthz().await;
    if !state.cluster.is_up() {
        health.status = "degraded".into();
    }
    Ok(health)
}

/// `GET /api/config`.
pub async fn get_config(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Json<PublicConfig> {
    Json(state.public_for(&caller))
}
