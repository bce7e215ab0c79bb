//! `GET|DELETE /v1/serverless/apps/{owner}/{name}/queue` (REFERENCE §7): queue size, and flush
//! with a 10-minute `Idempotency-Key` memory.

use super::errors::FalError;
use super::metrics::app_state;
use super::wire::QueueSize;
use super::Sim;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use std::sync::Arc;

/// How long a flush's `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_MS: i64 = 10 * 60_000;

fn app_index(sim: &Sim, owner: &str, name: &str) -> Result<usize, FalError> {
    let i = sim.world.app_index(name).ok_or(FalError::NotFound)?;
    if owner != sim.world.owner {
        return Err(FalError::Forbidden);
    }
    Ok(i)
}

/// `GET .../queue`.
pub async fn get_queue(
    State(sim): State<Arc<Sim>>,
    Path((owner, name)): Path<(String, String)>,
) -> Result<Json<QueueSize>, FalError> {
    let i = app_index(&sim, &owner, &name)?;
    let now = sim.now_ms();
    Ok(Json(QueueSize {
        queue_size: app_state(&sim.world, i, now, sim.flushed_at(i)).queue,
    }))
}

/// `DELETE .../queue`: cancels queued requests (running ones are untouched).
pub async fn flush_queue(
    State(sim): State<Arc<Sim>>,
    Path((owner, name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, FalError> {
    let i = app_index(&sim, &owner, &name)?;
    let now = sim.now_ms();
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_owned))
        .transpose()
        .map_err(|_| FalError::invalid("Idempotency-Key must be visible ASCII"))?;
    let mut state = sim.queue.lock().unwrap_or_else(|e| e.into_inner());
    state.idempotency.retain(|_, at| now - *at < IDEMPOTENCY_MS);
    if let Some(key) = key {
        if state.idempotency.contains_key(&(i, key.clone())) {
            return Ok(StatusCode::NO_CONTENT);
        }
        state.idempotency.insert((i, key), now);
    }
    state.flushed_at.insert(i, now);
    state.flushes += 1;
    Ok(StatusCode::NO_CONTENT)
}
