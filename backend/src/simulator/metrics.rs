//! `GET /v1/serverless/metrics`: the six `fal_app_*` gauge families, computed from the world at
//! the start of the current 10-second window and cached for it, as fal does.

use super::world::{SimRequest, World, MAX_IN_FLIGHT_MS, MINUTE_MS};
use super::Sim;
use crate::promtext::{Kind, Writer};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::Arc;

/// fal caches metrics responses for 10 s.
pub const CACHE_MS: i64 = 10_000;
/// Latency bucket bounds, seconds (fal's are undocumented beyond `1.0` and `+Inf`).
const LATENCY_BOUNDS: [f64; 8] = [0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// Handler.
pub async fn get_metrics(State(sim): State<Arc<Sim>>) -> impl IntoResponse {
    let window = sim.now_ms().div_euclid(CACHE_MS) * CACHE_MS;
    let body = {
        let mut cache = sim.metrics_cache.lock().unwrap_or_else(|e| e.into_inner());
        match cache.as_ref() {
            Some((w, body)) if *w == window => body.clone(),
            _ => {
                let body = render(&sim, window);
                *cache = Some((window, body.clone()));
                body
            }
        }
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}

/// The live numbers of one app at one instant.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AppState {
    /// Runners processing.
    pub running: u32,
    /// Runners warm and idle.
    pub idle: u32,
    /// Runners cold-starting.
    pub pending: u32,
    /// Requests waiting.
    pub queue: u64,
    /// Requests executing.
    pub concurrent: u64,
    /// Received in the last minute.
    pub received: u64,
    /// Completed in the last minute, by status.
    pub completed: Vec<(u16, u64)>,
    /// Completed latencies (submission to end), seconds, in the last minute.
    pub latencies: Vec<f64>,
}

/// App `i`'s state at `t` (Unix ms). Requests still queued when the queue was flushed at
/// `flushed_at` were cancelled and no longer count as queued.
pub fn app_state(world: &World, i: usize, t: i64, flushed_at: Option<i64>) -> AppState {
    let app = &world.apps[i];
    let recent: Vec<SimRequest> = world.requests_between(i, t - MAX_IN_FLIGHT_MS, t + 1);
    let mut s = AppState::default();
    for r in &recent {
        let cold_from = r.started_at - (r.cold_boot.unwrap_or(0.0) * 1000.0) as i64;
        let cancelled = flushed_at.is_some_and(|f| r.sent_at <= f && f < r.started_at);
        if r.sent_at <= t && t < r.started_at && !cancelled {
            s.queue += 1;
            if r.cold_boot.is_some() && t >= cold_from {
                s.pending += 1;
            }
        }
        if r.runner_id.is_some() && r.started_at <= t && t < r.ended_at {
            s.concurrent += 1;
        }
        if r.sent_at > t - MINUTE_MS && r.sent_at <= t {
            s.received += 1;
        }
        if r.ended_at > t - MINUTE_MS && r.ended_at <= t {
            match s.completed.iter_mut().find(|(c, _)| *c == r.status_code) {
                Some((_, n)) => *n += 1,
                None => s.completed.push((r.status_code, 1)),
            }
            s.latencies.push((r.ended_at - r.sent_at) as f64 / 1000.0);
        }
    }
    s.completed.sort_unstable();
    s.running = u32::try_from(s.concurrent)
        .unwrap_or(u32::MAX)
        .min(app.max_concurrency);
    // fal scales runners to the load and keeps them for `keep_alive` after it falls: the warm
    // pool is the peak concurrency of that window (sampled every 10 s), at least min_concurrency.
    let window = (app.keep_alive * 1000.0) as i64;
    let peak = (0..=window / 10_000)
        .map(|k| t - k * 10_000)
        .map(|at| {
            recent
                .iter()
                .filter(|r| r.runner_id.is_some() && r.started_at <= at && at < r.ended_at)
                .count() as u32
        })
        .max()
        .unwrap_or(0);
    // A runner that served anything within keep-alive is still warm.
    let served_recently = recent
        .iter()
        .any(|r| r.runner_id.is_some() && r.ended_at <= t && t - r.ended_at < window);
    s.idle = app
        .min_concurrency
        .max(peak)
        .max(u32::from(served_recently))
        .min(app.max_concurrency)
        .saturating_sub(s.running);
    s
}

/// The exposition body at `t`.
pub fn render(sim: &Sim, t: i64) -> String {
    let world = &sim.world;
    let states: Vec<(String, &str, AppState)> = (0..world.apps.len())
        .map(|i| {
            let state = app_state(world, i, t, sim.flushed_at(i));
            (world.app_id(i), world.apps[i].machine.metrics_name, state)
        })
        .collect();
    let mut w = Writer::new();
    w.family("fal_app_runners", "Number of fal app runners", Kind::Gauge);
    for (app, machine, s) in &states {
        for (state, n) in [
            ("running", s.running),
            ("idle", s.idle),
            ("pending", s.pending),
        ] {
            w.sample(
                "fal_app_runners",
                &[
                    ("application", app),
                    ("machine_type", machine),
                    ("state", state),
                ],
                f64::from(n),
            );
        }
    }
    w.family(
        "fal_app_queue_size",
        "Current size of the fal app queue",
        Kind::Gauge,
    );
    for (app, _, s) in &states {
        w.sample(
            "fal_app_queue_size",
            &[("application", app)],
            s.queue as f64,
        );
    }
    w.family(
        "fal_app_concurrent_requests",
        "Current number of concurrent requests being processed",
        Kind::Gauge,
    );
    for (app, _, s) in &states {
        w.sample(
            "fal_app_concurrent_requests",
            &[("application", app)],
            s.concurrent as f64,
        );
    }
    w.family(
        "fal_app_requests_completed",
        "Number of requests completed in the last minute",
        Kind::Gauge,
    );
    for (app, _, s) in &states {
        for (status, n) in &s.completed {
            let status = status.to_string();
            w.sample(
                "fal_app_requests_completed",
                &[
                    ("application", app),
                    ("method", "POST"),
                    ("status", &status),
                ],
                *n as f64,
            );
        }
    }
    w.family(
        "fal_app_requests_received",
        "Number of requests received in the last minute",
        Kind::Gauge,
    );
    for (app, _, s) in &states {
        w.sample(
            "fal_app_requests_received",
            &[("application", app), ("method", "POST")],
            s.received as f64,
        );
    }
    w.family(
        "fal_app_request_latency",
        "Number of requests completed, bucketed by latency in seconds",
        Kind::Gauge,
    );
    for (app, _, s) in &states {
        for bound in LATENCY_BOUNDS {
            let n = s.latencies.iter().filter(|l| **l <= bound).count();
            let le = format!("{bound:.1}");
            w.sample(
                "fal_app_request_latency",
                &[("application", app), ("le", &le)],
                n as f64,
            );
        }
        w.sample(
            "fal_app_request_latency",
            &[("application", app), ("le", "+Inf")],
            s.latencies.len() as f64,
        );
    }
    w.finish()
}
