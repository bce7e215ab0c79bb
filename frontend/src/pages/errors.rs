//! `/errors`: why requests fail — 5xx over time stacked by fal's failure type, a table by
//! endpoint × type with rates and the change against the period before, and a click on a bar
//! or a row that opens the failed requests behind it. Every endpoint of the workspace (past 50,
//! the 50 busiest) unless the picker narrows it.

use crate::api;
use crate::charts::time::{Kind, Series, TimeChart, Unit};
use crate::components::{
    by_f64, loaded, Column, Empty, Freshness, Table, TimeChartPanel, TimePicker,
};
use crate::format;
use crate::state::{use_config, use_refresh_tick, use_view};
use leptos::prelude::*;
use shared::analytics::{AnalyticsReport, AnalyticsSummary, FailureType};
use shared::query::{AnalyticsQuery, List, TimeExpr};
use shared::Fetched;
use std::collections::BTreeMap;

/// What the page shows: this period's report and the one before it (when fal gave it).
#[derive(Clone)]
struct Breakdown {
    ws: String,
    tz: Option<String>,
    endpoints: Vec<String>,
    /// Set when no endpoint was picked: which ones are shown instead.
    note: Option<String>,
    now: Fetched<AnalyticsReport>,
    before: Option<AnalyticsReport>,
}

/// The errors page.
#[component]
pub fn ErrorsPage() -> impl IntoView {
    let config = use_config();
    let view = use_view();
    let tick = use_refresh_tick(view);
    let report = LocalResource::new(move || {
        let (param, mut q) = (view.get("ws"), view.analytics_query());
        tick.track();
        async move {
            let Some((ws, shown)) = super::shown_endpoints(config, param, q.endpoints).await?
            else {
                return Ok(None);
            };
            let note = shown.note;
            q.endpoints = shown.list;
            let now = api::get_analytics(&ws, &q).await?;
            // The period before, as long, for the change column.
            let span = now.data.to - now.data.from;
            let earlier = AnalyticsQuery {
                from: Some(TimeExpr::at(now.data.from - span)),
                to: Some(TimeExpr::at(now.data.from)),
                timeframe: Some(now.data.timeframe),
                ..q.clone()
            };
            let before = api::get_analytics(&ws, &earlier).await.ok().map(|f| f.data);
            let endpoints = q.endpoints.values().to_vec();
            Ok(Some(Breakdown {
                ws,
                tz: q.tz.clone(),
                endpoints,
                note,
                now,
                before,
            }))
        }
    });
    view! {
        <div class="page-head">
            <h1>"Errors"</h1>
            <TimePicker default_from="now-24h" />
        </div>
        <div class="toolbar">
            <super::EndpointChooser />
        </div>
        {loaded(report, |b| match b {
            None => view! { <Empty message="This workspace has no endpoints yet." /> }.into_any(),
            Some(b) => view! { <Failures breakdown=b /> }.into_any(),
        })}
    }
}

/// A row of the table: one failure type, the 5xx fal gave no type for, or the 4xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Row {
    Failure(FailureType),
    Untyped,
    User,
}

impl Row {
    const ALL: [Row; 6] = [
        Row::Failure(FailureType::Startup),
        Row::Failure(FailureType::Connection),
        Row::Failure(FailureType::Timeout),
        Row::Failure(FailureType::Runtime),
        Row::Untyped,
        Row::User,
    ];

    fn count(self, s: &AnalyticsSummary) -> u64 {
        match self {
            Row::Failure(k) => s.failures.of(k),
            Row::Untyped => s.server_errors.saturating_sub(s.failures.total()),
            Row::User => s.user_errors,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Row::Failure(k) => k.label(),
            Row::Untyped => "type not given by fal",
            Row::User => "user errors",
        }
    }

    /// The requests view's `status` of its requests.
    fn status(self) -> &'static str {
        match self {
            Row::User => "user_error",
            _ => "error",
        }
    }
}

/// A row of the table: endpoint, kind, requests, share of the endpoint's requests, and the
/// count in the period before (when fal gave it).
type Line = (String, Row, u64, f64, Option<u64>);

/// Where a click leads: the workspace and time zone of the page, and the requests asked for.
#[derive(Clone)]
struct Target {
    ws: String,
    tz: Option<String>,
    endpoints: Vec<String>,
}

/// `/requests` showing the requests of `t`'s endpoints with `status` over `[from, to)`.
fn requests_of(t: &Target, endpoints: &[String], status: &str, from: i64, to: i64) -> String {
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    };
    let mut q = vec![
        ("ws", t.ws.clone()),
        ("endpoints", endpoints.join(",")),
        ("status", status.to_owned()),
        ("from", at(from)),
        ("to", at(to)),
    ];
    q.extend(t.tz.clone().map(|tz| ("tz", tz)));
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
        ws,
        tz,
        endpoints,
        note,
        now,
        before,
    } = breakdown;
    let csv = api::url_of(
        shared::routes::ws::ANALYTICS_CSV,
        &ws,
        &AnalyticsQuery {
            endpoints: List::of(&endpoints),
            from: Some(TimeExpr::at(now.data.from)),
            to: Some(TimeExpr::at(now.data.to.min(crate::clock::now()))),
            timeframe: Some(now.data.timeframe),
            tz: tz.clone(),
        },
    );
    let target = Target { ws, tz, endpoints };
    let (as_of, stale) = (now.as_of, now.stale);
    let r = now.data;
    let total: u64 = r.summary.iter().map(|s| s.server_errors).sum();
    if total == 0 {
        return view! {
            <p class="meta" id="endpoints-shown">{note}" "<Freshness as_of=as_of stale=stale /></p>
            <Empty message="No failed requests (5xx) in this range." />
        }
        .into_any();
    }
    // 5xx per bucket and type, every endpoint together; those fal gave no type for (it may
    // leave the counts out) are a series of their own, so bars still add up to the 5xx.
    let kinds = &Row::ALL[..5];
    let mut by_kind: BTreeMap<(usize, i64), f64> = BTreeMap::new();
    for p in &r.series {
        for (i, kind) in kinds.iter().enumerate() {
            let n = match kind {
                Row::Failure(k) => p.failures.of(*k),
                _ => p.server_errors.saturating_sub(p.failures.total()),
            };
            *by_kind.entry((i, p.t.timestamp_millis())).or_default() += n as f64;
        }
    }
    let series: Vec<Series> = kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let points: Vec<(i64, f64)> = by_kind
                .range((i, i64::MIN)..=(i, i64::MAX))
                .map(|((_, t), v)| (*t, *v))
                .collect();
            Series::new(kind.label(), points)
        })
        .filter(|s| *s.name != *Row::Untyped.label() || s.points.iter().any(|p| p.1 > 0.0))
        .collect();
    let chart = TimeChart::new(series, Unit::Count, Kind::StackedBars);
    // The bucket starts, as the chart lays them out.
    let starts = crate::charts::time::domain(&chart).map_or_else(Vec::new, |d| d.times);
    let report_end = r.to.timestamp_millis();
    let navigate = leptos_router::hooks::use_navigate();
    let picked = target.clone();
    // The current bucket ends now, not in the future (the requests view refuses that).
    let now_ms = js_sys::Date::now() as i64;
    let pick = Callback::new(move |t: i64| {
        // The bucket ends where the next one starts (the last where the report does).
        let end = starts
            .iter()
            .find(|s| **s > t)
            .copied()
            .unwrap_or(report_end);
        navigate(
            &requests_of(&picked, &picked.endpoints, "error", t, end.min(now_ms)),
            Default::default(),
        );
    });
    let (from, to) = (
        r.from.timestamp_millis(),
        r.to.timestamp_millis().min(now_ms),
    );
    let earlier: BTreeMap<(String, Row), u64> = before
        .iter()
        .flat_map(|b| b.summary.iter())
        .flat_map(|s| Row::ALL.map(|k| ((s.endpoint.clone(), k), k.count(s))))
        .collect();
    let mut rows: Vec<Line> = r
        .summary
        .iter()
        .flat_map(|s| {
            Row::ALL.map(|k| {
                let n = k.count(s);
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
    rows.sort_by(|a, b| {
        (a.1.status(), std::cmp::Reverse(a.2), &a.0).cmp(&(
            b.1.status(),
            std::cmp::Reverse(b.2),
            &b.0,
        ))
    });
    let link = move |(endpoint, kind, ..): &Line| {
        let href = requests_of(
            &target,
            std::slice::from_ref(endpoint),
            kind.status(),
            from,
            to,
        );
        view! { <a href=href>{endpoint.clone()}</a> }.into_any()
    };
    let columns = vec![
        Column::new("Endpoint", link).sort(|a: &Line, b: &Line| a.0.cmp(&b.0)),
        Column::new("Status", |l: &Line| {
            if l.1.status() == "error" {
                "5xx"
            } else {
                "4xx"
            }
            .into_any()
        }),
        Column::new("Type", |l: &Line| l.1.label().into_any()).sort(|a, b| a.1.cmp(&b.1)),
        Column::number("Requests", |l: &Line| l.2.into_any()).sort(|a, b| a.2.cmp(&b.2)),
        Column::number("Share of requests", |l: &Line| {
            format::percent(l.3).into_any()
        })
        .sort(|a, b| by_f64(a.3, b.3)),
        Column::number("Change vs. period before", |l: &Line| {
            match l.4 {
                None => "–".to_owned(),
                Some(p) => format!("{:+}", l.2 as i64 - p as i64),
            }
            .into_any()
        })
        .sort(|a, b| {
            let change = |l: &Line| l.4.map(|p| l.2 as i64 - p as i64);
            change(a).cmp(&change(b))
        }),
    ];
    view! {
        <p class="meta" id="endpoints-shown">{note}" "<Freshness as_of=as_of stale=stale />{format!(" · {total} failed requests; click a bar or an endpoint for the requests behind it · ")}<a href=csv download>"CSV"</a></p>
        <section class="panel">
            <h2>"Failures over time, by type"</h2>
            <TimeChartPanel id="errors-chart" label="Failed requests per bucket, stacked by failure type" chart=chart on_pick=pick />
        </section>
        <section class="panel">
            <h2>"By endpoint and type"</h2>
            <Table id="errors-table" columns=columns rows=rows empty="No failed requests in this range." />
            <p class="meta">"fal sorts 5xx into startup (the runner never started), connection, timeout and runtime (the app raised) errors; 4xx are the callers' own errors."</p>
        </section>
    }
    .into_any()
}
