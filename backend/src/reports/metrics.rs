//! `GET /metrics`: falscope's own health (upstream calls, cache outcomes, SSE viewers, circuit
//! states) and fal's live numbers re-exported with cost, so a team can keep its Grafana. fal's
//! data comes from what the poller and the cache already hold: a scrape reads fal at most once
//! per cache TTL, however often Prometheus scrapes. The handler (`api::metrics`) decides what
//! its caller may see and hands over what only the app state knows ([`Scrape`]).

mod fal;
mod spend;

use super::Reports;
use crate::cluster::Cluster;
use crate::promtext::{Kind, Writer};
use crate::upstream::resilient::Circuit;
use crate::upstream::DECODE_ERRORS;
use crate::workspace::Workspace;
use shared::alerts::{AlertRule, AlertState};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// What one scrape shows, chosen by the handler for its caller, and the facts only the app
/// state holds.
pub struct Scrape<'a> {
    /// The workspaces the caller may see: a viewer limited to `stage` reads nothing of `prod`
    /// (runners, queues, calls, alert names, spend).
    pub workspaces: Vec<Arc<Workspace>>,
    /// Whether the caller may see spend (billing data); without it the scrape has everything
    /// else.
    pub cost: bool,
    /// The alert rules of those workspaces, with their states.
    pub alerts: Vec<(AlertRule, AlertState)>,
    /// Open Server-Sent Events connections.
    pub sse_clients: i64,
    /// The cluster shared with other replicas (`--redis-url`); `None` alone.
    pub cluster: Option<&'a Cluster>,
}

impl Reports {
    /// One scrape, in Prometheus' text format.
    pub async fn metrics(&self, scrape: Scrape<'_>) -> String {
        let visible = &scrape.workspaces;
        let mut w = Writer::new();
        own(self, &scrape, &mut w);
        fal::live(visible, &mut w);
        alert_states(&scrape.alerts, &mut w);
        fal::failures(self, visible, &mut w).await;
        fal::model_slas(self, visible, &mut w).await;
        if scrape.cost {
            spend::fal_cost(self, visible, &mut w).await;
            spend::derived_cost(self, visible, &mut w).await;
            spend::credits(self, visible, &mut w).await;
        }
        w.finish()
    }
}

fn own(reports: &Reports, scrape: &Scrape<'_>, w: &mut Writer) {
    let visible = &scrape.workspaces;
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
    for (op, n) in DECODE_ERRORS.counts() {
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
    let stats = &reports.cache().stats;
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
    if let Some(redis) = scrape.cluster {
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
    .sample("falscope_cache_entries", &[], reports.cache().len() as f64);
    w.family(
        "falscope_cache_bytes",
        "Approximate bytes held by the cache",
        Kind::Gauge,
    )
    .sample(
        "falscope_cache_bytes",
        &[],
        reports.cache().weighted_size() as f64,
    );
    w.family(
        "falscope_sse_clients",
        "Open Server-Sent Events connections",
        Kind::Gauge,
    )
    .sample("falscope_sse_clients", &[], scrape.sse_clients as f64);
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
    w.family(
        "falscope_log_streams_owned",
        "Log filters whose fal stream this replica reads for every replica (--redis-url)",
        Kind::Gauge,
    );
    for ws in visible {
        w.sample(
            "falscope_log_streams_owned",
            &[("workspace", &ws.id)],
            ws.logs.owned_streams() as f64,
        );
    }
}

/// Every alert rule's state: 1 when firing (or pending), else 0.
fn alert_states(states: &[(AlertRule, AlertState)], w: &mut Writer) {
    for (family, help, wanted) in [
        (
            "falscope_alert_firing",
            "1 while the alert rule is firing, else 0",
            AlertState::Firing,
        ),
        (
            "falscope_alert_pending",
            "1 while the alert rule's condition holds but not yet for its hold time, else 0",
            AlertState::Pending,
        ),
    ] {
        w.family(family, help, Kind::Gauge);
        for (rule, s) in states {
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
