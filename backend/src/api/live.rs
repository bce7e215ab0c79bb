//! Live per-app numbers: the latest snapshot, its SSE stream, and the stored history.

use super::params::Params;
use super::respond::fetched;
use crate::auth::Caller;
use crate::cache::{key, Cached};
use crate::error::AppError;
use crate::state::{AppState, SseGuard};
use crate::upstream::FalApi;
use axum::extract::{Path, RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use chrono::Duration;
use futures::StreamExt;
use shared::live::LiveHistory;
use shared::LiveSnapshot;
use tokio_stream::wrappers::WatchStream;

/// fal caches metrics for 10 s; asking more often only repeats the same numbers.
pub const METRICS_TTL: std::time::Duration = std::time::Duration::from_secs(10);
/// Points per app a history chart needs at most.
const HISTORY_POINTS: i64 = 600;

/// The workspace's snapshot through the cache (shared by the handler and the poller).
pub async fn snapshot(state: &AppState, ws: &str) -> Result<Cached<LiveSnapshot>, AppError> {
    let w = state.workspace(ws)?;
    let fal = w.fal.clone();
    let clock = state.clock.clone();
    Ok(state
        .cache
        .get_or_fetch(
            key(&w.id, "metrics", &[], None),
            |_| METRICS_TTL,
            move || async move { Ok(fal.metrics().await?.to_live(clock.now())) },
        )
        .await?)
}

/// `GET /api/ws/{ws}/live`.
pub async fn get_live(
    State(state): State<AppState>,
    Path(ws): Path<String>,
) -> Result<Response, AppError> {
    Ok(fetched(&snapshot(&state, &ws).await?))
}

/// `GET /api/ws/{ws}/live/stream`: the current snapshot, then every new one (event
/// `snapshot`, data `Fetched<LiveSnapshot>`). Served from the poller; never calls fal itself.
pub async fn live_stream(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, AppError> {
    let w = state.workspace(&ws)?;
    let guard = SseGuard::acquire(&state, &caller)?;
    let shutdown = state.shutdown.clone().cancelled_owned();
    let events = WatchStream::new(w.live.subscribe())
        .filter_map(|published| async move { published })
        .map(move |published| {
            let _alive = &guard;
            let data = String::from_utf8_lossy(&published.json).into_owned();
            Ok::<_, std::convert::Infallible>(
                Event::default().event(shared::events::SNAPSHOT).data(data),
            )
        })
        .take_until(shutdown);
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response())
}

/// `GET /api/ws/{ws}/live/history?from=&to=`: stored samples, averaged to ≤ 600 points per app.
pub async fn live_history(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<LiveHistory>, AppError> {
    let p = Params::parse(raw.as_deref(), &["from", "to"])?;
    let (from, to) = p.range(state.now(), Duration::hours(6))?;
    let w = state.workspace(&ws)?;
    let Some(store) = state.store.clone() else {
        return Ok(Json(LiveHistory {
            samples: Vec::new(),
        }));
    };
    let step = ((to - from).num_seconds() / HISTORY_POINTS)
        .max(crate::live::POLL_INTERVAL.as_secs() as i64);
    let id = w.id.clone();
    let samples = tokio::task::spawn_blocking(move || store.query(&id, from, to, step))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    Ok(Json(LiveHistory { samples }))
}
