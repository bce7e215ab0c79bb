//! `/models`: the fal model endpoints the team calls (watched per workspace), their requests by
//! outcome and prepare vs execution latency with each endpoint's SLA drawn on it, and the SLA
//! table: met or missed per objective over its period, with the error budget left.

use crate::api;
use crate::charts::palette;
use crate::charts::time::{Kind, Series, TimeChart, Unit};
use crate::components::{loaded, Empty, ErrorPanel, Freshness, TimeChartPanel, TimePicker};
use crate::format;
use crate::state::{self, use_config, use_refresh_tick, use_set_query, use_view};
use leptos::prelude::*;
use shared::auth::Role;
use shared::models::{
    ModelsReport, Objective, SlaObjectives, SlaState, Watched, WatchedModel, MAX_WATCHED,
};
use shared::query::ModelsQuery;

/// The Models page.
#[component]
pub fn ModelsPage() -> impl IntoView {
    let config = use_config();
    let view = use_view();
    let tick = use_refresh_tick(view);
    // Bumped when the watched list changes.
    let changed = RwSignal::new(0_u32);
    let ws = state::use_workspace(config, view);
    let watched = LocalResource::new(move || {
        changed.track();
        let param = view.get("ws");
        async move { api::get_models(&state::workspace(config, param).await?).await }
    });
    let report = LocalResource::new(move || {
        changed.track();
        tick.track();
        let param = view.get("ws");
        let q = ModelsQuery {
            from: view.time_from("now-24h"),
            to: view.time_to(),
            timeframe: view.choice("timeframe"),
            tz: view.tz(),
        };
        async move { api::get_models_report(&state::workspace(config, param).await?, &q).await }
    });
    view! {
        <div class="page-head">
            <h1>"Models"</h1>
            <TimePicker default_from="now-24h" />
        </div>
        <p class="meta">"fal's model APIs your team calls (e.g. fal-ai/flux/dev), from fal's models analytics: your own requests to them, and each one's SLA over its own period, ending now."</p>
        {loaded(watched, move |w| view! { <WatchedPanel watched=w ws=ws changed=changed /> })}
        {loaded(report, |r| {
            let (as_of, stale) = (r.as_of, r.stale);
            if r.data.watched.is_empty() {
                view! { <Empty message="No model endpoints are watched in this workspace yet: add one above." /> }.into_any()
            } else {
                let refused = (!r.data.refused.is_empty()).then(|| {
                    view! { <p class="status warn" role="status">"fal gives nothing for: "{r.data.refused.join("; ")}". Check the ids on fal's model pages."</p> }
                });
                view! {
                    <p class="meta"><Freshness as_of=as_of stale=stale /></p>
                    {refused}
                    <SlaTable states=r.data.sla.clone() />
                    <Charts report=r.data />
                }
                .into_any()
            }
        })}
    }
}

/// The watched endpoints, with the form to add one (operators) and demo suggestions.
#[component]
fn WatchedPanel(
    watched: Watched,
    ws: Signal<Option<String>>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let operator = state::has_role(Role::Operator);
    let error = RwSignal::new(None::<api::ClientError>);
    let save = move |m: WatchedModel| {
        let Some(ws) = ws.get_untracked() else { return };
        leptos::task::spawn_local(async move {
            match api::put_model(&ws, &m).await {
                Ok(()) => {
                    error.set(None);
                    changed.update(|n| *n += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let remove = move |endpoint: String| {
        let Some(ws) = ws.get_untracked() else { return };
        leptos::task::spawn_local(async move {
            match api::delete_model(&ws, &endpoint).await {
                Ok(()) => changed.update(|n| *n += 1),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let rows = watched
        .models
        .iter()
        .map(|m| {
            let endpoint = m.endpoint.clone();
            let objectives = m
                .sla
                .objectives()
                .into_iter()
                .map(|(o, t)| o.describe(t))
                .collect::<Vec<_>>()
                .join(", ");
            let label = format!("Remove {endpoint}");
            view! {
                <tr>
                    <td>{m.endpoint.clone()}</td>
                    <td>{if objectives.is_empty() { "none".to_owned() } else { objectives }}</td>
                    <td>{format!("{} h", m.sla.period_hours)}</td>
                    {operator.then(|| view! {
                        <td><button class="link" aria-label=label on:click=move |_| remove(endpoint.clone())>"Remove"</button></td>
                    })}
                </tr>
            }
        })
        .collect_view();
    let full = watched.models.len() >= MAX_WATCHED;
    let table = (!watched.models.is_empty()).then(|| view! {
        <div class="table-wrap">
            <table>
                <thead><tr><th>"Endpoint"</th><th>"SLA"</th><th>"Period"</th>{operator.then(|| view! { <th><span class="sr-only">"Actions"</span></th> })}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    });
    view! {
        <section class="panel" id="watched-models">
            <h2>"Watched model endpoints"</h2>
            {table}
            {(operator && !full).then(|| view! { <AddModel suggestions=watched.suggestions.clone() save=save /> })}
            {(!operator).then(|| view! { <p class="meta">"Operators add and remove watched endpoints."</p> })}
            {full.then(|| view! { <p class="meta">{format!("A workspace watches at most {MAX_WATCHED} endpoints (what one fal call takes).")}</p> })}
            {move || error.get().map(|e| view! { <ErrorPanel error=e /> })}
        </section>
    }
}

/// The add form: an endpoint id and its objectives (typed as text, checked on submit).
#[component]
fn AddModel(
    suggestions: Vec<String>,
    save: impl Fn(WatchedModel) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let defaults = SlaObjectives::default();
    let endpoint = RwSignal::new(String::new());
    let exec = RwSignal::new(
        defaults
            .p90_execution_s
            .map(|v| v.to_string())
            .unwrap_or_default(),
    );
    let prep = RwSignal::new(
        defaults
            .p90_prepare_s
            .map(|v| v.to_string())
            .unwrap_or_default(),
    );
    let success = RwSignal::new("99".to_owned());
    let period = RwSignal::new(defaults.period_hours.to_string());
    let problem = RwSignal::new(None::<String>);
    let number = |s: String, what: &str| -> Result<Option<f64>, String> {
        let s = s.trim().to_owned();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<f64>()
            .map(Some)
            .map_err(|_| format!("{what}: {s:?} is not a number (use digits and a dot)"))
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let parsed = (|| -> Result<WatchedModel, String> {
            let sla = SlaObjectives {
                p90_execution_s: number(exec.get_untracked(), "p90 execution")?,
                p90_prepare_s: number(prep.get_untracked(), "p90 prepare")?,
                success: number(success.get_untracked(), "success")?.map(|p| p / 100.0),
                period_hours: period
                    .get_untracked()
                    .trim()
                    .parse()
                    .map_err(|_| "period: a whole number of hours".to_owned())?,
            };
            let m = WatchedModel {
                endpoint: endpoint.get_untracked().trim().to_owned(),
                sla,
            };
            shared::models::check_endpoint(&m.endpoint)?;
            m.sla.check().map_err(|(f, e)| format!("{f}: {e}"))?;
            Ok(m)
        })();
        match parsed {
            Ok(m) => {
                problem.set(None);
                endpoint.set(String::new());
                save(m);
            }
            Err(e) => problem.set(Some(e)),
        }
    };
    let field = |id: &'static str,
                 label: &'static str,
                 value: RwSignal<String>,
                 mode: &'static str| {
        view! {
            <label>{label}
                <input id=id type="text" inputmode=mode autocomplete="off" prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) />
            </label>
        }
    };
    view! {
        <form id="add-model" class="rule-form" on:submit=submit novalidate>
            {field("model-endpoint", "Endpoint id", endpoint, "text")}
            {field("model-exec", "p90 execution ≤ (s)", exec, "decimal")}
            {field("model-prepare", "p90 prepare ≤ (s)", prep, "decimal")}
            {field("model-success", "Success ≥ (%)", success, "decimal")}
            {field("model-period", "Over (h)", period, "numeric")}
            <button type="submit">"Watch"</button>
        </form>
        {move || problem.get().map(|p| view! { <p class="status warn" role="alert">{p}</p> })}
        {(!suggestions.is_empty()).then(|| view! {
            <p class="meta suggestions">"Try: "
                {suggestions.into_iter().map(|s| {
                    let pick = s.clone();
                    view! { <button class="link suggestion" type="button" on:click=move |_| endpoint.set(pick.clone())>{s}</button>" " }
                }).collect_view()}
            </p>
        })}
    }
}

/// Met / missed per objective, with what was measured and the error budget left.
#[component]
fn SlaTable(states: Vec<SlaState>) -> impl IntoView {
    let cell = |s: &SlaState, o: Objective| {
        let Some(state) = s.objectives.iter().find(|x| x.objective == o) else {
            return view! { <td class="num muted">"—"</td> }.into_any();
        };
        let actual = match (o, state.actual) {
            (_, None) => "no requests".to_owned(),
            (Objective::Success, Some(a)) => format::percent(a),
            (_, Some(a)) => format::seconds(a),
        };
        let target = match o {
            Objective::Success => format!("≥ {}", format::percent(state.target)),
            _ => format!("≤ {}", format::seconds(state.target)),
        };
        let (class, mark) = match state.met {
            Some(true) => ("num ok", "met"),
            Some(false) => ("num bad", "missed"),
            None => ("num muted", "not judged"),
        };
        view! { <td class=class>{format!("{actual} ({target}) · {mark}")}</td> }.into_any()
    };
    let rows = states
        .iter()
        .map(|s| {
            let budget =
                s.objectives
                    .iter()
                    .find_map(|o| o.budget_left)
                    .map_or("—".to_owned(), |b| {
                        if b < 0.0 {
                            format!("overspent ({})", format::percent(b))
                        } else {
                            format::percent(b)
                        }
                    });
            let verdict = match (s.met, &s.refused) {
                (_, Some(_)) => ("warn", "refused by fal"),
                (Some(true), _) => ("ok", "met"),
                (Some(false), _) => ("bad", "missed"),
                (None, None) => ("muted", "not judged"),
            };
            let hours = (s.to - s.from).num_minutes() as f64 / 60.0;
            view! {
                <tr>
                    <td>{s.endpoint.clone()}</td>
                    <td class=format!("status {}", verdict.0)>{verdict.1}</td>
                    <td class="num">{format::count(s.requests)}</td>
                    {cell(s, Objective::P90Execution)}
                    {cell(s, Objective::P90Prepare)}
                    {cell(s, Objective::Success)}
                    <td class="num">{budget}</td>
                    <td class="num">{format!("{hours:.0} h")}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel">
            <h2>"SLA"</h2>
            <div class="table-wrap">
                <table id="sla-table">
                    <thead><tr>
                        <th>"Endpoint"</th><th>"SLA"</th><th>"Requests"</th><th>"p90 execution"</th><th>"p90 prepare"</th>
                        <th>"Success"</th><th>"Error budget left"</th><th>"Period"</th>
                    </tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <p class="meta">"Success counts requests not answered 5xx (a 4xx is the caller's error). The error budget is the 5xx the success target allows in the period."</p>
        </section>
    }
}

/// Requests by outcome, and one endpoint's prepare vs execution percentiles with its SLA.
#[component]
fn Charts(report: ModelsReport) -> impl IntoView {
    let view = use_view();
    let set = use_set_query();
    // The endpoint whose latency is drawn: picked, else the first missing its SLA, else the first.
    let default = report
        .sla
        .iter()
        .find(|s| s.met == Some(false))
        .or(report.sla.first())
        .map(|s| s.endpoint.clone())
        .unwrap_or_default();
    let picked = view
        .get("model")
        .filter(|m| report.watched.iter().any(|w| w.endpoint == *m))
        .unwrap_or(default);
    let counts = super::analytics::counts(&report.analytics);
    let latency = latency(&report, &picked);
    let options = report
        .watched
        .iter()
        .map(|w| {
            let e = w.endpoint.clone();
            view! { <option value=e.clone() selected=e == picked>{e.clone()}</option> }
        })
        .collect_view();
    view! {
        <section class="panel">
            <h2>"Requests by outcome"</h2>
            <TimeChartPanel id="models-counts" label="Requests to the watched model endpoints by outcome over time" chart=counts on_zoom=state::use_zoom() />
        </section>
        <section class="panel">
            <div class="panel-head">
                <h2>"Latency"</h2>
                <label>"Endpoint "
                    <select id="model-pick" on:change=move |ev| set(&[("model", Some(event_target_value(&ev)))])>{options}</select>
                </label>
            </div>
            <TimeChartPanel id="models-latency" label="Prepare (queue) and execution p50, p75 and p90 of one model endpoint, with its SLA targets" chart=latency on_zoom=state::use_zoom() />
        </section>
    }
}

fn latency(report: &ModelsReport, endpoint: &str) -> TimeChart {
    let r = &report.analytics;
    let pick = |f: fn(&shared::analytics::AnalyticsPoint) -> Option<f64>| -> Vec<(i64, f64)> {
        r.series
            .iter()
            .filter(|p| p.endpoint == endpoint)
            .filter_map(|p| f(p).map(|v| (p.t.timestamp_millis(), v)))
            .collect()
    };
    let line = |name: &str, color, thin, points| Series {
        color: Some(color),
        thin,
        ..Series::new(name, points)
    };
    let mut series = vec![
        line(
            "execution p50",
            palette::SERIES[0],
            false,
            pick(|p| p.execution.p50),
        ),
        line(
            "execution p75",
            palette::SERIES[1],
            false,
            pick(|p| p.execution.p75),
        ),
        line(
            "execution p90",
            palette::SERIES[4],
            false,
            pick(|p| p.execution.p90),
        ),
        line(
            "prepare p50",
            palette::SERIES[2],
            true,
            pick(|p| p.prepare.p50),
        ),
        line(
            "prepare p75",
            palette::SERIES[5],
            true,
            pick(|p| p.prepare.p75),
        ),
        line(
            "prepare p90",
            palette::SERIES[3],
            true,
            pick(|p| p.prepare.p90),
        ),
    ];
    // The SLA's latency targets as flat lines across the range.
    let (from, to) = (r.from.timestamp_millis(), r.to.timestamp_millis());
    if let Some(sla) = report
        .watched
        .iter()
        .find(|w| w.endpoint == endpoint)
        .map(|w| w.sla)
    {
        for (name, target, color) in [
            (
                "SLA: p90 execution",
                sla.p90_execution_s,
                palette::SERVER_ERROR,
            ),
            ("SLA: p90 prepare", sla.p90_prepare_s, palette::USER_ERROR),
        ] {
            if let Some(t) = target {
                series.push(line(name, color, true, vec![(from, t), (to, t)]));
            }
        }
    }
    TimeChart::new(series, Unit::Seconds, Kind::Lines)
}
