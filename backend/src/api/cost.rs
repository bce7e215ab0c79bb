//! `GET /api/ws/{ws}/cost`: spend beside request outcomes per app (`reports::cost`).

use super::query::Query;
use super::respond::derived;
use crate::error::AppError;
use crate::reports::Reports;
use axum::extract::{Path, State};
use axum::response::Response;
use shared::query::HoursQuery;

/// `GET /api/ws/{ws}/cost?from&to` (default: the last 7 days, whole hours).
pub async fn get_cost(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
    Query(q): Query<HoursQuery>,
) -> Result<Response, AppError> {
    Ok(derived(reports.cost(&ws, &q).await?))
}
