//! `GET /metrics`: falscope's own health (upstream calls, cache outcomes, SSE viewers, circuit
//! states) and fal's live numbers re-exported with cost, so a team can keep its Grafana. fal's
//! data comes from what the poller and the cache already hold: a scrape reads fal at most once
//! per cache TTL, however often Prometheus scrapes.

use crate::promtext::{Kind, Writer};
use crate::state::AppState;
use crate::upstream::resilient::Circuit;
use crate::upstream::FalApi;
use crate::workspace::Workspace;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use shared::{LiveSnapshot, RunnerState};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Handler.
pub async fn get_metrics(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
) -> impl IntoResponse {
    // Only the workspaces the caller may see: a viewer limited to `stage` reads nothing of
    // `prod` (runners, queues, calls, alert names, spend).
    let visible: Vec<Arc<Workspace>> = state
        .reports
        .workspaces()
        .iter()
        .filter(|w| {
            caller
                .identity
                .as_ref()
                .is_some_and(|i| state.auth.may_see(i, &w.id))
        })
        .cloned()
        .collect();
    let mut w = Writer::new();
    own(&state, &visible, &mut w);
    fal_live(&visible, &mut w);
    alert_states(&state, &visible, &mut w);
    fal_failures(&state, &visible, &mut w).await;
    model_slas(&state, &visible, &mut w).await;
    // Spend is billing data: a viewer's scrape (or token) gets everything else.
    if super::requests::may_see_cost(&caller) {
        fal_cost(&state, &visible, &mut w).await;
        derived_cost(&state, &visible, &mut w).await;
        credits(&state, &visible, &mut w).await;
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        w.finish(),
    )
}

fn own(state: &AppState, visible: &[Arc<Workspace>], w: &mut Writer) {
    w.family("falscope_build_info", "falscope version", Kind::Gauge)
        .sample(
            "falscope_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1.0,
        );
    w.family(
        "falscope_upstream_calls_total",
        "Calls to fal by operation and outcome",
        Kind::Counter,
    );
    for ws in visible {
        let mut calls: Vec<_> = ws.fal.call_counts().into_iter().collect();
        calls.sort_unstable();
        for ((op, outcome), n) in calls {
            w.sample(
                "falscope_upstream_calls_total",
                &[
                    ("workspace", &ws.id),
                    ("operation", op),
                    ("outcome", outcome),
                ],
                n as f64,
            );
        }
    }
    w.family(
        "falscope_upstream_decode_errors_total",
        "Answers (or stream events, or fields) from fal that did not decode, by operation",
        Kind::Counter,
    );
    for (op, n) in crate::upstream::DECODE_ERRORS.counts() {
        w.sample(
            "falscope_upstream_decode_errors_total",
            &[("operation", op)],
            n as f64,
        );
    }
    w.family(
        "falscope_circuit_state",
        "Circuit breaker state per fal operation (1 for the current state)",
        Kind::Gauge,
    );
    for ws in visible {
        for (op, circuit) in ws.fal.circuits() {
            for (name, s) in [
                ("closed", Circuit::Closed),
                ("open", Circuit::Open),
                ("half_open", Circuit::HalfOpen),
            ] {
                let v = if circuit == s { 1.0 } else { 0.0 };
                w.sample(
                    "falscope_circuit_state",
                    &[("workspace", &ws.id), ("operation", op), ("state", name)],
                    v,
                );
            }
        }
    }
    let stats = &state.reports.cache().stats;
    w.family(
        "falscope_cache_requests_total",
        "Cache lookups by outcome",
        Kind::Counter,
    );
    for (outcome, counter) in [
        ("hit", &stats.hits),
        ("miss", &stats.misses),
        ("revalidated", &stats.revalidated),
        ("stale", &stats.stale),
    ] {
        w.sample(
            "falscope_cache_requests_total",
            &[("outcome", outcome)],
            counter.load(Ordering::Relaxed) as f64,
        );
    }
    w.family(
        "falscope_cache_fetches_total",
        "Upstream fetches started by the cache (one per coalesced flight)",
        Kind::Counter,
    )
    .sample(
        "falscope_cache_fetches_total",
        &[],
        stats.fetches.load(Ordering::Relaxed) as f64,
    );
    w.family(
        "falscope_cache_peer_hits_total",
        "Misses answered from Redis with another replica's fetch (--redis-url)",
        Kind::Counter,
    )
    .sample(
        "falscope_cache_peer_hits_total",
        &[],
        stats.peer_hits.load(Ordering::Relaxed) as f64,
    );
    if let Some(redis) = Some(&state.cluster).filter(|c| c.is_shared()) {
        w.family(
            "falscope_redis_up",
            "1 while Redis answers; 0 while this replica works alone (degraded)",
            Kind::Gauge,
        )
        .sample("falscope_redis_up", &[], f64::from(u8::from(redis.is_up())));
        w.family(
            "falscope_redis_degraded_total",
            "Times Redis became unreachable and this replica went on alone",
            Kind::Counter,
        )
        .sample(
            "falscope_redis_degraded_total",
            &[],
            redis.went_down() as f64,
        );
        w.family(
            "falscope_lease_held",
            "1 while this replica runs the job for the cluster (alerts, samples, cost-history, prune)",
            Kind::Gauge,
        );
        for (job, held) in redis.leases() {
            w.sample(
                "falscope_lease_held",
                &[("job", &job)],
                f64::from(u8::from(held)),
            );
        }
    }
    w.family(
        "falscope_cache_entries",
        "Entries in the cache",
        Kind::Gauge,
    )
    .sample(
        "falscope_cache_entries",
        &[],
        state.reports.cache().len() as f64,
    );
    w.family(
        "falscope_cache_bytes",
        "Approximate bytes held by the cache",
        Kind::Gauge,
    )
    .sample(
        "falscope_cache_bytes",
        &[],
        state.reports.cache().weighted_size() as f64,
    );
    w.family(
        "falscope_sse_clients",
        "Open Server-Sent Events connections",
        Kind::Gauge,
    )
    .sample(
        "falscope_sse_clients",
        &[],
        state.limits.sse_clients.load(Ordering::Relaxed) as f64,
    );
    w.family(
        "falscope_fal_up",
        "1 when the last read of fal's metrics answered; 0 while falscope serves a stale copy or nothing",
        Kind::Gauge,
    );
    for ws in visible {
        w.sample(
            "falscope_fal_up",
            &[("workspace", &ws.id)],
            if ws.fal_up() { 1.0 } else { 0.0 },
        );
    }
    w.family(
        "falscope_log_streams",
        "Shared upstream log streams open",
        Kind::Gauge,
    );
    for ws in visible {
        w.sample(
            "falscope_log_streams",
            &[("workspace", &ws.id)],
            ws.logs.open_streams() as f64,
        );
    }
}

fn fal_live(visible: &[Arc<Workspace>], w: &mut Writer) {
    let snapshots: Vec<(String, std::sync::Arc<LiveSnapshot>)> = visible
        .iter()
        .filter_map(|ws| Some((ws.id.clone(), ws.live.borrow().as_ref()?.snapshot.clone())))
        .collect();
    w.family(
        "fal_app_runners_current",
        "Runners per app, machine type and state (from fal's metrics)",
        Kind::Gauge,
    );
    for (ws, s) in &snapshots {
        for a in &s.apps {
            for r in &a.runners {
                let state = match r.state {
                    RunnerState::Running => "running",
                    RunnerState::Idle => "idle",
                    RunnerState::Pending => "pending",
                };
                w.sample(
                    "fal_app_runners_current",
                    &[
                        ("workspace", ws),
                        ("application", &a.application),
                        ("machine_type", &r.machine_type),
                        ("state", state),
                    ],
                    f64::from(r.count),
                );
            }
        }
    }
    let per_app = |w: &mut Writer,
                   name: &str,
                   help: &str,
                   f: &dyn Fn(&shared::AppLive) -> Option<f64>,
                   extra: &[(&str, &str)]| {
        w.family(name, help, Kind::Gauge);
        for (ws, s) in &snapshots {
            for a in &s.apps {
                if let Some(v) = f(a) {
                    let mut labels = vec![
                        ("workspace", ws.as_str()),
                        ("application", a.application.as_str()),
                    ];
                    labels.extend_from_slice(extra);
                    w.sample(name, &labels, v);
                }
            }
        }
    };
    per_app(
        w,
        "fal_app_queue_size_current",
        "Requests waiting in the app's queue",
        &|a| Some(a.queue_size as f64),
        &[],
    );
    per_app(
        w,
        "fal_app_concurrent_requests_current",
        "Requests being processed",
        &|a| Some(a.concurrent_requests as f64),
        &[],
    );
    per_app(
        w,
        "fal_app_requests_received_per_minute",
        "Requests received in the last minute",
        &|a| Some(a.received_per_min as f64),
        &[],
    );
    // Estimated from fal's cumulative `le` buckets. A `percentile` label, not `quantile` or
    // `le`: promtool reserves those for summaries and histograms (fal's own family fails it).
    w.family(
        "fal_app_request_latency_estimate_seconds",
        "Latency quantiles of the last minute, estimated from fal's buckets",
        Kind::Gauge,
    );
    for (ws, s) in &snapshots {
        for a in &s.apps {
            for (q, percentile) in [(0.5, "50"), (0.9, "90"), (0.99, "99")] {
                if let Some(v) = a.latency_quantile(q) {
                    w.sample(
                        "fal_app_request_latency_estimate_seconds",
                        &[
                            ("workspace", ws),
                            ("application", &a.application),
                            ("percentile", percentile),
                        ],
                        v,
                    );
                }
            }
        }
    }
}

/// The last 24 whole hours: the window every cost figure of a scrape shares (and so the same
/// cache entries as the cost view's and the alert rules').
fn last_day(state: &AppState) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
    let now = state.now();
    let to = chrono::DurationRound::duration_trunc(now, chrono::Duration::hours(1)).unwrap_or(now);
    (to - chrono::Duration::hours(24), to)
}

/// Failed requests (5xx) of the last 24 whole hours per endpoint and fal failure type (through
/// the analytics report's cache, so a scrape calls fal at most once per TTL).
async fn fal_failures(state: &AppState, visible: &[Arc<Workspace>], w: &mut Writer) {
    const NAME: &str = "fal_endpoint_failures_24h";
    w.family(
        NAME,
        "Failed requests (5xx) over the last 24 hours, by fal failure type",
        Kind::Gauge,
    );
    let (from, to) = last_day(state);
    for ws in visible {
        let Ok(failures) = state.reports.failures_between(&ws.id, from, to).await else {
            continue;
        };
        for (endpoint, f) in failures {
            for kind in shared::analytics::FailureType::ALL {
                w.sample(
                    NAME,
                    &[
                        ("workspace", &ws.id),
                        ("endpoint", &endpoint),
                        ("type", kind.as_str()),
                    ],
                    f.of(kind) as f64,
                );
            }
        }
    }
}

/// Average cost per hour over the last 24 whole hours, per app (ADMIN key; through the
/// usage report's cache, so a scrape calls fal's usage at most once per TTL).
async fn fal_cost(state: &AppState, visible: &[Arc<Workspace>], w: &mut Writer) {
    w.family(
        "fal_app_cost_per_hour",
        "Average spend per hour over the last 24 hours, from fal usage",
        Kind::Gauge,
    );
    let (from, to) = last_day(state);
    for ws in visible.iter().filter(|w| w.fal.has_admin_key()) {
        let Ok(usage) = state.reports.usage_between(&ws.id, from, to, None).await else {
            continue;
        };
        let mut per_app: std::collections::BTreeMap<(String, String), f64> =
            std::collections::BTreeMap::new();
        for l in &usage.lines {
            *per_app
                .entry((l.app.clone(), l.currency.clone()))
                .or_default() += l.cost;
        }
        for ((app, currency), cost) in per_app {
            w.sample(
                "fal_app_cost_per_hour",
                &[
                    ("workspace", &ws.id),
                    ("app", &app),
                    ("currency", &currency),
                ],
                cost / 24.0,
            );
        }
    }
}

/// falscope's own cost figures (the same computations as `/api/ws/{ws}/cost` and `/forecast`,
/// through the same caches): cost per successful request over the last 24 whole hours, and this
/// month's spend and projection.
async fn derived_cost(state: &AppState, visible: &[Arc<Workspace>], w: &mut Writer) {
    let admin: Vec<_> = visible.iter().filter(|w| w.fal.has_admin_key()).collect();
    let (from, to) = last_day(state);
    w.family(
        "falscope_cost_per_successful_request",
        "Spend divided by successful (2xx) requests over the last 24 whole hours, per app",
        Kind::Gauge,
    );
    for ws in &admin {
        let Ok(report) = state.reports.cost_between(&ws.id, from, to).await else {
            continue;
        };
        let report = report.value;
        for a in &report.apps {
            if let Some(c) = a.cost_per_success {
                w.sample(
                    "falscope_cost_per_successful_request",
                    &[
                        ("workspace", &ws.id),
                        ("app", &a.app),
                        ("currency", &report.currency),
                    ],
                    c,
                );
            }
        }
    }
    w.family(
        "falscope_overhead_ratio",
        "Share of billed machine time not spent running requests that ended 2xx/4xx (idle, cold starts, 5xx) over the last 24 whole hours, per app (0-1)",
        Kind::Gauge,
    );
    for ws in &admin {
        let Ok(split) = state.reports.split_between(&ws.id, from, to).await else {
            continue;
        };
        let split = split.value;
        for a in &split.apps {
            if let Some(r) = a.overhead_share() {
                w.sample(
                    "falscope_overhead_ratio",
                    &[("workspace", &ws.id), ("app", &a.app)],
                    r,
                );
            }
        }
    }
    let mut forecasts = Vec::new();
    for ws in &admin {
        if let Ok(f) = state.reports.forecast(&ws.id).await {
            forecasts.push((ws.id.clone(), f.value));
        }
    }
    w.family(
        "falscope_month_to_date_spend",
        "Spend since the first of this month (UTC)",
        Kind::Gauge,
    );
    for (id, f) in &forecasts {
        w.sample(
            "falscope_month_to_date_spend",
            &[("workspace", id), ("currency", &f.currency)],
            f.month_to_date,
        );
    }
    w.family(
        "falscope_projected_month_spend",
        "Projected spend of this whole month: expected, and the low and high ends of its ~95% band",
        Kind::Gauge,
    );
    for (id, f) in &forecasts {
        for (estimate, v) in [("expected", f.projected), ("low", f.low), ("high", f.high)] {
            if let Some(v) = v {
                w.sample(
                    "falscope_projected_month_spend",
                    &[
                        ("workspace", id),
                        ("currency", &f.currency),
                        ("estimate", estimate),
                    ],
                    v,
                );
            }
        }
    }
}

/// Each watched model endpoint's SLA over its period: met (1) or missed (0) per objective
/// judged, and the success objective's error budget left.
async fn model_slas(state: &AppState, visible: &[Arc<Workspace>], w: &mut Writer) {
    let mut all = Vec::new();
    for ws in visible {
        match state.reports.sla_states(&ws.id).await {
            Ok(states) => all.push((ws.id.clone(), states)),
            Err(err) => {
                tracing::debug!(%err, workspace = %ws.id, "model SLAs not read for /metrics")
            }
        }
    }
    w.family(
        "falscope_model_sla_met",
        "Whether a watched model endpoint meets an SLA objective over its period (1 met, 0 missed; absent without requests)",
        Kind::Gauge,
    );
    for (id, states) in &all {
        for s in states {
            for o in &s.objectives {
                if let Some(met) = o.met {
                    w.sample(
                        "falscope_model_sla_met",
                        &[
                            ("workspace", id),
                            ("endpoint", &s.endpoint),
                            ("objective", o.objective.as_str()),
                        ],
                        if met { 1.0 } else { 0.0 },
                    );
                }
            }
        }
    }
    w.family(
        "falscope_model_sla_error_budget_remaining",
        "Share of the success objective's error budget (the 5xx answers it allows in the period) left; below 0 when overspent",
        Kind::Gauge,
    );
    for (id, states) in &all {
        for s in states {
            for o in &s.objectives {
                if let Some(left) = o.budget_left {
                    w.sample(
                        "falscope_model_sla_error_budget_remaining",
                        &[("workspace", id), ("endpoint", &s.endpoint)],
                        left,
                    );
                }
            }
        }
    }
}

/// fal's prepaid credit balance and how many days it lasts at the projected spend (workspaces
/// with an ADMIN key; a runway only where one can be projected).
async fn credits(state: &AppState, visible: &[Arc<Workspace>], w: &mut Writer) {
    let mut all = Vec::new();
    for ws in visible.iter().filter(|w| w.fal.has_admin_key()) {
        if let Ok(c) = state.reports.credits(&ws.id).await {
            all.push((ws.id.clone(), c.value));
        }
    }
    w.family(
        "falscope_credit_balance",
        "fal's prepaid credit balance",
        Kind::Gauge,
    );
    for (id, c) in &all {
        w.sample(
            "falscope_credit_balance",
            &[("workspace", id), ("currency", &c.currency)],
            c.balance,
        );
    }
    w.family(
        "falscope_credit_runway_days",
        "Days until the credit balance reaches zero at the projected spend: expected, and the earliest and latest of its ~95% band",
        Kind::Gauge,
    );
    for (id, c) in &all {
        let Some(r) = c.runway else { continue };
        let latest = r
            .latest
            .map(|t| (t - r.runs_out).num_seconds() as f64 / 86_400.0 + r.days);
        let earliest = (r.earliest - r.runs_out).num_seconds() as f64 / 86_400.0 + r.days;
        for (estimate, v) in [
            ("expected", Some(r.days)),
            ("earliest", Some(earliest)),
            ("latest", latest),
        ] {
            if let Some(v) = v {
                w.sample(
                    "falscope_credit_runway_days",
                    &[("workspace", id), ("estimate", estimate)],
                    v,
                );
            }
        }
    }
}

/// Every alert rule's state: 1 when firing (or pending), else 0.
fn alert_states(state: &AppState, visible: &[Arc<Workspace>], w: &mut Writer) {
    let mut states = state.alerts.states();
    states.retain(|(rule, _)| visible.iter().any(|w| w.id == rule.workspace));
    for (family, help, wanted) in [
        (
            "falscope_alert_firing",
            "1 while the alert rule is firing, else 0",
            shared::alerts::AlertState::Firing,
        ),
        (
            "falscope_alert_pending",
            "1 while the alert rule's condition holds but not yet for its hold time, else 0",
            shared::alerts::AlertState::Pending,
        ),
    ] {
        w.family(family, help, Kind::Gauge);
        for (rule, s) in &states {
            w.sample(
                family,
                &[
                    ("workspace", &rule.workspace),
                    ("rule", &rule.id),
                    ("name", &rule.name),
                ],
                if *s == wanted { 1.0 } else { 0.0 },
            );
        }
    }
}
