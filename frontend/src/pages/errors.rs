//! `/errors`: why requests fail — 5xx over time stacked by fal's failure type, a table by
//! endpoint × type with rates and the change against the period before, and a click on a bar
//! or a row that opens the failed requests behind it. Every endpoint of the workspace (fal's
//! first 50) unless the picker narrows it.

use crate::api;
use crate::charts::time::{Kind, Series, TimeChart, Unit};
use crate::components::{Empty, ErrorPanel, Freshness, Loading, TimeChartPanel, TimePicker};
use crate::format;
use crate::state::{self, use_config, use_refresh_tick, use_view};
use leptos::prelude::*;
use shared::analytics::{AnalyticsReport, FailureType};
use shared::query::{AnalyticsQuery, List, TimeExpr};
use shared::Fetched;
use std::collections::BTreeMap;

/// What the page shows: this period's report and the one before it (when fal gave it).
#[derive(Clone)]
struct Breakdown {
    endpoints: Vec<String>,
    now: Fetched<AnalyticsReport>,
    before: Option<AnalyticsReport>,
}

/// The errors page.
#[component]
pub fn ErrorsPage() -> impl IntoView {
    let config = use_config();
    let view = use_view();
    let tick = use_refresh_tick(view);
    let query = move || AnalyticsQuery {
        endpoints: view.list("endpoints"),
        from: view.time_from("now-24h"),
        to: view.time_to(),
        timeframe: view.choice("timeframe"),
        tz: view.tz(),
    };
    let report = LocalResource::new(move || {
        let (param, mut q) = (view.get("ws"), query());
        tick.track();
        async move {
            let ws = state::workspace(config, param).await?;
            if q.endpoints.is_empty() {
                let apps = api::get_apps(&ws).await?.data;
                let all: Vec<String> = apps.into_iter().flat_map(|a| a.endpoints).collect();
                q.endpoints = List::of(&all[..all.len().min(50)]);
            }
            if q.endpoints.is_empty() {
                return Ok(None);
            }
            let now = api::get_analytics(&ws, &q).await?;
            // The period before, as long, for the change column.
            let span = now.data.to - now.data.from;
            let earlier = AnalyticsQuery {
                from: Some(TimeExpr::at(now.data.from - span)),
                to: Some(TimeExpr::at(now.data.from)),
                ..q.clone()
            };
            let before = api::get_analytics(&ws, &earlier).await.ok().map(|f| f.data);
            let endpoints = q.endpoints.values().to_vec();
            Ok(Some(Breakdown {
                endpoints,
                now,
                before,
            }))
        }
    });
    let ws = state::use_workspace(config, view);
    let csv = move || {
        ws.get()
            .map(|ws| api::url_of(shared::routes::ws::ANALYTICS_CSV, &ws, &query()))
            .unwrap_or_default()
    };
    view! {
        <div class="page-head">
            <h1>"Errors"</h1>
            <TimePicker default_from="now-24h" />
        </div>
        <div class="toolbar">
            <super::EndpointChooser />
            <a class="button" href=csv download>"CSV"</a>
        </div>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match report.await {
                    Ok(None) => view! { <Empty message="This workspace has no endpoints yet." /> }.into_any(),
                    Ok(Some(b)) => view! { <Failures breakdown=b /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error=error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/requests` showing the failed requests of `endpoints` over `[from, to)`.
fn failed_requests(endpoints: &[String], from: i64, to: i64) -> String {
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    };
    let q = [
        ("endpoints", endpoints.join(",")),
        ("status", "error".to_owned()),
        ("from", at(from)),
        ("to", at(to)),
    ];
    let q: Vec<String> = q
        .iter()
        .map(|(k, v)| format!("{k}={}", api::encode(v)))
        .collect();
    format!("{}?{}", crate::routes::Page::Requests.path(), q.join("&"))
}

/// The chart and the table of one breakdown.
#[component]
fn Failures(breakdown: Breakdown) -> impl IntoView {
    let Breakdown {
        endpoints,
        now,
        before,
        ..
    } = breakdown;
    let (as_of, stale) = (now.as_of, now.stale);
    let r = now.data;
    let total: u64 = r.summary.iter().map(|s| s.failures.total()).sum();
    if total == 0 {
        return view! {
            <p class="meta"><Freshness as_of=as_of stale=stale /></p>
            <Empty message="No failed requests (5xx) in this range." />
        }
        .into_any();
    }
    // Failures per bucket and type, every endpoint together.
    let mut by_type: BTreeMap<(usize, i64), f64> = BTreeMap::new();
    for p in &r.series {
        for (i, kind) in FailureType::ALL.iter().enumerate() {
            *by_type.entry((i, p.t.timestamp_millis())).or_default() += p.failures.of(*kind) as f64;
        }
    }
    let series: Vec<Series> = FailureType::ALL
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let points = by_type
                .range((i, i64::MIN)..=(i, i64::MAX))
                .map(|((_, t), v)| (*t, *v))
                .collect();
            Series::new(kind.label(), points)
        })
        .collect();
    let chart = TimeChart::new(series, Unit::Count, Kind::StackedBars);
    let step = chart_step(&r);
    let navigate = leptos_router::hooks::use_navigate();
    let picked_endpoints = endpoints.clone();
    // The current bucket ends now, not in the future (the requests view refuses that).
    let now_ms = js_sys::Date::now() as i64;
    let pick = Callback::new(move |t: i64| {
        let to = (t + step).min(now_ms);
        navigate(
            &failed_requests(&picked_endpoints, t, to),
            Default::default(),
        );
    });
    let (from, to) = (
        r.from.timestamp_millis(),
        r.to.timestamp_millis().min(now_ms),
    );
    let earlier: BTreeMap<(String, FailureType), u64> = before
        .iter()
        .flat_map(|b| b.summary.iter())
        .flat_map(|s| FailureType::ALL.map(|k| ((s.endpoint.clone(), k), s.failures.of(k))))
        .collect();
    let mut rows: Vec<(String, FailureType, u64, f64, Option<u64>)> = r
        .summary
        .iter()
        .flat_map(|s| {
            FailureType::ALL.map(|k| {
                let n = s.failures.of(k);
                let rate = if s.requests == 0 {
                    0.0
                } else {
                    n as f64 / s.requests as f64
                };
                let prior = before
                    .as_ref()
                    .map(|_| earlier.get(&(s.endpoint.clone(), k)).copied().unwrap_or(0));
                (s.endpoint.clone(), k, n, rate, prior)
            })
        })
        .filter(|(_, _, n, _, prior)| *n > 0 || prior.is_some_and(|p| p > 0))
        .collect();
    rows.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let rows = rows
        .into_iter()
        .map(|(endpoint, kind, n, rate, prior)| {
            let href = failed_requests(std::slice::from_ref(&endpoint), from, to);
            let change = match prior {
                None => "–".to_owned(),
                Some(p) => format!("{:+}", n as i64 - p as i64),
            };
            view! {
                <tr>
                    <td><a href=href>{endpoint}</a></td>
                    <td>{kind.label()}</td>
                    <td class="num">{n}</td>
                    <td class="num">{format::percent(rate)}</td>
                    <td class="num">{change}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="meta"><Freshness as_of=as_of stale=stale />{format!(" · {total} failed requests; click a bar or a row for the requests behind it")}</p>
        <section class="panel">
            <h2>"Failures over time, by type"</h2>
            <TimeChartPanel id="errors-chart" label="Failed requests per bucket, stacked by failure type" chart=chart on_pick=pick />
        </section>
        <section class="panel">
            <h2>"By endpoint and type"</h2>
            <div class="table-wrap">
                <table id="errors-table">
                    <thead><tr><th>"Endpoint"</th><th>"Type"</th><th>"Failed"</th><th>"Share of requests"</th><th>"Change vs. period before"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <p class="meta">"fal sorts 5xx into startup (the runner never started), connection, timeout and runtime (the app raised) errors."</p>
        </section>
    }
    .into_any()
}

/// The bucket size of a report, in ms (the smallest gap between its buckets; an hour when it
/// has one bucket).
fn chart_step(r: &AnalyticsReport) -> i64 {
    let mut times: Vec<i64> = r.series.iter().map(|p| p.t.timestamp_millis()).collect();
    times.sort_unstable();
    times.dedup();
    times
        .windows(2)
        .map(|w| w[1] - w[0])
        .min()
        .unwrap_or(3_600_000)
}
