//! `GET /api/ws/{ws}/usage`: spend per app × machine type × surge (`reports::usage`).

use super::query::Query;
use super::respond::fetched;
use crate::error::AppError;
use crate::reports::Reports;
use axum::extract::{Path, State};
use axum::response::Response;
use shared::query::UsageQuery;

/// `GET /api/ws/{ws}/usage`.
pub async fn get_usage(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
    Query(q): Query<UsageQuery>,
) -> Result<Response, AppError> {
    Ok(fetched(&reports.usage(&ws, &q).await?))
}
