//! `/usage`: spend over time stacked by app, and the bill by app × machine type × surge with
//! totals (ADMIN key; the page explains how to add it when it is missing). What the spend
//! buys is on `/cost`.

use crate::api;
use crate::charts;
use crate::charts::time::{Kind, Series, TimeChart, Unit};
use crate::components::{
    by_f64, Column, Empty, ErrorPanel, Freshness, Loading, Table, TimeChartPanel, TimePicker,
};
use crate::format;
use crate::state::{self, use_config, use_refresh_tick, use_set_query, use_view};
use leptos::prelude::*;
use shared::query::UsageQuery;
use shared::usage::{UsageLine, UsageReport};
use std::collections::BTreeMap;

/// How long typing in "App contains" pauses before the page filters.
const SEARCH_PAUSE: std::time::Duration = std::time::Duration::from_millis(300);

/// The usage and cost page.
#[component]
pub fn UsagePage() -> impl IntoView {
    let config = use_config();
    let view = use_view();
    let tick = use_refresh_tick(view);
    // One query for the view and its CSV.
    let query = move || UsageQuery {
        from: view.time_from("now-7d"),
        to: view.time_to(),
        search: view.get("search"),
        tz: view.tz(),
        ..UsageQuery::default()
    };
    let report = LocalResource::new(move || {
        let param = view.get("ws");
        let q = query();
        tick.track();
        async move { api::get_usage(&state::workspace(config, param).await?, &q).await }
    });
    let set = use_set_query();
    let ws = state::use_workspace(config, view);
    let csv = move || {
        ws.get()
            .map(|ws| api::url_of(shared::routes::ws::USAGE_CSV, &ws, &query()))
            .unwrap_or_default()
    };
    let typing = StoredValue::new(None::<TimeoutHandle>);
    // A pause that ends after the page is left filters nothing.
    on_cleanup(move || {
        if let Some(Some(h)) = typing.try_get_value() {
            h.clear();
        }
    });
    view! {
        <div class="page-head">
            <h1>"Usage"</h1>
            <TimePicker default_from="now-7d" />
        </div>
        <div class="toolbar">
            <label>
                "App contains "
                <input
                    id="usage-search"
                    type="search"
                    placeholder="e.g. flux"
                    prop:value=move || view.get("search").unwrap_or_default()
                    // Filters as you type, once typing pauses.
                    on:input=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some(h) = typing.get_value() {
                            h.clear();
                        }
                        let set = set.clone();
                        let apply = move || set(&[("search", (!v.is_empty()).then(|| v.clone()))]);
                        typing.set_value(set_timeout_with_handle(apply, SEARCH_PAUSE).ok());
                    }
                />
            </label>
            <a class="button" href=csv download>"CSV"</a>
        </div>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match report.await {
                    Ok(r) if r.data.lines.is_empty() => view! { <Empty message="No usage in this range." /> }.into_any(),
                    Ok(r) => {
                        let (as_of, stale) = (r.as_of, r.stale);
                        view! { <p class="meta"><Freshness as_of=as_of stale=stale /></p> <Bill report=r.data /> }.into_any()
                    }
                    Err(error) => view! { <ErrorPanel error=error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn spend_chart(r: &UsageReport) -> TimeChart {
    let mut by_app: BTreeMap<&str, Vec<(i64, f64)>> = BTreeMap::new();
    for p in &r.series {
        by_app
            .entry(&p.app)
            .or_default()
            .push((p.t.timestamp_millis(), p.cost));
    }
    let series = by_app
        .into_iter()
        .map(|(app, pts)| Series::new(app, pts))
        .collect();
    TimeChart::new(
        charts::time::top_n(series, 8),
        Unit::Money(r.currency.clone()),
        Kind::StackedBars,
    )
}

/// The chart and the bill.
#[component]
fn Bill(
    /// The report.
    report: UsageReport,
) -> impl IntoView {
    let currency = report.currency.clone();
    let columns = vec![
        Column::new("App", |l: &UsageLine| l.app.clone().into_any()).sort(|a, b| a.app.cmp(&b.app)),
        Column::new("Machine", |l: &UsageLine| l.machine_type.clone().into_any())
            .sort(|a, b| a.machine_type.cmp(&b.machine_type)),
        Column::new("Pricing", |l: &UsageLine| {
            if l.is_surge { "surge" } else { "" }.into_any()
        }),
        Column::number("Machine-seconds", |l: &UsageLine| {
            format::count(l.seconds.round() as u64).into_any()
        })
        .sort(|a, b| by_f64(a.seconds, b.seconds)),
        Column::number("Unit price", |l: &UsageLine| {
            format!("{:.5}", l.unit_price).into_any()
        })
        .sort(|a, b| by_f64(a.unit_price, b.unit_price)),
        Column::number("Discount", |l: &UsageLine| {
            l.discount_percent
                .map(|d| format!("{d:.0}%"))
                .unwrap_or_default()
                .into_any()
        }),
        Column::number("Cost", |l: &UsageLine| {
            format::money(l.cost, &l.currency).into_any()
        })
        .sort(|a, b| by_f64(a.cost, b.cost)),
    ];
    let total = view! {
        <tr>
            <th colspan="3">"Total (surge and non-surge)"</th>
            <th class="num">{format::count(report.total_seconds.round() as u64)}</th>
            <th></th><th></th>
            <th class="num">{format::money(report.total_cost, &currency)}</th>
        </tr>
    }
    .into_any();
    let chart = spend_chart(&report);
    view! {
        <div class="stats">
            <div class="stat"><span class="label">"Total spend"</span><span id="usage-total" class="value">{format::money(report.total_cost, &currency)}</span></div>
            <div class="stat"><span class="label">"Machine time"</span><span class="value">{format::count((report.total_seconds / 3600.0).round() as u64)} " h"</span></div>
            <div class="stat"><span class="label">"Buckets"</span><span class="value">{report.timeframe.as_str()}</span></div>
        </div>
        <section class="panel">
            <h2>"Spend over time by app"</h2>
            <TimeChartPanel id="usage-spend" label="Spend over time stacked by app" chart=chart height=280 on_zoom=crate::state::use_zoom() />
        </section>
        <section class="panel">
            <h2>"By app, machine type and surge"</h2>
            <Table id="usage-lines" columns=columns rows=report.lines empty="No usage in this range." footer=total />
        </section>
    }
}
