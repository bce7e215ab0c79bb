//! Cost settings of a workspace: monthly budgets (billing) and the price table (admin),
//! `reports::budgets`. The handlers check what was sent.

use super::query::{json_body, Query};
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::alerts::Budget;
use shared::cost::PriceOverride;
use shared::query::NoQuery;

/// `GET /api/ws/{ws}/budgets`.
pub async fn list_budgets(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    _: Query<NoQuery>,
) -> Result<Response, AppError> {
    Ok(Json(state.reports.budgets(&ws).await?).into_response())
}

/// `PUT /api/ws/{ws}/budgets` (billing): sets one budget; `monthly: 0` removes it.
pub async fn put_budget(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    body: axum::body::Bytes,
) -> Result<StatusCode, AppError> {
    state.workspace(&ws)?;
    let b: Budget = json_body(&body, r#"{"app": null, "monthly": 500.0}"#)?;
    if !b.monthly.is_finite() || b.monthly < 0.0 || b.monthly > 1e9 {
        return Err(AppError::invalid(
            "monthly",
            "a monthly amount from 0 (removes the budget) to 1,000,000,000",
        ));
    }
    let app = b.app.as_deref().map(str::trim).unwrap_or("");
    if app.len() > 200 {
        return Err(AppError::invalid(
            "app",
            "an app name of at most 200 characters",
        ));
    }
    (state.reports)
        .set_budget(&ws, app, (b.monthly > 0.0).then_some(b.monthly))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/ws/{ws}/prices` (billing): each app's price per billable unit, derived from 7
/// days of usage and overridden by the admin's table, with ambiguous apps flagged.
pub async fn list_prices(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    _: Query<NoQuery>,
) -> Result<Response, AppError> {
    Ok(Json(state.reports.prices(&ws).await?).into_response())
}

/// `PUT /api/ws/{ws}/prices` (admin): sets or clears one app's price.
pub async fn put_price(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    body: axum::body::Bytes,
) -> Result<StatusCode, AppError> {
    state.workspace(&ws)?;
    let o: PriceOverride = json_body(&body, r#"{"app": "my-app", "unit_price": 0.00125}"#)?;
    let app = o.app.trim();
    if app.is_empty() || app.len() > 200 {
        return Err(AppError::invalid(
            "app",
            "an app name of 1 to 200 characters",
        ));
    }
    if o.unit_price
        .is_some_and(|p| !p.is_finite() || p <= 0.0 || p > 1e6)
    {
        return Err(AppError::invalid(
            "unit_price",
            "a price per billable unit above 0 (or null to use the derived price)",
        ));
    }
    state.reports.set_price(&ws, app, o.unit_price).await?;
    Ok(StatusCode::NO_CONTENT)
}
