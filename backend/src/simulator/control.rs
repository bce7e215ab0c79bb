//! Simulator-only control routes: request counters and fault switches.

use super::faults::FaultSet;
use super::Sim;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `/_sim/...` routes.
pub fn router() -> Router<Arc<Sim>> {
    Router::new()
        .route("/_sim/stats", get(get_stats).delete(reset_stats))
        .route("/_sim/faults", get(get_faults).post(set_faults))
}

/// `GET /_sim/stats`: requests received per operation, and `queue_flushes_performed`: flushes
/// that cancelled requests (a repeat with a remembered `Idempotency-Key` is a call, not a flush).
async fn get_stats(State(sim): State<Arc<Sim>>) -> Json<BTreeMap<&'static str, u64>> {
    let mut stats = sim.stats.lock().unwrap_or_else(|e| e.into_inner()).clone();
    stats.insert("queue_flushes_performed", sim.flushes());
    Json(stats)
}

/// `DELETE /_sim/stats`: zero every counter.
async fn reset_stats(State(sim): State<Arc<Sim>>) -> StatusCode {
    let mut stats = sim.stats.lock().unwrap_or_else(|e| e.into_inner());
    stats.values_mut().for_each(|v| *v = 0);
    StatusCode::NO_CONTENT
}

/// `GET /_sim/faults`.
async fn get_faults(State(sim): State<Arc<Sim>>) -> Json<FaultSet> {
    Json(sim.faults.get())
}

/// `POST /_sim/faults`: replace the rules.
async fn set_faults(State(sim): State<Arc<Sim>>, Json(set): Json<FaultSet>) -> Response {
    if let Some(err) = set.rules.iter().find_map(|r| r.validate().err()) {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "error": err })),
        )
            .into_response();
    }
    let mut set = set;
    if let Some(spike) = &mut set.cost_spike {
        if sim.world.app_index(&spike.app).is_none() {
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({ "error": format!("cost_spike.app {:?} is not a simulated app", spike.app) })),
            )
                .into_response();
        }
        // Absent `from`: from now, on the simulator's clock (shown in the answer).
        let now = chrono::DateTime::from_timestamp_millis(sim.now_ms()).unwrap_or_default();
        spike.from.get_or_insert_with(|| now.to_rfc3339());
    }
    if let Some(slow) = &mut set.latency_regression {
        if !(1.0..=100.0).contains(&slow.factor) {
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({ "error": format!("latency_regression.factor must be 1 to 100, got {}", slow.factor) })),
            )
                .into_response();
        }
        if let Some(bad) = slow
            .from
            .as_deref()
            .filter(|f| chrono::DateTime::parse_from_rfc3339(f).is_err())
        {
            return (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({ "error": format!("latency_regression.from must be RFC 3339, got {bad:?}") })),
            )
                .into_response();
        }
        let now = chrono::DateTime::from_timestamp_millis(sim.now_ms()).unwrap_or_default();
        slow.from.get_or_insert_with(|| now.to_rfc3339());
    }
    sim.faults.set(set);
    Json(sim.faults.get()).into_response()
}
