//! `/cost`: what a request really costs and where the money goes. The month's spend and its
//! projection against the budget (with per-app budgets), the running / failed / setup / idle
//! split of machine time, cost per successful request with the top movers against the period
//! before, and the price per billable unit that request costs use (admin-editable).

use crate::api;
use crate::charts::{self, forecast::MonthChart, Chart};
use crate::components::{Empty, ErrorPanel, Freshness, Loading, TimePicker};
use crate::format;
use crate::state::{self, use_config, use_refresh_tick, use_view};
use leptos::prelude::*;
use shared::alerts::Budget;
use shared::auth::Role;
use shared::cost::{CostReport, Forecast, PriceLine, PriceOverride, SplitReport};
use shared::query::HoursQuery;
use shared::ErrorCode;

/// The cost page.
#[component]
pub fn CostPage() -> impl IntoView {
    let config = use_config();
    let view = use_view();
    let tick = use_refresh_tick(view);
    let role = state::use_role(config);
    let ws = state::use_workspace(config, view);
    // Bumped after a budget or price is saved, so the views that show it refetch.
    let saved = RwSignal::new(0u32);
    let range = move || HoursQuery {
        from: view.time_from("now-7d"),
        to: view.time_to(),
    };
    let forecast = LocalResource::new(move || {
        let param = view.get("ws");
        tick.track();
        saved.track();
        async move { api::get_forecast(&state::workspace(config, param).await?).await }
    });
    let split = LocalResource::new(move || {
        let (param, q) = (view.get("ws"), range());
        tick.track();
        async move { api::get_split(&state::workspace(config, param).await?, &q).await }
    });
    let cost = LocalResource::new(move || {
        let (param, q) = (view.get("ws"), range());
        tick.track();
        async move { api::get_cost(&state::workspace(config, param).await?, &q).await }
    });
    let credits = LocalResource::new(move || {
        let param = view.get("ws");
        tick.track();
        async move { api::get_credits(&state::workspace(config, param).await?).await }
    });
    let prices = LocalResource::new(move || {
        let param = view.get("ws");
        saved.track();
        async move { api::get_prices(&state::workspace(config, param).await?).await }
    });
    view! {
        <div class="page-head">
            <h1>"Cost"</h1>
            <TimePicker default_from="now-7d" />
        </div>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match forecast.await {
                    Ok(f) => view! {
                        <p class="meta"><Freshness as_of=f.as_of stale=f.stale /></p>
                        <Month forecast=f.data ws=ws can_edit=Signal::derive(move || role.get() >= Role::Billing) saved=saved />
                    }.into_any(),
                    Err(error) => view! { <ErrorPanel error=error /> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match credits.await {
                    Ok(c) => view! { <CreditsPanel credits=c.data /> }.into_any(),
                    // The month panel above explains a missing ADMIN key.
                    Err(e) if e.code() == Some(ErrorCode::AdminKeyMissing) => ().into_any(),
                    Err(error) => view! { <ErrorPanel error=error /> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match split.await {
                    Ok(r) if r.data.apps.is_empty() => view! { <Empty message="No machine time in this range." /> }.into_any(),
                    Ok(r) => view! { <Split report=r.data /> }.into_any(),
                    // The month panel above explains a missing ADMIN key.
                    Err(e) if e.code() == Some(ErrorCode::AdminKeyMissing) => ().into_any(),
                    Err(error) => view! { <ErrorPanel error=error /> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match cost.await {
                    Ok(r) if r.data.apps.is_empty() => view! { <Empty message="No spend or requests in this range." /> }.into_any(),
                    Ok(r) => view! { <CostPerSuccess report=r.data.clone() /> <TopMovers report=r.data /> }.into_any(),
                    Err(e) if e.code() == Some(ErrorCode::AdminKeyMissing) => ().into_any(),
                    Err(error) => view! { <ErrorPanel error=error /> }.into_any(),
                }
            })}
        </Suspense>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                prices.await.ok().map(|lines| view! {
                    <Prices lines=lines ws=ws can_edit=Signal::derive(move || role.get() >= Role::Admin) saved=saved />
                })
            })}
        </Suspense>
    }
}

/// The month: spent, projected, budget and its burn-down, per workspace and per app.
#[component]
fn Month(
    forecast: Forecast,
    ws: Signal<Option<String>>,
    can_edit: Signal<bool>,
    saved: RwSignal<u32>,
) -> impl IntoView {
    let cur = forecast.currency.clone();
    let money = {
        let cur = cur.clone();
        move |v: f64| format::money(v, &cur)
    };
    let projected = match (forecast.projected, forecast.low, forecast.high) {
        (Some(p), Some(lo), Some(hi)) => {
            format!("{} ({} – {})", money(p), money(lo), money(hi))
        }
        _ => "needs a week of history".to_owned(),
    };
    let chart = MonthChart {
        forecast: forecast.clone(),
        budget: forecast.budget,
        today_elapsed: state::today_elapsed(),
    };
    let burn = forecast.budget.map(|b| burn_down(&chart, b, &money));
    let rows = forecast
        .apps
        .iter()
        .map(|a| {
            let pace = match (a.budget, a.projected) {
                (Some(b), Some(p)) if p > b => view! { <span class="status warn">"over budget pace"</span> }.into_any(),
                (Some(_), Some(_)) => view! { <span class="status ok">"within budget"</span> }.into_any(),
                _ => ().into_any(),
            };
            let app = a.app.clone();
            view! {
                <tr>
                    <td>{a.app.clone()}</td>
                    <td class="num">{money(a.month_to_date)}</td>
                    <td class="num">{a.projected.map(&money).unwrap_or_else(|| "–".into())}</td>
                    <td class="num">
                        <BudgetInput ws=ws app=Some(app) value=a.budget can_edit=can_edit saved=saved />
                    </td>
                    <td>{pace}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="stats" id="month-end">
            <div class="stat"><span class="label">"Month to date"</span><span class="value">{money(forecast.month_to_date)}</span></div>
            <div class="stat" title="Linear trend × weekly pattern over the last four weeks; the range is a ~95% band">
                <span class="label">"Projected month end"</span><span class="value">{projected}</span>
            </div>
            <div class="stat"><span class="label">"Monthly budget"</span><span class="value" id="budget-left">{burn.unwrap_or_else(|| "none set".into())}</span></div>
        </div>
        <section class="panel">
            <div class="panel-head">
                <h2>"This month against the budget"</h2>
                <span class="spacer"></span>
                <label class="small">"Workspace budget "
                    <BudgetInput ws=ws app=None value=forecast.budget can_edit=can_edit saved=saved />
                </label>
            </div>
            <Chart id="forecast-chart" label="Cumulative spend this month, its projection with a band, and the budget" data=Signal::stored(chart) draw=charts::forecast::draw height=280 />
            <div class="table-wrap">
                <table id="app-forecasts">
                    <thead><tr><th>"App"</th><th>"Month to date"</th><th>"Projected"</th><th>"Budget"</th><th></th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

/// "$X left · runs out around the Nth" (or "projected to stay under").
fn burn_down(chart: &MonthChart, budget: f64, money: &dyn Fn(f64) -> String) -> String {
    let left = budget - chart.forecast.month_to_date;
    if left <= 0.0 {
        return format!("{} over", money(-left));
    }
    let (_, projected) = charts::forecast::curves(chart);
    match projected.iter().find(|p| p.1 > budget) {
        Some(p) => format!("{} left · runs out ~day {}", money(left), p.0.ceil() as i64),
        None => format!("{} left · on track", money(left)),
    }
}

/// A budget amount, editable for billing and up (Enter or leaving the field saves; empty or 0
/// removes it).
#[component]
fn BudgetInput(
    ws: Signal<Option<String>>,
    app: Option<String>,
    value: Option<f64>,
    can_edit: Signal<bool>,
    saved: RwSignal<u32>,
) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let shown = value.map(|v| format!("{v:.2}")).unwrap_or_default();
    let label = format!(
        "Monthly budget of {}",
        app.as_deref().unwrap_or("the workspace")
    );
    let save = move |text: String| {
        let Some(ws) = ws.get_untracked() else { return };
        let monthly = if text.trim().is_empty() {
            Ok(0.0)
        } else {
            text.trim().parse::<f64>()
        };
        let Ok(monthly) = monthly else {
            error.set(Some("a number, e.g. 500".into()));
            return;
        };
        let body = Budget {
            app: app.clone(),
            monthly,
        };
        leptos::task::spawn_local(async move {
            match api::put_budget(&ws, &body).await {
                Ok(()) => saved.update(|n| *n += 1),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    view! {
        <Show when=move || can_edit.get() fallback={
            let shown = shown.clone();
            move || if shown.is_empty() { "–".to_owned() } else { shown.clone() }
        }>
            <input class="budget" type="number" min="0" step="any" placeholder="none" aria-label=label.clone()
                value=shown.clone()
                on:change={
                    let save = save.clone();
                    move |ev| save(event_target_value(&ev))
                }
            />
        </Show>
        {move || error.get().map(|e| view! { <span class="status warn">" "{e}</span> })}
    }
}

/// The stacked bars and the table behind them.
#[component]
fn Split(report: SplitReport) -> impl IntoView {
    let cur = report.currency.clone();
    let money = move |s: Option<shared::cost::Share>| {
        s.map_or_else(|| "–".to_owned(), |s| format::money(s.cost, &cur))
    };
    let notes: Vec<String> = report
        .apps
        .iter()
        .flat_map(|a| a.notes.iter().map(move |n| format!("{}: {n}", a.app)))
        .collect();
    let rows = report
        .apps
        .iter()
        .map(|a| {
            view! {
                <tr>
                    <td>{a.app.clone()}</td>
                    <td>{a.machine_type.clone()}</td>
                    <td class="num">{format::count((a.machine_seconds / 3600.0).round() as u64)}" h"</td>
                    <td class="num">{money(a.running)}</td>
                    <td class="num">{money(a.failed)}</td>
                    <td class="num">{money(a.setup)}</td>
                    <td class="num">{money(a.idle)}</td>
                    <td class="num"><strong>{a.overhead_share().map(format::percent).unwrap_or_else(|| "–".into())}</strong></td>
                </tr>
            }
        })
        .collect_view();
    let height = charts::split::height(report.apps.len());
    let range = format!(
        "{} – {} ({})",
        format::datetime(report.from),
        format::datetime(report.to),
        format::zone_name()
    );
    view! {
        <section class="panel">
            <h2>"Where the money goes"</h2>
            <p class="meta">{format!("Billed machine time per app, {range}: running requests that ended 2xx/4xx, failed (5xx) requests, cold starts and idle warm runners. Bars are spend; labels are shares of machine time.")}</p>
            <Chart id="split-chart" label="Spend per app split into running, failed, setup and idle" data=Signal::stored(report.clone()) draw=charts::split::draw height=height />
            <div class="table-wrap">
                <table id="split-table">
                    <thead><tr><th>"App"</th><th>"Machine"</th><th>"Machine time"</th><th>"Running"</th><th>"Failed"</th><th>"Setup"</th><th>"Idle"</th><th>"Overhead"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <ul class="notes meta">{notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
        </section>
    }
}

/// What one successful request costs per app: spend ÷ 2xx requests over whole hours.
#[component]
fn CostPerSuccess(report: CostReport) -> impl IntoView {
    let currency = report.currency.clone();
    let per = move |c: Option<f64>, cur: &str| {
        c.map_or_else(|| "–".to_owned(), |c| format::money(c, cur))
    };
    let rows = report
        .apps
        .iter()
        .map(|a| {
            view! {
                <tr>
                    <td>{a.app.clone()}</td>
                    <td class="num">{format::money(a.spend, &currency)}</td>
                    <td class="num">{format::count(a.success)}</td>
                    <td class="num">{format::count(a.user_errors)}</td>
                    <td class="num">{format::count(a.server_errors)}</td>
                    <td class="num"><strong>{per(a.cost_per_success, &currency)}</strong></td>
                </tr>
            }
        })
        .collect_view();
    let range = format!(
        "{} – {}",
        format::datetime(report.from),
        format::datetime(report.to)
    );
    view! {
        <section class="panel">
            <h2>"Cost per successful request"</h2>
            <p class="meta">{format!("Spend ÷ successful (2xx) requests, whole hours {range} ({}). Failed requests still cost machine time: that is in the spend.", format::zone_name())}</p>
            <div class="table-wrap">
                <table id="cost-per-success">
                    <thead>
                        <tr><th>"App"</th><th>"Spend"</th><th>"2xx"</th><th>"4xx"</th><th>"5xx"</th><th>"Per successful request"</th></tr>
                    </thead>
                    <tbody>{rows}</tbody>
                    <tfoot>
                        <tr>
                            <th>"All apps"</th>
                            <th class="num">{format::money(report.total_spend, &currency)}</th>
                            <th class="num">{format::count(report.total_success)}</th>
                            <th></th><th></th>
                            <th class="num">{per(report.cost_per_success, &currency)}</th>
                        </tr>
                    </tfoot>
                </table>
            </div>
        </section>
    }
}

/// The apps whose spend changed most against the period of the same length before.
#[component]
fn TopMovers(report: CostReport) -> impl IntoView {
    let cur = report.currency.clone();
    let mut movers: Vec<(String, f64, f64)> = report
        .apps
        .iter()
        .filter_map(|a| Some((a.app.clone(), a.spend, a.previous_spend?)))
        .collect();
    movers.sort_by(|a, b| (b.1 - b.2).abs().total_cmp(&(a.1 - a.2).abs()));
    movers.truncate(5);
    let rows = movers
        .into_iter()
        .map(|(app, now, before)| {
            let change = now - before;
            let pct = if before > 0.0 {
                format!("{:+.1}%", change / before * 100.0)
            } else {
                "new".to_owned()
            };
            let class = if change > 0.0 { "status warn" } else { "status ok" };
            view! {
                <tr>
                    <td>{app}</td>
                    <td class="num">{format::money(before, &cur)}</td>
                    <td class="num">{format::money(now, &cur)}</td>
                    <td class="num"><span class=class>{format!("{}{}", if change >= 0.0 { "+" } else { "−" }, format::money(change.abs(), &cur))}" ("{pct}")"</span></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel">
            <h2>"Top movers"</h2>
            <p class="meta">"Spend in this range against the range of the same length just before it."</p>
            <div class="table-wrap">
                <table id="top-movers">
                    <thead><tr><th>"App"</th><th>"Before"</th><th>"Now"</th><th>"Change"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

/// Price per billable unit, derived or set by an admin; ambiguous apps flagged.
#[component]
fn Prices(
    lines: Vec<PriceLine>,
    ws: Signal<Option<String>>,
    can_edit: Signal<bool>,
    saved: RwSignal<u32>,
) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let price = |p: Option<f64>| p.map_or_else(|| "–".to_owned(), |p| format!("${p:.6}"));
    let rows = lines
        .into_iter()
        .map(|l| {
            let app = l.app.clone();
            let flag = l.ambiguous.then(|| {
                let seen: Vec<String> = l.prices_seen.iter().map(|p| format!("${p:.6}")).collect();
                view! { <span class="status warn" title=format!("billed at {}", seen.join(", "))>"ambiguous: billed at " {seen.len()} " prices"</span> }
            });
            let save = move |text: String| {
                let Some(ws) = ws.get_untracked() else { return };
                let unit_price = if text.trim().is_empty() {
                    None
                } else {
                    match text.trim().parse::<f64>() {
                        Ok(v) => Some(v),
                        Err(_) => {
                            error.set(Some("a price such as 0.00125, or empty for the derived price".into()));
                            return;
                        }
                    }
                };
                let body = PriceOverride { app: app.clone(), unit_price };
                leptos::task::spawn_local(async move {
                    match api::put_price(&ws, &body).await {
                        Ok(()) => saved.update(|n| *n += 1),
                        Err(e) => error.set(Some(e.to_string())),
                    }
                });
            };
            let current = l.override_price.map(|p| format!("{p}")).unwrap_or_default();
            let fallback_text = price(l.override_price);
            view! {
                <tr>
                    <td>{l.app.clone()}</td>
                    <td>{l.machine_types.join(", ")}</td>
                    <td class="num">{price(l.derived)}</td>
                    <td class="num">
                        <Show when=move || can_edit.get() fallback={ let t = fallback_text.clone(); move || t.clone() }>
                            <input class="price" type="number" min="0" step="any" placeholder="derived" value=current.clone()
                                aria-label="Price per billable unit"
                                on:change={ let save = save.clone(); move |ev| save(event_target_value(&ev)) } />
                        </Show>
                    </td>
                    <td class="num"><strong>{price(l.effective)}</strong></td>
                    <td>{flag}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel">
            <h2>"Price per billable unit"</h2>
            <p class="meta">"Per-request cost = billable units × this price. Derived from the last 7 days of usage (spend ÷ machine-seconds); an admin can set it per app. Apps billed at several prices (surge, machine types) are flagged: their per-request costs are a blend."</p>
            {move || error.get().map(|e| view! { <p class="status warn">{e}</p> })}
            <div class="table-wrap">
                <table id="prices">
                    <thead><tr><th>"App"</th><th>"Machine"</th><th>"Derived"</th><th>"Override"</th><th>"Used"</th><th></th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

/// fal's prepaid balance and when it runs out at the projected spend.
#[component]
fn CreditsPanel(credits: shared::cost::Credits) -> impl IntoView {
    let day = |t: chrono::DateTime<chrono::Utc>| crate::zone::local(t).format("%b %d").to_string();
    let runway = credits.runway.map(|r| {
        let latest = r.latest.map_or_else(|| "after a year".to_owned(), day);
        let class = if r.days < 7.0 { "status bad" } else if r.days < 14.0 { "status warn" } else { "" };
        view! {
            <p id="runway" class=class>
                {format!("Runs out ~{} ({} – {}), in about {:.0} days at the projected spend", day(r.runs_out), day(r.earliest), latest, r.days)}
            </p>
        }
    });
    view! {
        <section class="panel" id="credits">
            <h2>"Credits"</h2>
            <p class="big" id="credit-balance">{format::money(credits.balance, &credits.currency)}" left"</p>
            {runway}
            {credits.daily_spend.map(|d| view! { <p class="meta">{format!("Projected spend: {} a day over the next week (the month's projection, carried on). It counts your apps' usage; calls to fal's model APIs use credits too, so the balance may run out sooner.", format::money(d, &credits.currency))}</p> })}
            {credits.note.map(|n| view! { <p class="meta">{n}</p> })}
        </section>
    }
}
