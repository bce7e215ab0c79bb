//! `GET /v1/serverless/requests/by-endpoint` (REFERENCE §3): filters, sorting, page-number
//! pagination, `expand=payloads` and `expand=billing` (null until billing catches up).

use super::analytics::{resolve_endpoints, Kind};
use super::errors::FalError;
use super::paging::{page_of, PageSpec};
use super::query::{iso_ms, Query};
use super::wire::{Page, RequestItem};
use super::world::{AppKind, Outcome, SimRequest, World, BILLING_LAG_MS};
use super::Sim;
use axum::extract::{RawQuery, State};
use axum::Json;
use chrono::{Duration, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Success,
    Error,
    UserError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortBy {
    EndedAt,
    Duration,
}

/// Handler.
pub async fn by_endpoint(
    State(sim): State<Arc<Sim>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Page<RequestItem>>, FalError> {
    let q = Query::parse(raw.as_deref())?;
    let ids = q.ids("endpoint_id", true)?;
    let limit = q.limit(50, 100)?;
    let (page, pinned) = q.page()?;
    let now = pinned.unwrap_or_else(|| sim.now_ms());
    let status = q.choice(
        "status",
        &[
            ("success", Status::Success),
            ("error", Status::Error),
            ("user_error", Status::UserError),
        ],
    )?;
    let sort = q
        .choice(
            "sort_by",
            &[
                ("ended_at", SortBy::EndedAt),
                ("duration", SortBy::Duration),
            ],
        )?
        .unwrap_or(SortBy::EndedAt);
    let request_id = match q.one("request_id") {
        Some(v) => Some(
            uuid::Uuid::parse_str(v).map_err(|_| FalError::invalid("request_id must be a UUID"))?,
        ),
        None => None,
    };
    let (mut payloads, mut billing) = (false, false);
    for e in q.list("expand") {
        match e.as_str() {
            "payloads" => payloads = true,
            "billing" => billing = true,
            other => return Err(FalError::invalid(format!("unknown expand value {other:?}"))),
        }
    }
    let now_t = chrono::DateTime::<Utc>::from_timestamp_millis(now).unwrap_or_default();
    let end = q
        .instant("end", Tz::UTC)?
        .unwrap_or(now_t)
        .timestamp_millis();
    let default_span = if request_id.is_some() {
        Duration::days(90)
    } else {
        Duration::hours(24)
    };
    let start = q
        .instant("start", Tz::UTC)?
        .map_or(end - default_span.num_milliseconds(), |t| {
            t.timestamp_millis()
        });
    if start >= end {
        return Err(FalError::invalid("start must be before end"));
    }
    let sources = resolve_endpoints(&sim.world, &ids, Kind::Serverless)?;

    let candidates: Vec<SimRequest> = match request_id {
        Some(id) => sim.world.request_by_id(id).into_iter().collect(),
        None => sources
            .iter()
            .flat_map(|(s, _)| {
                sim.world
                    .requests_between(*s, start - super::world::MAX_IN_FLIGHT_MS, end)
            })
            .collect(),
    };
    let mut rows: Vec<&SimRequest> = candidates
        .iter()
        .filter(|r| r.sent_at <= now)
        .filter(|r| {
            sources
                .iter()
                .any(|(s, routes)| *s == r.source && routes.contains(&r.endpoint_id))
        })
        .filter(|r| (start..end).contains(&time_key(r, now)))
        .filter(|r| match status {
            None => true,
            Some(_) if r.ended_at > now => false,
            Some(Status::Success) => r.outcome == Outcome::Success,
            Some(Status::UserError) => r.outcome == Outcome::UserError,
            Some(Status::Error) => r.outcome.is_server_error(),
        })
        .collect();
    // Newest / longest first; unfinished rows have no duration and sort last by duration.
    match sort {
        SortBy::EndedAt => rows.sort_by(|a, b| {
            (time_key(b, now), b.request_id).cmp(&(time_key(a, now), a.request_id))
        }),
        SortBy::Duration => rows.sort_by(|a, b| {
            let d = |r: &SimRequest| if r.ended_at <= now { r.duration } else { -1.0 };
            d(b).total_cmp(&d(a)).then(b.request_id.cmp(&a.request_id))
        }),
    }
    let spec = PageSpec { page, limit, now };
    let (rows, next_cursor) = page_of(rows, &spec);
    let items = rows
        .into_iter()
        .map(|r| item(&sim.world, r, now, payloads, billing))
        .collect();
    Ok(Json(Page::new(items, next_cursor)))
}

/// The time `start`/`end` filter on: `ended_at`, or `sent_at` while unfinished.
fn time_key(r: &SimRequest, now: i64) -> i64 {
    if r.ended_at <= now {
        r.ended_at
    } else {
        r.sent_at
    }
}

fn item(world: &World, r: &SimRequest, now: i64, payloads: bool, billing: bool) -> RequestItem {
    let finished = r.ended_at <= now;
    RequestItem {
        request_id: r.request_id.to_string(),
        endpoint_id: r.endpoint_id.clone(),
        runner_id: r.runner_id.map(|u| u.to_string()),
        started_at: iso_ms(r.started_at),
        sent_at: iso_ms(r.sent_at),
        ended_at: finished.then(|| iso_ms(r.ended_at)),
        status_code: finished.then_some(r.status_code),
        duration: finished.then_some((r.duration * 1000.0).round() / 1000.0),
        json_input: payloads.then(|| input(world, r)),
        json_output: (payloads && finished).then(|| output(world, r)),
        billable_units: billing
            .then(|| (finished && r.ended_at + BILLING_LAG_MS <= now).then(|| r.billable_units())),
    }
}

const PROMPTS: [&str; 6] = [
    "a cat astronaut floating above Saturn, studio lighting",
    "isometric cozy bookshop at dusk, warm light",
    "product photo of a ceramic mug on linen, soft shadows",
    "a red fox in fresh snow, telephoto",
    "retro poster of a lighthouse in a storm",
    "watercolor map of an imaginary island",
];

fn kind(world: &World, r: &SimRequest) -> Option<AppKind> {
    world.apps.get(r.source).map(|a| a.kind)
}

/// The request's input payload.
pub fn input(world: &World, r: &SimRequest) -> Value {
    let prompt = PROMPTS[(r.draws.bits(20) % PROMPTS.len() as u64) as usize];
    match kind(world, r) {
        Some(AppKind::Image) | None => {
            json!({ "prompt": prompt, "image_size": "landscape_4_3", "num_inference_steps": 28 })
        }
        Some(AppKind::Video) => json!({ "prompt": prompt, "duration": 5, "aspect_ratio": "16:9" }),
        Some(AppKind::Llm) => {
            json!({ "messages": [{ "role": "user", "content": format!("Describe: {prompt}") }], "max_tokens": 512 })
        }
        Some(AppKind::Upscale) => {
            json!({ "image_url": format!("https://files.example.com/in/{}.png", r.request_id), "scale": 4 })
        }
        Some(AppKind::Embed) => json!({ "input": [prompt] }),
    }
}

/// The request's output payload (or fal-style error detail).
pub fn output(world: &World, r: &SimRequest) -> Value {
    match r.outcome {
        Outcome::Success => match kind(world, r) {
            Some(AppKind::Image) | None => {
                json!({ "images": [{ "url": format!("https://files.example.com/out/{}.png", r.request_id), "width": 1024, "height": 768 }], "seed": r.draws.bits(21) % 100_000 })
            }
            Some(AppKind::Video) => {
                json!({ "video": { "url": format!("https://files.example.com/out/{}.mp4", r.request_id) } })
            }
            Some(AppKind::Llm) => {
                json!({ "output": "Here is a short description…", "usage": { "completion_tokens": 80 + r.draws.bits(22) % 400 } })
            }
            Some(AppKind::Upscale) => {
                json!({ "image": { "url": format!("https://files.example.com/out/{}-x4.png", r.request_id) } })
            }
            Some(AppKind::Embed) => json!({ "embeddings": [[0.012, -0.031, 0.044]] }),
        },
        Outcome::UserError => {
            json!({ "detail": [{ "loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing" }] })
        }
        _ => json!({ "detail": "Internal server error" }),
    }
}
