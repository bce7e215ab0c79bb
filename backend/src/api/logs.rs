//! Log history with filters and paging, and the live tail (`reports::logs`).

use super::query::Query;
use super::respond::fetched;
use crate::error::AppError;
use crate::reports::Reports;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use shared::query::{LogFilter, LogsQuery};

/// `GET /api/ws/{ws}/logs`.
pub async fn list_logs(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
    Query(q): Query<LogsQuery>,
) -> Result<Response, AppError> {
    Ok(fetched(&reports.logs(&ws, &q).await?))
}

/// `GET /api/ws/{ws}/logs/stream`: live tail (event `log`, data `LogLine`; event `status`).
/// Viewers with the same filter share one fal stream.
pub async fn stream_logs(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
    Query(filter): Query<LogFilter>,
) -> Result<axum::response::Response, AppError> {
    use crate::reports::TailEvent;
    use axum::response::sse::{Event, KeepAlive, Sse};
    use axum::response::IntoResponse;
    use futures::StreamExt;
    use shared::events::{StreamStatus, LOG, STATUS};
    use tokio_stream::wrappers::BroadcastStream;

    state.reports.workspace(&ws)?;
    let guard = crate::state::SseGuard::acquire(&state.limits, &caller)?;
    let sub = state.reports.tail(&ws, &filter)?;
    let end = state.stream_end(&caller);
    let status = |s: &StreamStatus| {
        Event::default()
            .event(STATUS)
            .json_data(s)
            .unwrap_or_default()
    };
    let keep = sub.keep;
    let events = BroadcastStream::new(sub.rx)
        .map(move |item| {
            let _alive = (&guard, &keep);
            match item {
                Ok(TailEvent::Line(line)) => Ok(Event::default()
                    .event(LOG)
                    .json_data(&*line)
                    .unwrap_or_default()),
                Ok(TailEvent::Status(s)) => Ok(status(&s)),
                // Too slow for the shared stream: tell the viewer, then end its stream.
                Err(_) => Err(status(&StreamStatus::Lagged)),
            }
        })
        .scan(false, |ended, item| {
            let out = match (*ended, item) {
                (true, _) => None,
                (false, Ok(ev)) => Some(ev),
                (false, Err(ev)) => {
                    *ended = true;
                    Some(ev)
                }
            };
            std::future::ready(out)
        })
        .map(Ok::<_, std::convert::Infallible>)
        .take_until(end);
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response())
}
