//! The Alerts page's API: rules with their states and history, new rules, deleting rules made
//! in the UI, and "send test".

use super::query::{json_body, Query};
use crate::auth::Caller;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use shared::alerts::NewRule;
use shared::query::NoQuery;

/// `GET /api/ws/{ws}/alerts`. Spend rules' values and findings only for billing and up.
pub async fn get_alerts(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    Extension(caller): Extension<Caller>,
    _: Query<NoQuery>,
) -> Result<Response, AppError> {
    state.workspace(&ws)?;
    let show_spend = super::requests::may_see_cost(&caller);
    Ok(Json(state.alerts.view(&ws, show_spend).await).into_response())
}

/// `POST /api/ws/{ws}/alerts/rules` (operator): a [`NewRule`]; answers 201 with the rule.
pub async fn create_rule(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let new = parse_rule(&state, &ws, &body).await?;
    let rule = state.alerts.add(&ws, new).await?;
    Ok((StatusCode::CREATED, Json(rule)).into_response())
}

/// A [`NewRule`] body whose app (when named) is one of the workspace's.
async fn parse_rule(state: &AppState, ws: &str, body: &[u8]) -> Result<NewRule, AppError> {
    state.workspace(ws)?;
    let mut new: NewRule = json_body(
        body,
        r#"{"name": "...", "app": null, "for_minutes": 5, "condition": {"kind": "threshold", "metric": "queue_size", "above": 50}}"#,
    )?;
    new.app = match new.app.as_deref().filter(|a| !a.trim().is_empty()) {
        Some(given) => Some(state.reports.app_named(ws, given).await?),
        None => None,
    };
    Ok(new)
}

/// `PUT /api/ws/{ws}/alerts/rules/{id}` (operator): new settings for a rule made in the UI.
pub async fn update_rule(
    State(state): State<AppState>,
    Path((ws, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let new = parse_rule(&state, &ws, &body).await?;
    Ok(Json(state.alerts.update(&ws, &id, new).await?).into_response())
}

/// `DELETE /api/ws/{ws}/alerts/rules/{id}` (operator).
pub async fn delete_rule(
    State(state): State<AppState>,
    Path((ws, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    state.workspace(&ws)?;
    state.alerts.remove(&ws, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/ws/{ws}/alerts/test` (operator): one test notification per webhook; answers
/// with each delivery's outcome.
pub async fn send_test(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, AppError> {
    state.workspace(&ws)?;
    let who = caller
        .identity
        .as_ref()
        .map_or_else(|| "anonymous".to_owned(), |i| i.name.clone());
    Ok(Json(state.alerts.send_test(&ws, &who).await).into_response())
}
