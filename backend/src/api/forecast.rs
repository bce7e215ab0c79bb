//! `GET /api/ws/{ws}/forecast`: this month's spend and its projection (`reports::forecast`), and
//! `GET /api/ws/{ws}/credits`: the credit balance and its runway (`reports::credits`).

use super::query::Query;
use super::respond::derived;
use crate::error::AppError;
use crate::reports::Reports;
use axum::extract::{Path, State};
use axum::response::Response;
use shared::query::NoQuery;

/// `GET /api/ws/{ws}/forecast` (no parameters: always the current month, in UTC days).
pub async fn get_forecast(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
    _: Query<NoQuery>,
) -> Result<Response, AppError> {
    Ok(derived(reports.forecast(&ws).await?))
}

/// `GET /api/ws/{ws}/credits` (no parameters).
pub async fn get_credits(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
    _: Query<NoQuery>,
) -> Result<Response, AppError> {
    Ok(derived(reports.credits(&ws).await?))
}
