//! `GET /api/ws/{ws}/apps`: the workspace's apps and their endpoint ids (`reports::apps`), and
//! `GET /api/ws/{ws}/endpoints`: the endpoints pages show before anyone picks.

use super::respond::{derived, fetched};
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

/// `GET /api/ws/{ws}/endpoints`.
pub async fn default_endpoints(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
) -> Result<Response, AppError> {
    Ok(derived(reports.default_endpoints(&ws).await?))
}
