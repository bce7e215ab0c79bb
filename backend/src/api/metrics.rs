//! `GET /metrics` in Prometheus' text format (`reports::metrics`): only the workspaces the
//! caller may see, and spend only for a caller who may see billing data.

use super::requests::may_see_cost;
use crate::auth::Caller;
use crate::reports::Scrape;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Extension;
use std::sync::atomic::Ordering;

/// `GET /metrics`.
pub async fn get_metrics(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> impl IntoResponse {
    let workspaces: Vec<_> = (state.reports.workspaces().iter())
        .filter(|w| (caller.identity.as_ref()).is_some_and(|i| state.auth.may_see(i, &w.id)))
        .cloned()
        .collect();
    let mut alerts = state.alerts.states();
    alerts.retain(|(rule, _)| workspaces.iter().any(|w| w.id == rule.workspace));
    let scrape = Scrape {
        workspaces,
        cost: may_see_cost(&caller),
        alerts,
        sse_clients: state.limits.sse_clients.load(Ordering::Relaxed),
        cluster: Some(&*state.cluster).filter(|c| c.is_shared()),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.reports.metrics(scrape).await,
    )
}
