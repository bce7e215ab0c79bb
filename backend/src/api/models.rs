//! The model endpoints a workspace watches (`GET|PUT|DELETE /api/ws/{ws}/models`; writes are
//! the operator's) and their analytics with SLA states (`GET /api/ws/{ws}/models/report`,
//! `reports::models`).

use super::query::{json_body, Query};
use super::respond::derived;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::models::{check_endpoint, Watched, WatchedModel, MAX_WATCHED};
use shared::query::{ModelEndpointQuery, ModelsQuery, NoQuery};

/// `GET /api/ws/{ws}/models`: the watched list, and in demo mode the simulator's models to
/// offer.
pub async fn list_models(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    _: Query<NoQuery>,
) -> Result<Response, AppError> {
    let models = state.reports.watched_models(&ws)?;
    let suggestions = if state.public.demo {
        crate::simulator::world::World::new(0)
            .models
            .iter()
            .map(|m| m.endpoint_id.to_owned())
            .filter(|id| !models.iter().any(|m| m.endpoint == *id))
            .collect()
    } else {
        Vec::new()
    };
    Ok(Json(Watched {
        models,
        suggestions,
    })
    .into_response())
}

/// `PUT /api/ws/{ws}/models`: watches an endpoint (or changes its SLA). The id must be in
/// fal's form and known to fal; at most [`MAX_WATCHED`] per workspace.
pub async fn put_model(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    body: axum::body::Bytes,
) -> Result<StatusCode, AppError> {
    let mut m: WatchedModel = json_body(
        &body,
        r#"{"endpoint": "fal-ai/flux/dev", "sla": {"p90_execution_s": 8, "p90_prepare_s": 2, "success": 0.99, "period_hours": 1}}"#,
    )?;
    m.endpoint = m.endpoint.trim().to_owned();
    check_endpoint(&m.endpoint).map_err(|e| AppError::invalid("endpoint", e))?;
    m.sla
        .check()
        .map_err(|(field, e)| AppError::invalid(field, e))?;
    let db = db(&state)?;
    state.reports.check_model_endpoint(&ws, &m.endpoint).await?;
    let now = state.now().timestamp_millis();
    if !db.watch_model(&ws, &m, now, MAX_WATCHED)? {
        return Err(AppError::invalid(
            "endpoint",
            format!("a workspace watches at most {MAX_WATCHED} model endpoints (what one fal call takes); remove one first"),
        ));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/ws/{ws}/models?endpoint=…`.
pub async fn delete_model(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    Query(q): Query<ModelEndpointQuery>,
) -> Result<StatusCode, AppError> {
    state.workspace(&ws)?;
    if db(&state)?.unwatch_model(&ws, q.endpoint.trim())? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound(format!(
            "watched model endpoint {:?}",
            q.endpoint
        )))
    }
}

/// `GET /api/ws/{ws}/models/report`.
pub async fn get_report(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    Query(q): Query<ModelsQuery>,
) -> Result<Response, AppError> {
    Ok(derived(state.reports.models_report(&ws, &q).await?))
}

fn db(state: &AppState) -> Result<&crate::store::SqliteStore, AppError> {
    state.db.as_deref().ok_or_else(|| {
        AppError::Conflict(
            "watched model endpoints are stored in --data-dir (FALSCOPE_DATA_DIR), which is not usable"
                .into(),
        )
    })
}
