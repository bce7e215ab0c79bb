//! Assembles the whole HTTP app: API routes, the SPA fallback and the middleware stack.

use crate::spa::{self, Assets};
use crate::state::AppState;
use axum::extract::{MatchedPath, Request};
use axum::Router;
use tower_http::trace::TraceLayer;

/// The full falscope app. Tests call this to run it without a socket.
pub fn app(state: AppState, assets: Assets) -> Router {
    let spa = Router::new().fallback(spa::serve).with_state(assets);
    crate::api::router()
        .with_state(state)
        .fallback_service(spa)
        // Outermost: one span per request, named by the matched route (not the raw path,
        // which would put ids and file names into span names).
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or("fallback", MatchedPath::as_str);
            tracing::info_span!("http", method = %req.method(), route)
        }))
}
