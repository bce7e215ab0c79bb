//! Live per-app numbers: the latest snapshot, its SSE stream, and the stored history.

use super::query::Query;
use super::respond::fetched;
use crate::auth::Caller;
use crate::error::AppError;
use crate::reports::Reports;
use crate::state::{AppState, SseGuard};
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use futures::StreamExt;
use shared::live::LiveHistory;
use shared::query::LiveHistoryQuery;
use tokio_stream::wrappers::WatchStream;

/// `GET /api/ws/{ws}/live`.
pub async fn get_live(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
) -> Result<Response, AppError> {
    Ok(fetched(&reports.live(&ws).await?))
}

/// `GET /api/ws/{ws}/live/stream`: the current snapshot, then every new one (event
/// `snapshot`, data `Fetched<LiveSnapshot>`, again when it turns stale), and event `failed`
/// (data `ApiError`) while there is none to show. Served from the poller; never calls fal.
pub async fn live_stream(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, AppError> {
    let w = state.workspace(&ws)?;
    let guard = SseGuard::acquire(&state.limits, &caller)?;
    let end = state.stream_end(&caller);
    let snapshots = WatchStream::new(w.live.subscribe())
        .filter_map(|published| async move { published })
        .map(|published| {
            Event::default()
                .event(shared::events::SNAPSHOT)
                .data(String::from_utf8_lossy(&published.json))
        });
    let failures = WatchStream::new(w.live_failure.subscribe())
        .filter_map(|failure| async move { failure })
        .map(|body| {
            Event::default()
                .event(shared::events::FAILED)
                .data(String::from_utf8_lossy(&body))
        });
    let events = futures::stream::select(snapshots, failures)
        .map(move |event| {
            let _alive = &guard;
            Ok::<_, std::convert::Infallible>(event)
        })
        .take_until(end);
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response())
}

/// `GET /api/ws/{ws}/live/history?from=&to=`: stored samples, averaged to ≤ 600 points per app.
pub async fn live_history(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
    Query(q): Query<LiveHistoryQuery>,
) -> Result<Json<LiveHistory>, AppError> {
    Ok(Json(reports.live_history(&ws, &q).await?))
}
