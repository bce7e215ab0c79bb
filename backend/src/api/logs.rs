//! Log history with filters and paging.

use super::params::Params;
use super::respond::fetched;
use crate::cache::key;
use crate::error::AppError;
use crate::state::AppState;
use crate::upstream::models::{LabelCondition, LabelFilter, LabelValue};
use crate::upstream::query::LogsQuery;
use crate::upstream::FalApi;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use chrono::{Duration, Utc};
use shared::logs::{LogLevel, LogLine, LogsPage};
use std::sync::Arc;

/// Log history of a past range never changes; recent ranges gain lines — 15 s is a fair trade.
const LOGS_TTL: std::time::Duration = std::time::Duration::from_secs(15);
pub const ALLOWED: &[&str] = &[
    "from",
    "to",
    "apps",
    "level",
    "search",
    "request_id",
    "label",
    "limit",
    "cursor",
];

/// The filters shared by history and the live tail.
pub fn filters(
    p: &Params,
    now: chrono::DateTime<Utc>,
) -> Result<(LogsQuery, Vec<LabelFilter>), AppError> {
    let (from, to) = p.range(now, Duration::hours(1))?;
    let level = match p.get("level") {
        Some(v) => Some(LogLevel::parse(v).ok_or_else(|| {
            AppError::invalid(
                "level",
                "must be one of: debug, info, warning, error, critical",
            )
        })?),
        None => None,
    };
    let mut labels = Vec::new();
    for spec in p.list("label", 20)? {
        let (k, v, cond) = match spec.split_once("!=") {
            Some((k, v)) => (k, v, LabelCondition::NotEquals),
            None => match spec.split_once('=') {
                Some((k, v)) => (k, v, LabelCondition::Equals),
                None => return Err(AppError::invalid("label", "use key=value or key!=value")),
            },
        };
        labels.push(LabelFilter {
            key: k.trim().to_owned(),
            value: LabelValue::One(v.trim().to_owned()),
            condition_type: Some(cond),
        });
    }
    let q = LogsQuery {
        start: Some(from),
        end: Some(to),
        app_ids: p.list("apps", 50)?,
        level: level.map(|l| l.as_str().to_owned()),
        search: p.get("search").map(str::to_owned),
        request_id: p.get("request_id").map(str::to_owned),
        ..LogsQuery::default()
    };
    Ok((q, labels))
}

/// `GET /api/ws/{ws}/logs`.
pub async fn list_logs(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let p = Params::parse(raw.as_deref(), ALLOWED)?;
    let (mut q, labels) = filters(&p, state.now())?;
    q.limit = Some(p.int("limit", 200, 1, 1000)?);
    q.cursor = p.get("cursor").map(str::to_owned);
    let w = state.workspace(&ws)?;
    let fal: Arc<dyn FalApi> = w.fal.clone();
    let body = serde_json::to_string(&labels).unwrap_or_default();
    let cached = state
        .cache
        .get_or_fetch(
            key(&w.id, "logs", &p.pairs(), Some(&body)),
            |_| LOGS_TTL,
            move || async move {
                let page = fal.logs_history(&q, &labels).await?;
                Ok(LogsPage {
                    items: page.items.into_iter().map(LogLine::from).collect(),
                    next_cursor: page.next_cursor,
                })
            },
        )
        .await?;
    Ok(fetched::<LogsPage>(&cached))
}

/// `GET /api/ws/{ws}/logs/stream`: live tail (event `log`, data `LogLine`; event `status`).
/// Viewers with the same filter share one fal stream.
pub async fn stream_logs(
    State(state): State<AppState>,
    Path(ws): Path<String>,
    RawQuery(raw): RawQuery,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
) -> Result<axum::response::Response, AppError> {
    use crate::logs_hub::TailEvent;
    use axum::response::sse::{Event, KeepAlive, Sse};
    use axum::response::IntoResponse;
    use futures::StreamExt;
    use shared::events::{StreamStatus, LOG, STATUS};
    use tokio_stream::wrappers::BroadcastStream;

    let p = Params::parse(
        raw.as_deref(),
        &["apps", "level", "search", "request_id", "label"],
    )?;
    let (mut q, labels) = filters(&p, state.now())?;
    let guard = crate::state::SseGuard::acquire(&state, &caller)?;
    // Live only: no replay window and no end.
    q.start = None;
    q.end = None;
    let w = state.workspace(&ws)?;
    let body = serde_json::to_string(&labels).unwrap_or_default();
    let key = key(&w.id, "logs_stream", &p.pairs(), Some(&body));
    let sub = w.logs.subscribe(w.fal.clone(), key, q, labels);
    let shutdown = state.shutdown.clone().cancelled_owned();
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
        .take_until(shutdown);
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response())
}
