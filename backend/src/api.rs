//! The dashboard's JSON API under `/api`: one module per resource, merged here from one table of
//! routes and their least roles. Handlers are glue: they extract the view's typed query
//! ([`query::Query`] over `shared::query`), call one `crate::reports` entry point and answer
//! with its `shared` DTO (`respond`). Every fal-backed route is scoped by workspace
//! (`/api/ws/{ws}/...`). Nothing outside this module (and the router that mounts it) imports
//! from it.

mod alerts;
mod analytics;
mod apps;
mod budgets;
mod cost;
mod export;
mod files;
mod forecast;
mod live;
mod logs;
mod meta;
mod metrics;
mod models;
mod openapi;
pub mod query;
mod requests;
mod respond;
mod signin;
mod split;
mod usage;

use crate::error::AppError;
use crate::guard::{guard, Access};
use crate::state::AppState;
use axum::http::Method;
use axum::routing::{any, delete, get, post, put, MethodRouter};
use axum::Router;
use shared::auth::Role;
use shared::routes::{self, ws};

/// One route: who may call it and what answers.
pub struct Route {
    /// Its method.
    pub method: Method,
    /// Its path template (`shared::routes`).
    pub path: &'static str,
    /// The least role that may call it.
    pub access: Access,
    handler: MethodRouter<AppState>,
}

/// Every route falscope answers besides the SPA, with the least role that may call it. The
/// router is built from this table alone, so a route cannot exist without a rule; the
/// role × route test walks it.
pub fn table() -> Vec<Route> {
    use Access::Public;
    let (viewer, operator, billing, admin) = (
        Access::Role(Role::Viewer),
        Access::Role(Role::Operator),
        Access::Role(Role::Billing),
        Access::Role(Role::Admin),
    );
    let r = |method: Method, path, access, handler| Route {
        method,
        path,
        access,
        handler,
    };
    let (g, p, u) = (Method::GET, Method::POST, Method::PUT);
    vec![
        r(g.clone(), routes::HEALTHZ, Public, get(meta::healthz)),
        r(g.clone(), routes::READYZ, Public, get(meta::readyz)),
        r(g.clone(), routes::CONFIG, Public, get(meta::get_config)),
        // Anyone may start a sign-in: its body gets the header deadline too.
        r(
            p.clone(),
            routes::LOGIN,
            Public,
            post(signin::login).layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
                crate::server::HEADER_TIMEOUT,
            )),
        ),
        r(p.clone(), routes::LOGOUT, Public, post(signin::logout)),
        r(
            g.clone(),
            routes::METRICS,
            viewer,
            get(metrics::get_metrics),
        ),
        r(
            g.clone(),
            routes::OPENAPI,
            viewer,
            get(openapi::get_openapi),
        ),
        r(g.clone(), routes::AUDIT, admin, get(signin::list_audit)),
        r(g.clone(), ws::LIVE, viewer, get(live::get_live)),
        r(g.clone(), ws::LIVE_STREAM, viewer, get(live::live_stream)),
        r(g.clone(), ws::LIVE_HISTORY, viewer, get(live::live_history)),
        r(g.clone(), ws::APPS, viewer, get(apps::list_apps)),
        r(
            g.clone(),
            ws::ENDPOINTS,
            viewer,
            get(apps::default_endpoints),
        ),
        r(
            g.clone(),
            ws::ANALYTICS,
            viewer,
            get(analytics::get_analytics),
        ),
        r(
            g.clone(),
            ws::ANALYTICS_CSV,
            viewer,
            get(export::analytics_csv),
        ),
        r(g.clone(), ws::USAGE, billing, get(usage::get_usage)),
        r(g.clone(), ws::USAGE_CSV, billing, get(export::usage_csv)),
        r(g.clone(), ws::COST, billing, get(cost::get_cost)),
        r(
            g.clone(),
            ws::FORECAST,
            billing,
            get(forecast::get_forecast),
        ),
        r(g.clone(), ws::SPLIT, billing, get(split::get_split)),
        r(g.clone(), ws::CREDITS, billing, get(forecast::get_credits)),
        r(g.clone(), ws::BUDGETS, billing, get(budgets::list_budgets)),
        r(u.clone(), ws::BUDGETS, billing, put(budgets::put_budget)),
        r(g.clone(), ws::PRICES, billing, get(budgets::list_prices)),
        r(u, ws::PRICES, admin, put(budgets::put_price)),
        r(g.clone(), ws::ALERTS, viewer, get(alerts::get_alerts)),
        r(
            p.clone(),
            ws::ALERT_RULES,
            operator,
            post(alerts::create_rule),
        ),
        r(
            Method::DELETE,
            ws::ALERT_RULE,
            operator,
            delete(alerts::delete_rule),
        ),
        r(
            Method::PUT,
            ws::ALERT_RULE,
            operator,
            put(alerts::update_rule),
        ),
        r(p.clone(), ws::ALERT_TEST, operator, post(alerts::send_test)),
        r(
            g.clone(),
            ws::REQUESTS,
            viewer,
            get(requests::list_requests),
        ),
        r(
            g.clone(),
            ws::REQUESTS_CSV,
            viewer,
            get(export::requests_csv),
        ),
        r(g.clone(), ws::REQUEST, viewer, get(requests::get_request)),
        r(g.clone(), ws::LOGS, viewer, get(logs::list_logs)),
        r(g.clone(), ws::LOGS_CSV, viewer, get(export::logs_csv)),
        r(g.clone(), ws::LOGS_STREAM, viewer, get(logs::stream_logs)),
        r(g.clone(), ws::FILES, viewer, get(files::list_files)),
        r(
            g.clone(),
            ws::FILE_CONTENT,
            operator,
            get(files::download_file),
        ),
        // Uploads are streamed and capped by the handler (clear 413), not by a buffered limit.
        r(
            p.clone(),
            ws::FILE_UPLOAD,
            operator,
            post(files::upload_file).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        r(
            p.clone(),
            ws::FILE_UPLOAD_URL,
            operator,
            post(files::upload_from_url),
        ),
        r(p, ws::QUEUE_FLUSH, operator, post(apps::flush_queue)),
        r(g.clone(), ws::MODELS, viewer, get(models::list_models)),
        r(Method::PUT, ws::MODELS, operator, put(models::put_model)),
        r(
            Method::DELETE,
            ws::MODELS,
            operator,
            delete(models::delete_model),
        ),
        r(g, ws::MODELS_REPORT, viewer, get(models::get_report)),
    ]
}

/// Every route of [`table`], each behind its guard, plus a JSON 404 for other `/api` paths.
pub fn router(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for route in table() {
        let layer = axum::middleware::from_fn_with_state((state.clone(), route.access), guard);
        router = router.route(route.path, route.handler.route_layer(layer));
    }
    // Unknown /api paths get a JSON 404, not the SPA's index.html.
    router.route("/api/{*rest}", any(not_found))
}

async fn not_found() -> AppError {
    AppError::NotFound("this API route".into())
}
