//! `/`: live state of every app over SSE (runners, queue, traffic, latency estimates) and the
//! stored history of the last hours.

use crate::api;
use crate::api::events::{use_events, Connection};
use crate::charts;
use crate::charts::time::{Kind, Series, TimeChart, Unit};
use crate::components::{
    loaded, Empty, ErrorPanel, Freshness, Loading, RunnersPanel, TimeChartPanel, TimePicker,
};
use crate::format;
use crate::pages::{FlushAsk, FlushTarget};
use crate::state::{self, use_config, use_refresh_tick, use_view};
use leptos::prelude::*;
use shared::live::LiveHistory;
use shared::query::LiveHistoryQuery;
use shared::{Fetched, LiveSnapshot, RunnerState};

/// The overview page.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let config = use_config();
    let view = use_view();
    let ws = LocalResource::new(move || {
        let param = view.get("ws");
        async move { state::workspace(config, param).await }
    });
    view! {
        <div class="page-head">
            <h1>"Overview"</h1>
        </div>
        {loaded(ws, |ws| view! { <LiveOverview ws=ws /> })}
    }
}

/// The live part, once the workspace is known.
#[component]
fn LiveOverview(
    /// Workspace id.
    ws: String,
) -> impl IntoView {
    let (live, set_live) = signal(None::<Fetched<LiveSnapshot>>);
    // Why there is no snapshot (fal rejected the key, fal is down and nothing was read yet).
    let (failure, set_failure) = signal(None::<shared::ApiError>);
    let url = shared::routes::ws::path(shared::routes::ws::LIVE_STREAM, &ws);
    let events = &[shared::events::SNAPSHOT, shared::events::FAILED];
    let connection = use_events(url, events, move |name, data| {
        if name == shared::events::FAILED {
            set_failure.set(serde_json::from_str(&data).ok());
        } else if let Ok(s) = serde_json::from_str(&data) {
            set_failure.set(None);
            set_live.set(Some(s));
        }
    });
    let view = use_view();
    let tick = use_refresh_tick(view);
    let ws_for_history = ws.clone();
    let flush = FlushTarget(RwSignal::new(None));
    provide_context(flush);
    let history = LocalResource::new(move || {
        let q = LiveHistoryQuery {
            from: view.time_from("now-6h"),
            to: view.time_to(),
        };
        tick.track();
        // Refresh the history whenever a new live snapshot lands.
        live.track();
        let ws = ws_for_history.clone();
        async move { api::get_live_history(&ws, &q).await }
    });
    view! {
        <p class="meta">
            {move || match connection.get() {
                // The freshness note beside it says fal is not answering.
                Connection::Open if live.with(|l| l.as_ref().is_some_and(|l| l.stale)) => {
                    "Live:".to_owned()
                }
                Connection::Open if failure.with(Option::is_some) => {
                    "Live: no data from fal yet".to_owned()
                }
                Connection::Open => "Live: updates every 10 s".to_owned(),
                Connection::Connecting => "Connecting to the live stream…".to_owned(),
                Connection::Lost => "Live stream interrupted — reconnecting…".to_owned(),
            }}
            " "
            {move || live.get().map(|l| view! { <Freshness as_of=l.as_of stale=l.stale /> })}
        </p>
        {move || match (live.get(), failure.get()) {
            (None, Some(error)) => view! { <ErrorPanel error=api::ClientError::Api(error) /> }.into_any(),
            (None, None) => view! { <Loading /> }.into_any(),
            (Some(l), _) => {
                let table = l.data.clone();
                view! {
                    <RunnersPanel snapshot=l.data />
                    <AppsTable snapshot=table />
                }
                    .into_any()
            }
        }}
        {move || flush.0.with(Option::is_some).then(|| view! { <crate::lazy::Lazy load=crate::lazy::FLUSH_DIALOG /> })}
        <section class="panel">
            <div class="panel-head">
                <h2>"History"</h2>
                <TimePicker default_from="now-6h" />
            </div>
            {loaded(history, |h| if h.samples.is_empty() {
                view! { <Empty message="No stored samples in this range yet: falscope records fal's metrics every 10 s while it runs." /> }.into_any()
            } else {
                view! { <HistoryCharts history=h /> }.into_any()
            })}
        </section>
    }
}

/// Per-app live numbers.
#[component]
fn AppsTable(
    /// The snapshot.
    snapshot: LiveSnapshot,
) -> impl IntoView {
    // Operators may flush a queue that has requests waiting.
    let flush =
        state::has_role(shared::auth::Role::Operator).then(|| expect_context::<FlushTarget>().0);
    let rows = snapshot
        .apps
        .into_iter()
        .map(|a| {
            let errors: u64 = a
                .completed_per_min
                .iter()
                .filter(|(s, _)| *s >= 500)
                .map(|(_, n)| n)
                .sum();
            let completed: u64 = a.completed_per_min.iter().map(|(_, n)| n).sum();
            let q = |p| format::opt_seconds(a.latency_quantile(p));
            view! {
                <tr>
                    <td>{a.application.clone()}</td>
                    <td class="num">{a.runners_in(RunnerState::Running)}</td>
                    <td class="num">{a.runners_in(RunnerState::Idle)}</td>
                    <td class="num">{a.runners_in(RunnerState::Pending)}</td>
                    <td class="num">
                        {a.queue_size}
                        {flush.filter(|_| a.queue_size > 0).map(|target| {
                            let ask = FlushAsk {
                                app: a.application.clone(),
                                waiting: a.queue_size,
                            };
                            view! {
                                " "
                                <button class="link flush" on:click=move |_| target.set(Some(ask.clone()))>"Flush…"</button>
                            }
                        })}
                    </td>
                    <td class="num">{a.concurrent_requests}</td>
                    <td class="num">{a.received_per_min}</td>
                    <td class="num">{completed}</td>
                    <td class={if errors > 0 { "num bad" } else { "num" }}>{errors}</td>
                    <td class="num">{q(0.5)}</td>
                    <td class="num">{q(0.9)}</td>
                    <td class="num">{q(0.99)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel">
            <h2>"Apps right now"</h2>
            <div class="table-wrap">
                <table id="apps-table">
                    <thead>
                        <tr>
                            <th>"App"</th><th>"Running"</th><th>"Idle"</th><th>"Pending"</th><th>"Queue"</th>
                            <th>"In flight"</th><th>"Received/min"</th><th>"Completed/min"</th><th>"5xx/min"</th>
                            <th>"p50"</th><th>"p90"</th><th>"p99"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <p class="meta">"Latency percentiles are estimated from fal's latency buckets of the last minute."</p>
        </section>
    }
}

fn by_app(h: &LiveHistory, value: fn(&shared::live::LiveSample) -> f64) -> Vec<Series> {
    let mut map: std::collections::BTreeMap<&str, Vec<(i64, f64)>> =
        std::collections::BTreeMap::new();
    for s in &h.samples {
        map.entry(&s.application)
            .or_default()
            .push((s.t.timestamp_millis(), value(s)));
    }
    let series = map
        .into_iter()
        .map(|(app, points)| Series::new(app, points))
        .collect();
    charts::time::top_n(series, 8)
}

/// Busy runners and queue size over time, per app.
#[component]
fn HistoryCharts(
    /// Stored samples.
    history: LiveHistory,
) -> impl IntoView {
    // Gauges sampled every 10 s: steps, over the whole range picked (empty where falscope
    // was not running).
    let view = use_view();
    let now = crate::clock::now();
    let edge = |expr: String| {
        shared::time::parse(&expr, now)
            .ok()
            .map(|t| t.timestamp_millis())
    };
    let range = edge(view.from("now-6h")).zip(edge(view.to()));
    let chart = |value: fn(&shared::live::LiveSample) -> f64| {
        let c = TimeChart::new(by_app(&history, value), Unit::Count, Kind::Steps);
        match range {
            Some((from, to)) => c.over(from, to),
            None => c,
        }
    };
    let running = chart(|s| f64::from(s.running + s.pending));
    let queue = chart(|s| s.queue_size as f64);
    view! {
        <h3>"Busy runners (running + starting)"</h3>
        <TimeChartPanel id="history-runners" label="Busy runners per app over time" chart=running height=240 on_zoom=crate::state::use_zoom() />
        <h3>"Queue size"</h3>
        <TimeChartPanel id="history-queue" label="Queue size per app over time" chart=queue height=240 on_zoom=crate::state::use_zoom() />
    }
}
