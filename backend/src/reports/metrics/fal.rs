//! fal's own numbers in a scrape: the live snapshot the poller holds, and failures and the
//! watched models' SLAs through the reports' caches.

use super::super::Reports;
use super::spend::last_day;
use crate::promtext::{Kind, Writer};
use crate::workspace::Workspace;
use shared::{LiveSnapshot, RunnerState};
use std::sync::Arc;

pub(super) fn live(visible: &[Arc<Workspace>], w: &mut Writer) {
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

/// Failed requests (5xx) of the last 24 whole hours per endpoint and fal failure type (through
/// the analytics report's cache, so a scrape calls fal at most once per TTL).
pub(super) async fn failures(reports: &Reports, visible: &[Arc<Workspace>], w: &mut Writer) {
    const NAME: &str = "fal_endpoint_failures_24h";
    w.family(
        NAME,
        "Failed requests (5xx) over the last 24 hours, by fal failure type",
        Kind::Gauge,
    );
    let (from, to) = last_day(reports);
    for ws in visible {
        let Ok(failures) = reports.failures_between(&ws.id, from, to).await else {
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

/// Each watched model endpoint's SLA over its period: met (1) or missed (0) per objective
/// judged, and the success objective's error budget left.
pub(super) async fn model_slas(reports: &Reports, visible: &[Arc<Workspace>], w: &mut Writer) {
    let mut all = Vec::new();
    for ws in visible {
        match reports.sla_states(&ws.id).await {
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
