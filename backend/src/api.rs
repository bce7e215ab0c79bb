//! The dashboard's JSON API under `/api`: one module per resource, merged here. Every fal-backed
//! route is scoped by workspace (`/api/ws/{ws}/...`) and answers through the cache.

mod analytics;
mod apps;
mod export;
mod files;
pub(crate) mod live;
mod logs;
mod meta;
mod metrics;
mod openapi;
mod params;
mod requests;
pub(crate) mod respond;
mod usage;

use crate::error::AppError;
use crate::state::AppState;
use axum::routing::{any, get, post};
use axum::Router;
use shared::routes::{self, ws};

/// Every `/api` route plus the probes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::HEALTHZ, get(meta::healthz))
        .route(routes::READYZ, get(meta::readyz))
        .route(routes::METRICS, get(metrics::get_metrics))
        .route(routes::CONFIG, get(meta::get_config))
        .route(routes::OPENAPI, get(openapi::get_openapi))
        .route(ws::LIVE, get(live::get_live))
        .route(ws::LIVE_STREAM, get(live::live_stream))
        .route(ws::LIVE_HISTORY, get(live::live_history))
        .route(ws::APPS, get(apps::list_apps))
        .route(ws::ANALYTICS, get(analytics::get_analytics))
        .route(ws::ANALYTICS_CSV, get(export::analytics_csv))
        .route(ws::USAGE, get(usage::get_usage))
        .route(ws::USAGE_CSV, get(export::usage_csv))
        .route(ws::REQUESTS_CSV, get(export::requests_csv))
        .route(ws::LOGS_CSV, get(export::logs_csv))
        .route(ws::REQUESTS, get(requests::list_requests))
        .route(ws::REQUEST, get(requests::get_request))
        .route(ws::LOGS, get(logs::list_logs))
        .route(ws::LOGS_STREAM, get(logs::stream_logs))
        .route(ws::FILES, get(files::list_files))
        .route(ws::FILE_CONTENT, get(files::download_file))
        // Uploads are streamed and capped by the handler (clear 413), not by a buffered limit.
        .route(
            ws::FILE_UPLOAD,
            post(files::upload_file).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(ws::FILE_UPLOAD_URL, post(files::upload_from_url))
        // Unknown /api paths get a JSON 404, not the SPA's index.html.
        .route("/api/{*rest}", any(not_found))
}

async fn not_found() -> AppError {
    AppError::NotFound("this API route".into())
}
