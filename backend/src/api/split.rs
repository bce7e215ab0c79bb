//! `GET /api/ws/{ws}/split`: where the money goes (`reports::split`).

use super::query::Query;
use super::respond::derived;
use crate::error::AppError;
use crate::reports::Reports;
use axum::extract::{Path, State};
use axum::response::Response;
use shared::query::HoursQuery;

/// `GET /api/ws/{ws}/split?from&to` (default: the last 24 hours, whole hours).
pub async fn get_split(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
    Query(q): Query<HoursQuery>,
) -> Result<Response, AppError> {
    Ok(derived(reports.split(&ws, &q).await?))
}
