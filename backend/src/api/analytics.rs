//! `GET /api/ws/{ws}/analytics`: request analytics per endpoint (`reports::analytics`).

use super::query::Query;
use super::respond::fetched;
use crate::error::AppError;
use crate::reports::Reports;
use axum::extract::{Path, State};
use axum::response::Response;
use shared::query::AnalyticsQuery;

/// `GET /api/ws/{ws}/analytics`.
pub async fn get_analytics(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
    Query(q): Query<AnalyticsQuery>,
) -> Result<Response, AppError> {
    Ok(fetched(&reports.analytics(&ws, &q).await?))
}
