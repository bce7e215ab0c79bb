//! The dashboard's JSON API under `/api`: one router per resource, merged here.

mod live;
mod meta;

use crate::error::AppError;
use crate::state::AppState;
use axum::routing::{any, get};
use axum::Router;
use shared::routes;

/// Every `/api` route plus the probes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::HEALTHZ, get(meta::healthz))
        .route(routes::READYZ, get(meta::readyz))
        .route(routes::CONFIG, get(meta::get_config))
        .route(routes::LIVE, get(live::get_live))
        // Unknown /api paths get a JSON 404, not the SPA's index.html.
        .route("/api/{*rest}", any(not_found))
}

async fn not_found() -> AppError {
    AppError::NotFound("this API route".into())
}
