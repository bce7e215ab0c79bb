//! `GET /v1/serverless/usage` (ADMIN; REFERENCE §4): machine-seconds and cost per app, machine
//! type and surge flag, bucketed in the requested zone.
//!
//! Usage per app-minute = execution seconds of the requests sent that minute + their cold-start
//! seconds + idle seconds (min_concurrency runners, plus a keep-alive tail of 35% of the busy
//! time). It is therefore always ≥ the sum of request durations, as on fal.

use super::errors::FalError;
use super::paging::{page_of, PageSpec};
use super::query::Query;
use super::timeframe::{bucket_label, Range};
use super::wire::{Aggregates, Bucket, UsageRow, UsageUnit};
use super::world::{World, MINUTE_MS};
use super::Sim;
use axum::extract::{RawQuery, State};
use axum::Json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Share of busy time runners stay warm afterwards (keep-alive tail).
pub const KEEP_ALIVE_SHARE: f64 = 0.35;

/// Handler.
pub async fn usage(
    State(sim): State<Arc<Sim>>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Aggregates<UsageRow>>, FalError> {
    let q = Query::parse(raw.as_deref())?;
    let apps = q.ids("app", false)?;
    let search = q.one("search").map(str::to_lowercase);
    let mut expand = q.list("expand");
    if expand.is_empty() {
        expand = vec!["time_series".into()];
    }
    if let Some(bad) = expand
        .iter()
        .find(|e| !matches!(e.as_str(), "time_series" | "summary"))
    {
        return Err(FalError::invalid(format!("unknown expand value {bad:?}")));
    }
    let want_series = expand.iter().any(|e| e == "time_series");
    let want_summary = expand.iter().any(|e| e == "summary");
    let (page, pinned) = q.page()?;
    let now = pinned.unwrap_or_else(|| sim.now_ms());
    let limit = q.limit(PageSpec::DEFAULT_LIMIT, sim.max_limits.usage)?;
    let range = Range::from_query(&q, now)?;
    // Both filters read the name usage reports, suffix included.
    let selected: Vec<usize> = (0..sim.world.apps.len())
        .filter(|i| {
            let name = sim.world.usage_name(*i);
            apps.is_empty() || apps.contains(&name)
        })
        .filter(|i| {
            search
                .as_ref()
                .is_none_or(|s| sim.world.usage_name(*i).contains(s.as_str()))
        })
        .collect();

    let spike = sim.faults.cost_spike();
    let mut summary: BTreeMap<Key, f64> = BTreeMap::new();
    let mut series = Vec::new();
    for (label, from, to) in range.buckets() {
        let mut bucket: BTreeMap<Key, f64> = BTreeMap::new();
        for &app in &selected {
            for (key, seconds) in app_usage(&sim.world, app, from, to.min(now), spike.as_ref()) {
                *bucket.entry(key).or_default() += seconds;
                *summary.entry(key).or_default() += seconds;
            }
        }
        if !bucket.is_empty() {
            series.push(Bucket {
                bucket: bucket_label(label),
                results: rows(&sim.world, bucket),
            });
        }
    }
    let spec = PageSpec { page, limit, now };
    let summary_rows = rows(&sim.world, summary);
    let (time_series, summary, next_cursor) = match (want_series, want_summary) {
        (true, s) => {
            let (items, next) = page_of(series, &spec);
            (Some(items), s.then_some(summary_rows), next)
        }
        (false, _) => {
            let (items, next) = page_of(summary_rows, &spec);
            (None, Some(items), next)
        }
    };
    Ok(Json(Aggregates::new(time_series, summary, next_cursor)))
}

/// Grouping key of a usage row: app index and surge flag (machine and prices follow the app).
type Key = (usize, bool);

/// Machine-seconds of `app` in whole minutes of `[from, to)`, by surge flag.
pub fn app_usage(
    world: &World,
    app: usize,
    from: i64,
    to: i64,
    spike: Option<&super::faults::CostSpike>,
) -> Vec<(Key, f64)> {
    let spec = &world.apps[app];
    let mut out: BTreeMap<Key, f64> = BTreeMap::new();
    let first = from.div_euclid(MINUTE_MS);
    let last = to.div_euclid(MINUTE_MS); // exclusive: only completed minutes
    for minute in first..last {
        let requests = world.requests_in_minute(app, minute);
        let busy: f64 = requests
            .iter()
            .filter(|r| r.runner_id.is_some())
            .map(|r| r.duration)
            .sum();
        let setup: f64 = requests.iter().filter_map(|r| r.cold_boot).sum();
        let extra = spike.map_or(0.0, |s| s.extra_in_minute(spec.name, minute * MINUTE_MS));
        let idle = f64::from(spec.min_concurrency) * 60.0 + busy * KEEP_ALIVE_SHARE + extra;
        let total = busy + setup + idle;
        if total > 0.0 {
            *out.entry((app, world.is_surge(&spec.machine, minute)))
                .or_default() += total;
        }
    }
    out.into_iter().collect()
}

fn rows(world: &World, usage: BTreeMap<Key, f64>) -> Vec<UsageRow> {
    usage
        .into_iter()
        .map(|((app, surge), quantity)| {
            let spec = &world.apps[app];
            let m = spec.machine;
            let unit_price = if surge {
                m.unit_price * m.surge_multiplier.unwrap_or(1.0)
            } else {
                m.unit_price
            };
            let quantity = (quantity * 1000.0).round() / 1000.0;
            let subtotal = round6(quantity * unit_price);
            let total = round6(subtotal * (1.0 - m.percent_discount.unwrap_or(0.0) / 100.0));
            UsageRow {
                app: Some(world.usage_name(app)),
                environment: (spec.environment != "main").then(|| spec.environment.to_owned()),
                machine_type: m.usage_name.to_owned(),
                unit: UsageUnit::Second,
                quantity,
                unit_price: round6(unit_price),
                percent_discount: m.percent_discount,
                cost_subtotal: subtotal,
                cost_discount: round6(subtotal - total),
                cost_total: total,
                cost: total,
                currency: "USD".into(),
                is_surge: surge,
            }
        })
        .collect()
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}
