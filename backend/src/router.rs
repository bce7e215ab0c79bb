//! Assembles the whole HTTP app: API routes, the SPA fallback and the middleware stack.

use crate::guard::{self, CallerKey};
use crate::spa::{self, Assets};
use crate::state::AppState;
use axum::extract::{MatchedPath, Request};
use axum::Router;
use std::sync::Arc;
use tower_http::trace::TraceLayer;

/// The full falscope app. `rate_limit` is requests per second per caller (0: off).
pub fn app(state: AppState, assets: Assets, rate_limit: u32) -> Router {
    let spa = Router::new().fallback(spa::serve).with_state(assets);
    let mut router = crate::api::router(&state)
        .with_state(state.clone())
        .fallback_service(spa);
    if rate_limit > 0 {
        // The limit counted across replicas sits inside this replica's own: a request the
        // local limiter refuses costs no Redis round trip.
        if state.cluster.is_shared() {
            let shared = guard::SharedLimit {
                cluster: state.cluster.clone(),
                per_second: rate_limit,
            };
            router = router.layer(axum::middleware::from_fn_with_state(
                shared,
                guard::shared_rate_limit,
            ));
        }
        if let Some(config) = tower_governor::governor::GovernorConfigBuilder::default()
            .per_nanosecond(1_000_000_000 / u64::from(rate_limit))
            .burst_size(rate_limit.saturating_mul(10))
            .key_extractor(CallerKey)
            .finish()
        {
            let config = Arc::new(config);
            // Forget callers idle for a while, so the limiter's map stays bounded.
            let limiter = config.limiter().clone();
            let shutdown = state.shutdown.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
                loop {
                    tokio::select! {
                        _ = tick.tick() => limiter.retain_recent(),
                        () = shutdown.cancelled() => break,
                    }
                }
            });
            router = router.layer(
                tower_governor::GovernorLayer::new(config).error_handler(guard::rate_limited),
            );
        }
    }
    router
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state,
            guard::security_headers,
        ))
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
