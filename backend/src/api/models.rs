//! The model endpoints a workspace watches (`GET|PUT|DELETE /api/ws/{ws}/models`; writes are
//! the operator's) and their analytics with SLA states (`GET /api/ws/{ws}/models/report`,
//! `reports::models`).

use super::query::{json_body, Query};
use super::respond::{audited, derived};
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::models::{Watched, WatchedModel};
use shared::query::{ModelEndpointQuery, ModelsQuery, NoQuery};

/// `GET /api/ws/{ws}/models`: the watched list, and the models to offer (in demo mode, the
/// simulator's).
pub async fn list_models(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    _: Query<NoQuery>,
) -> Result<Response, AppError> {
    let models = state.reports.watched_models(&ws).await?;
    let suggestions = state.reports.model_suggestions(&ws, &models)?;
    Ok(Json(Watched {
        models,
        suggestions,
    })
    .into_response())
}

/// `PUT /api/ws/{ws}/models`: watches an endpoint (or changes its SLA); the audit entry names it.
pub async fn put_model(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let mut m: WatchedModel = json_body(
        &body,
        r#"{"endpoint": "fal-ai/flux/dev", "sla": {"p90_execution_s": 8, "p90_prepare_s": 2, "success": 0.99, "period_hours": 1}}"#,
    )?;
    m.endpoint = m.endpoint.trim().to_owned();
    state.reports.watch_model(&ws, &m).await?;
    Ok(audited(
        StatusCode::NO_CONTENT,
        format!("watch model {}", m.endpoint),
    ))
}

/// `DELETE /api/ws/{ws}/models?endpoint=…`.
pub async fn delete_model(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    Query(q): Query<ModelEndpointQuery>,
) -> Result<Response, AppError> {
    let endpoint = q.endpoint.trim();
    state.reports.unwatch_model(&ws, endpoint).await?;
    Ok(audited(
        StatusCode::NO_CONTENT,
        format!("unwatch model {endpoint}"),
    ))
}

/// `GET /api/ws/{ws}/models/report`.
pub async fn get_report(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    Query(q): Query<ModelsQuery>,
) -> Result<Response, AppError> {
    Ok(derived(state.reports.models_report(&ws, &q).await?))
}
