//! `GET /api/ws/{ws}/apps`: the workspace's apps and their endpoint ids (`reports::apps`).

use super::respond::fetched;
use crate::error::AppError;
use crate::reports::Reports;
use axum::extract::{Path, State};
use axum::response::Response;

/// `GET /api/ws/{ws}/apps`.
pub async fn list_apps(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
) -> Result<Response, AppError> {
    Ok(fetched(&reports.apps(&ws).await?))
}
