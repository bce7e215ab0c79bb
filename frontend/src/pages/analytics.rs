//! `/analytics`: request counts by outcome, error rate, queue vs execution latency and a summary
//! per endpoint, for the 1–50 endpoints picked, or by default every endpoint (the 50 busiest).

use crate::api;
use crate::charts::palette;
use crate::charts::time::{Kind, Series, TimeChart, Unit};
use crate::components::{
    by_f64, loaded, Column, Empty, Freshness, Table, TimeChartPanel, TimePicker,
};
use crate::format;
use crate::state::{use_config, use_refresh_tick, use_set_query, use_view};
use leptos::prelude::*;
use shared::analytics::{AnalyticsReport, AnalyticsSummary, Timeframe};
use shared::Fetched;
use std::collections::BTreeMap;

/// What the page shows: the report, which endpoints it covers and why, and its CSV.
#[derive(Debug, Clone)]
struct Shown {
    report: Fetched<AnalyticsReport>,
    /// Set when no endpoint was picked: which ones are shown instead.
    note: Option<String>,
    csv: String,
}

/// The analytics page.
#[component]
pub fn AnalyticsPage() -> impl IntoView {
    let config = use_config();
    let view = use_view();
    let tick = use_refresh_tick(view);
    let shown = LocalResource::new(move || {
        let (param, mut q) = (view.get("ws"), view.analytics_query());
        tick.track();
        async move {
            let Some((ws, shown)) = super::shown_endpoints(config, param, q.endpoints).await?
            else {
                return Ok(None);
            };
            let note = shown.note;
            q.endpoints = shown.list;
            // The chart and its CSV ask for the same buckets of the same endpoints.
            let csv = api::url_of(shared::routes::ws::ANALYTICS_CSV, &ws, &q);
            let report = api::get_analytics(&ws, &q).await?;
            Ok(Some(Shown { report, note, csv }))
        }
    });
    let set = use_set_query();
    let csv = move || {
        shown.with(|s| {
            s.as_ref()
                .and_then(|r| r.as_ref().ok())
                .and_then(Option::as_ref)
                .map(|s| s.csv.clone())
        })
    };
    view! {
        <div class="page-head">
            <h1>"Analytics"</h1>
            <TimePicker default_from="now-24h" />
        </div>
        <div class="toolbar">
            <super::EndpointChooser />
            <label>
                "Buckets "
                <select on:change=move |ev| {
                    let v = event_target_value(&ev);
                    set(&[("timeframe", (v != "auto").then_some(v))]);
                }>
                    <option value="auto" selected=move || view.get("timeframe").is_none()>"auto (fal)"</option>
                    {Timeframe::ALL
                        .map(|t| view! { <option value=t.as_str() selected=move || view.get("timeframe").as_deref() == Some(t.as_str())>{t.as_str()}</option> })
                        .into_iter()
                        .collect_view()}
                </select>
            </label>
            {move || csv().map(|href| view! { <a class="button" href=href download>"CSV"</a> })}
        </div>
        {loaded(shown, |shown| match shown {
            None => view! { <Empty message="This workspace has no endpoints yet." /> }.into_any(),
            Some(Shown { report: r, note, .. }) => {
                let (as_of, stale) = (r.as_of, r.stale);
                let empty = r.data.summary.is_empty();
                view! {
                    <p class="meta" id="endpoints-shown">{note}" "<Freshness as_of=as_of stale=stale /></p>
                    {if empty {
                        view! { <Empty message="No requests for these endpoints in this range." /> }.into_any()
                    } else {
                        view! { <Report report=r.data /> }.into_any()
                    }}
                }
                .into_any()
            }
        })}
    }
}

/// Requests by outcome per bucket, every endpoint together (also the Models page's).
pub(super) fn counts(r: &AnalyticsReport) -> TimeChart {
    let mut sums: BTreeMap<i64, (f64, f64, f64)> = BTreeMap::new();
    for p in &r.series {
        let e = sums.entry(p.t.timestamp_millis()).or_default();
        e.0 += p.success as f64;
        e.1 += p.user_errors as f64;
        e.2 += p.server_errors as f64;
    }
    let series = |name: &str, color, f: fn(&(f64, f64, f64)) -> f64| Series {
        color: Some(color),
        ..Series::new(name, sums.iter().map(|(t, v)| (*t, f(v))).collect())
    };
    TimeChart::new(
        vec![
            series("success (2xx)", palette::SUCCESS, |v| v.0),
            series("user errors (4xx)", palette::USER_ERROR, |v| v.1),
            series("server errors (5xx)", palette::SERVER_ERROR, |v| v.2),
        ],
        Unit::Count,
        Kind::StackedBars,
    )
}

fn latency(r: &AnalyticsReport) -> TimeChart {
    let endpoints: Vec<&str> = r.summary.iter().map(|s| s.endpoint.as_str()).collect();
    let mut series = Vec::new();
    let pick = |endpoint: &str,
                f: fn(&shared::analytics::AnalyticsPoint) -> Option<f64>|
     -> Vec<(i64, f64)> {
        r.series
            .iter()
            .filter(|p| p.endpoint == endpoint)
            .filter_map(|p| f(p).map(|v| (p.t.timestamp_millis(), v)))
            .collect()
    };
    if endpoints.len() == 1 {
        let e = endpoints[0];
        series.push(Series {
            color: Some(palette::SERIES[0]),
            ..Series::new("execution p50", pick(e, |p| p.execution.p50))
        });
        series.push(Series {
            color: Some(palette::SERIES[4]),
            ..Series::new("execution p90", pick(e, |p| p.execution.p90))
        });
        series.push(Series {
            color: Some(palette::SERIES[2]),
            thin: true,
            ..Series::new("queue p50", pick(e, |p| p.prepare.p50))
        });
        series.push(Series {
            color: Some(palette::SERIES[3]),
            thin: true,
            ..Series::new("queue p90", pick(e, |p| p.prepare.p90))
        });
    } else {
        for e in endpoints.iter().take(8) {
            series.push(Series::new(
                format!("{e} execution p90"),
                pick(e, |p| p.execution.p90),
            ));
        }
    }
    TimeChart::new(series, Unit::Seconds, Kind::Lines)
}

/// Charts and the summary table of a report.
#[component]
fn Report(
    /// The report.
    report: AnalyticsReport,
) -> impl IntoView {
    let seconds = |f: fn(&AnalyticsSummary) -> Option<f64>| {
        move |s: &AnalyticsSummary| format::opt_seconds(f(s)).into_any()
    };
    let columns = vec![
        Column::new("Endpoint", |s: &AnalyticsSummary| {
            s.endpoint.clone().into_any()
        })
        .sort(|a, b| a.endpoint.cmp(&b.endpoint)),
        Column::number("Requests", |s: &AnalyticsSummary| {
            format::count(s.requests).into_any()
        })
        .sort(|a, b| a.requests.cmp(&b.requests)),
        Column::number("2xx", |s: &AnalyticsSummary| {
            format::count(s.success).into_any()
        })
        .sort(|a, b| a.success.cmp(&b.success)),
        Column::number("4xx", |s: &AnalyticsSummary| {
            format::count(s.user_errors).into_any()
        })
        .sort(|a, b| a.user_errors.cmp(&b.user_errors)),
        Column::number("5xx", |s: &AnalyticsSummary| {
            format::count(s.server_errors).into_any()
        })
        .sort(|a, b| a.server_errors.cmp(&b.server_errors)),
        Column::number("Error rate", |s: &AnalyticsSummary| {
            format::percent(s.error_rate).into_any()
        })
        .class(|s| if s.error_rate > 0.02 { "bad" } else { "" })
        .sort(|a, b| by_f64(a.error_rate, b.error_rate)),
        Column::number("Queue p50", seconds(|s| s.prepare.p50)),
        Column::number("Queue p90", seconds(|s| s.prepare.p90)).sort(|a, b| {
            by_f64(
                a.prepare.p90.unwrap_or(f64::NAN),
                b.prepare.p90.unwrap_or(f64::NAN),
            )
        }),
        Column::number("Exec p50", seconds(|s| s.execution.p50)),
        Column::number("Exec p90", seconds(|s| s.execution.p90)).sort(|a, b| {
            by_f64(
                a.execution.p90.unwrap_or(f64::NAN),
                b.execution.p90.unwrap_or(f64::NAN),
            )
        }),
        Column::number("Cold starts", |s: &AnalyticsSummary| {
            format::count(s.cold_starts).into_any()
        })
        .sort(|a, b| a.cold_starts.cmp(&b.cold_starts)),
    ];
    let (c, l) = (counts(&report), latency(&report));
    view! {
        <section class="panel">
            <h2>{format!("Requests per {}", report.timeframe.as_str())}</h2>
            <TimeChartPanel id="analytics-requests" label="Requests by outcome over time" chart=c height=260 on_zoom=crate::state::use_zoom() />
        </section>
        <section class="panel">
            <h2>{if report.summary.len() == 1 { "Latency: queue vs execution" } else { "Execution latency p90 per endpoint" }}</h2>
            <TimeChartPanel id="analytics-latency" label="Queue and execution latency percentiles" chart=l height=260 on_zoom=crate::state::use_zoom() />
        </section>
        <section class="panel">
            <h2>"Summary"</h2>
            <Table id="analytics-summary" columns=columns rows=report.summary empty="No requests in this range." />
        </section>
    }
}
