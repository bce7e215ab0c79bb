//! Logs (REFERENCE §5): lines generated from the same requests the other operations report,
//! `POST /v1/serverless/logs/history` (newest first, exclusive timestamp cursor) and
//! `POST /v1/serverless/logs/stream` (Server-Sent Events, optional replay from `start`).

use super::errors::FalError;
use super::faults::Effects;
use super::query::{iso_ms, Query};
use super::wire::{LabelCondition, LabelFilter, LabelValue, LogEntry, LogLevel, Page};
use super::world::{Outcome, SimRequest, World, MAX_IN_FLIGHT_MS};
use super::Sim;
use axum::extract::{RawQuery, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use chrono_tz::Tz;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// `level` filter values: fal gives no list (§5.0); REFERENCE suggests accepting `warn` too.
const LEVEL_NAMES: [(&str, LogLevel); 6] = [
    ("debug", LogLevel::Debug),
    ("info", LogLevel::Info),
    ("warning", LogLevel::Warning),
    ("warn", LogLevel::Warning),
    ("error", LogLevel::Error),
    ("critical", LogLevel::Critical),
];

/// A generated line before filtering; `order` breaks timestamp ties deterministically.
#[derive(Debug, Clone)]
pub struct Line {
    /// Unix ms.
    pub ts: i64,
    /// Tie-breaker within a millisecond.
    pub order: u64,
    /// Index of the app.
    pub app: usize,
    /// Level.
    pub level: LogLevel,
    /// Message without traceback.
    pub message: String,
    /// Traceback appended when `traceback=true`.
    pub traceback: Option<&'static str>,
    /// `gateway` for request handling, `grpc-run` for runner lifecycle.
    pub run_source: &'static str,
    /// Labels (`fal_request_id`, `fal_runner_id`, `fal_job_id`, `fal_endpoint`).
    pub labels: BTreeMap<String, String>,
}

const TRACEBACK: &str = "Traceback (most recent call last):\n  File \"/app/handler.py\", line 88, in __call__\n    result = self.pipeline(**inputs)\n  File \"/app/pipeline.py\", line 214, in run\n    latents = self.unet(latents, t)\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB";

/// The lines one request produces.
pub fn lines_for(world: &World, r: &SimRequest) -> Vec<Line> {
    let Some(spec) = world.apps.get(r.source) else {
        return Vec::new();
    };
    let mut labels = BTreeMap::from([
        ("fal_request_id".to_owned(), r.request_id.to_string()),
        ("fal_endpoint".to_owned(), r.endpoint_id.clone()),
    ]);
    if let Some(runner) = r.runner_id {
        labels.insert("fal_runner_id".into(), runner.to_string());
        labels.insert(
            "fal_job_id".into(),
            format!("job_{}", &runner.simple().to_string()[..12]),
        );
    }
    let base = (r.request_id.as_u128() as u64) & !0xF;
    let mut out = Vec::new();
    let mut push = |ts: i64, level, message: String, run_source, traceback| {
        out.push(Line {
            ts,
            order: base | out.len() as u64,
            app: r.source,
            level,
            message,
            traceback,
            run_source,
            labels: labels.clone(),
        });
    };
    // The id's random tail: its head is the timestamp, shared by every request of a minute.
    let id = r.request_id.to_string();
    let short = &id[id.len() - 12..];
    if let Some(cold) = r.cold_boot {
        let boot = r.started_at - (cold * 1000.0) as i64;
        push(
            boot,
            LogLevel::Info,
            format!(
                "Starting new runner on {} (cold start)",
                spec.machine.usage_name
            ),
            "grpc-run",
            None,
        );
        if r.outcome == Outcome::StartupError {
            push(
                r.started_at,
                LogLevel::Critical,
                format!("Runner failed to start within startup_timeout; request {short} failed"),
                "grpc-run",
                None,
            );
            return out;
        }
        push(
            r.started_at - 20,
            LogLevel::Debug,
            format!("Model weights loaded in {cold:.1}s"),
            "grpc-run",
            None,
        );
    }
    push(
        r.started_at,
        LogLevel::Info,
        format!("Processing request {short} on {}", r.endpoint_id),
        "gateway",
        None,
    );
    let mid = r.started_at + ((r.ended_at - r.started_at) / 2).max(1);
    push(
        mid,
        LogLevel::Debug,
        format!("step {}/{}", 10 + r.draws.bits(30) % 20, 28),
        "gateway",
        None,
    );
    if r.outcome == Outcome::UserError && r.draws.bits(31).is_multiple_of(3) {
        // Apps log what their users sent: a message may be anything a user typed, including
        // a spreadsheet formula, quotes, commas and a line break (falscope's exports must
        // carry it safely).
        push(
            mid,
            LogLevel::Debug,
            "=HYPERLINK(\"http://evil.example\",\"open\"), \"quoted\"\nsecond line".to_owned(),
            "gateway",
            None,
        );
    }
    let (level, message, tb) = match r.outcome {
        Outcome::Success => (
            LogLevel::Info,
            format!("Request {short} completed in {:.2}s", r.duration),
            None,
        ),
        Outcome::UserError => (
            LogLevel::Warning,
            format!(
                "Request {short} rejected: input validation failed (HTTP {})",
                r.status_code
            ),
            None,
        ),
        Outcome::RuntimeError => (
            LogLevel::Error,
            format!("Request {short} failed: unhandled exception in handler"),
            Some(TRACEBACK),
        ),
        Outcome::TimeoutError => (
            LogLevel::Error,
            format!(
                "Request {short} exceeded request_timeout ({:.0}s)",
                r.duration
            ),
            None,
        ),
        Outcome::ConnectionError => (
            LogLevel::Error,
            format!("Request {short} failed: connection to runner lost"),
            None,
        ),
        Outcome::StartupError => (
            LogLevel::Critical,
            format!("Request {short} failed before dispatch"),
            None,
        ),
    };
    push(r.ended_at.max(mid + 1), level, message, "gateway", tb);
    out
}

/// Filters shared by history and stream.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    apps: Option<Vec<usize>>,
    revision: Option<String>,
    run_source: Option<&'static str>,
    traceback: bool,
    search: Option<String>,
    level: Option<LogLevel>,
    job_id: Option<String>,
    request_id: Option<String>,
    labels: Vec<LabelFilter>,
}

impl Filter {
    /// Reads the query parameters and the label-filter body.
    pub fn parse(world: &World, q: &Query, body: &Bytes) -> Result<Self, FalError> {
        let app_ids = q.ids("app_id", false)?;
        let apps = (!app_ids.is_empty()).then(|| {
            (0..world.apps.len())
                .filter(|i| app_ids.contains(&world.app_id(*i)))
                .collect()
        });
        let labels: Vec<LabelFilter> = if body.iter().all(u8::is_ascii_whitespace) {
            Vec::new()
        } else {
            serde_json::from_slice(body).map_err(|e| {
                FalError::invalid(format!("body must be an array of label filters: {e}"))
            })?
        };
        Ok(Self {
            apps,
            revision: q.one("revision").map(str::to_owned),
            run_source: q.choice(
                "run_source",
                &[
                    ("grpc-run", "grpc-run"),
                    ("grpc-register", "grpc-register"),
                    ("gateway", "gateway"),
                    ("cron", "cron"),
                ],
            )?,
            traceback: q.flag("traceback", false)?,
            search: q.one("search").map(str::to_lowercase),
            level: q.choice("level", &LEVEL_NAMES)?,
            job_id: q.one("job_id").map(str::to_owned),
            request_id: q.one("request_id").map(str::to_owned),
            labels,
        })
    }

    fn matches(&self, world: &World, l: &Line) -> bool {
        let label = |k: &str| l.labels.get(k).map(String::as_str);
        self.apps.as_ref().is_none_or(|a| a.contains(&l.app))
            && self
                .revision
                .as_ref()
                .is_none_or(|r| *r == world.revision(world.apps[l.app].name, l.ts))
            && self.run_source.is_none_or(|s| s == l.run_source)
            && self
                .search
                .as_ref()
                .is_none_or(|s| l.message.to_lowercase().contains(s.as_str()))
            && self.level.is_none_or(|min| l.level >= min)
            && self
                .job_id
                .as_ref()
                .is_none_or(|j| label("fal_job_id") == Some(j))
            && self
                .request_id
                .as_ref()
                .is_none_or(|r| label("fal_request_id") == Some(r))
            && self.labels.iter().all(|f| label_matches(f, label(&f.key)))
    }

    fn entry(&self, world: &World, l: &Line) -> LogEntry {
        let spec = &world.apps[l.app];
        let message = match (self.traceback, l.traceback) {
            (true, Some(tb)) => format!("{}\n{tb}", l.message),
            _ => l.message.clone(),
        };
        LogEntry {
            timestamp: iso_ms(l.ts),
            level: l.level,
            message,
            app: spec.name.to_owned(),
            revision: world.revision(spec.name, l.ts),
            labels: Some(l.labels.clone()),
        }
    }
}

fn label_matches(f: &LabelFilter, actual: Option<&str>) -> bool {
    let values: Vec<&str> = match &f.value {
        LabelValue::One(v) => vec![v.as_str()],
        LabelValue::Many(vs) => vs.iter().map(String::as_str).collect(),
    };
    let default = match f.value {
        LabelValue::One(_) => LabelCondition::Equals,
        LabelValue::Many(_) => LabelCondition::In,
    };
    let hit = actual.is_some_and(|a| values.contains(&a));
    match f.condition_type.unwrap_or(default) {
        LabelCondition::Equals | LabelCondition::In => hit,
        LabelCondition::NotEquals | LabelCondition::NotIn => !hit,
    }
}

/// Every line with `from <= ts < to`, newest first.
pub fn lines_between(world: &World, from: i64, to: i64) -> Vec<Line> {
    let mut lines: Vec<Line> = (0..world.apps.len())
        .flat_map(|app| world.requests_between(app, from - MAX_IN_FLIGHT_MS, to))
        .flat_map(|r| lines_for(world, &r))
        .filter(|l| l.ts >= from && l.ts < to)
        .collect();
    lines.sort_by_key(|l| std::cmp::Reverse((l.ts, l.order)));
    lines
}

/// `POST /v1/serverless/logs/history`.
pub async fn history(
    State(sim): State<Arc<Sim>>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Json<Page<LogEntry>>, FalError> {
    let q = Query::parse(raw.as_deref())?;
    let filter = Filter::parse(&sim.world, &q, &body)?;
    let limit = q.limit(100, 1000)?;
    let now = sim.now_ms();
    let end = q
        .instant("end", Tz::UTC)?
        .map_or(now, |t| t.timestamp_millis())
        .min(now + 1);
    let start = q
        .instant("start", Tz::UTC)?
        .map_or(end - 86_400_000, |t| t.timestamp_millis());
    let until = match q.instant("cursor", Tz::UTC)? {
        Some(c) => c.timestamp_millis().min(end),
        None => end,
    };
    if start >= end {
        return Err(FalError::invalid("start must be before end"));
    }
    let matching: Vec<Line> = lines_between(&sim.world, start, until)
        .into_iter()
        .filter(|l| filter.matches(&sim.world, l))
        .collect();
    let mut page: Vec<&Line> = matching.iter().take(limit).collect();
    let more = matching.len() > page.len();
    if more {
        // The cursor is an exclusive timestamp bound: never end a page inside a run of lines
        // sharing one millisecond, or the next page would skip the rest of the run.
        let boundary = matching[page.len()].ts;
        let keep = page
            .iter()
            .rposition(|l| l.ts != boundary)
            .map_or(page.len(), |i| i + 1);
        page.truncate(keep);
    }
    let next_cursor = (more && !page.is_empty()).then(|| iso_ms(page[page.len() - 1].ts));
    let items = page
        .into_iter()
        .map(|l| filter.entry(&sim.world, l))
        .collect();
    Ok(Json(Page::new(items, next_cursor)))
}

/// How often the live stream looks for new lines.
const STREAM_TICK: Duration = Duration::from_millis(50);

/// `POST /v1/serverless/logs/stream`.
pub async fn stream(
    State(sim): State<Arc<Sim>>,
    Extension(fx): Extension<Effects>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, FalError> {
    let q = Query::parse(raw.as_deref())?;
    let filter = Filter::parse(&sim.world, &q, &body)?;
    let now = sim.now_ms();
    // fal's documented default: without `start` the stream first replays the last 24 hours
    // (REFERENCE §0.1, §5.0), so a client that forgets it shows in a test.
    let start = q
        .instant("start", Tz::UTC)?
        .map_or(now - 86_400_000, |t| t.timestamp_millis());
    let end = q.instant("end", Tz::UTC)?.map(|t| t.timestamp_millis());
    if end.is_some_and(|e| start >= e) {
        return Err(FalError::invalid("start must be before end"));
    }
    let limit = fx.drop_stream_after.map(|n| n as usize);
    // fal does not document how often it sends keep-alives (§0.1): with shape variation they
    // come nearly a minute apart, and events carry an added field.
    let keep_alive = if sim.shape_variation { 55 } else { 15 };
    let events = async_stream(sim, filter, start, end);
    let events = futures::StreamExt::take(events, limit.unwrap_or(usize::MAX));
    Ok(Sse::new(events)
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(keep_alive))
                .text("keep-alive"),
        )
        .into_response())
}

fn async_stream(
    sim: Arc<Sim>,
    filter: Filter,
    start: i64,
    end: Option<i64>,
) -> impl futures::Stream<Item = Result<Event, std::convert::Infallible>> {
    // State: the exclusive lower bound already sent, and lines waiting to go out.
    let state = (start, Vec::<LogEntry>::new(), false);
    futures::stream::unfold(state, move |(mut sent_to, mut pending, mut done)| {
        let sim = sim.clone();
        let filter = filter.clone();
        async move {
            loop {
                if let Some(entry) = pending.pop() {
                    let mut data = serde_json::to_value(&entry).unwrap_or_default();
                    if sim.shape_variation {
                        super::shape::vary("logs_stream", &mut data);
                    }
                    let data = data.to_string();
                    return Some((Ok(Event::default().data(data)), (sent_to, pending, done)));
                }
                if done {
                    return None;
                }
                let now = sim.now_ms();
                let upto = end.map_or(now + 1, |e| e.min(now + 1));
                if upto > sent_to {
                    // Oldest last in `pending`, so `pop` sends in time order.
                    pending = lines_between(&sim.world, sent_to, upto)
                        .into_iter()
                        .filter(|l| filter.matches(&sim.world, l))
                        .map(|l| filter.entry(&sim.world, &l))
                        .collect();
                    sent_to = upto;
                }
                if end.is_some_and(|e| sent_to >= e) {
                    done = true;
                    continue;
                }
                if pending.is_empty() {
                    tokio::time::sleep(STREAM_TICK).await;
                }
            }
        }
    })
}
