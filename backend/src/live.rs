//! Live metrics: one poller per workspace reads fal's metrics through the cache, pushes each new
//! snapshot to every open overview over SSE, and stores per-app samples for the history charts.
//! It looks every [`POLL_TICK`]; the cache's TTL ([`crate::reports::live::METRICS_TTL`], fal's
//! own 10 s) decides when fal is read, so a thousand open overviews — and, through Redis, every
//! replica's poller — share one upstream call per interval, and when the replica that read it
//! dies another one reads within a tick of the TTL.

use crate::reports::Reports;
use crate::workspace::{Published, Workspace};
use bytes::Bytes;
use shared::live::LiveSample;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the poller reads fal's metrics at most (the cache's TTL), and how long it waits
/// after fal failed.
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);
/// How often the poller looks at the cache.
pub const POLL_TICK: Duration = Duration::from_millis(2500);
/// How often old samples are pruned (in ticks: hourly).
const PRUNE_EVERY: u32 = 1440;

/// What the poller writes to besides the workspace's feed.
#[derive(Clone)]
pub struct Samples {
    /// Where samples are kept, when the data directory is usable.
    pub store: Option<Arc<crate::store::Store>>,
    /// How long they are kept.
    pub retention: chrono::Duration,
    /// Held by the one replica that writes them (when replicas share a database).
    pub lease: Arc<crate::cluster::Lease>,
}

/// Runs the poller of `ws` until `shutdown`.
pub async fn poll(
    reports: Reports,
    samples_to: Samples,
    shutdown: CancellationToken,
    ws: Arc<Workspace>,
) {
    let mut tick = tokio::time::interval(POLL_TICK);
    // After a failure (or a stale answer) fal is asked again only after a whole interval.
    let mut rest_until = tokio::time::Instant::now();
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_as_of = None;
    let mut failing = false;
    let mut last_stale = false;
    for round in 0u32.. {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        if tokio::time::Instant::now() < rest_until {
            continue;
        }
        let cached = match reports.live(&ws.id).await {
            Ok(c) => c,
            Err(err) => {
                if !failing {
                    tracing::warn!(workspace = %ws.id, error = %err, "live metrics unavailable");
                }
                failing = true;
                rest_until = tokio::time::Instant::now() + POLL_INTERVAL;
                // Viewers keep what they have, marked stale; with nothing to show, they are
                // told why (fal rejected the key, fal never answered).
                if !mark_stale(&ws) {
                    let body = Bytes::from(serde_json::to_vec(&err.body()).unwrap_or_default());
                    ws.live_failure.send_if_modified(|f| {
                        let changed = f.as_ref() != Some(&body);
                        *f = Some(body);
                        changed
                    });
                }
                last_stale = true;
                continue;
            }
        };
        failing = false;
        ws.live_failure.send_if_modified(|f| f.take().is_some());
        let stale = cached.status == shared::CacheStatus::Stale;
        if stale {
            rest_until = tokio::time::Instant::now() + POLL_INTERVAL;
        }
        let seen = last_as_of == Some(cached.entry.as_of);
        // A copy already published is published again only when it turns stale (or fresh
        // again): viewers must learn that fal stopped answering.
        if seen && last_stale == stale {
            continue;
        }
        last_stale = stale;
        ws.live.send_replace(Some(Published {
            snapshot: cached.value.clone(),
            json: cached.envelope(),
            as_of: cached.entry.as_of,
            stale,
        }));
        if seen {
            continue;
        }
        last_as_of = Some(cached.entry.as_of);
        let samples = samples(&cached.value);
        if let Some(store) = samples_to.store.clone().filter(|_| samples_to.lease.held()) {
            let prune = round % PRUNE_EVERY == 0;
            let mut result = store.insert_samples(&ws.id, &samples).await;
            if prune && result.is_ok() {
                result = store
                    .prune_samples(reports.now() - samples_to.retention)
                    .await
                    .map(drop);
            }
            if let Err(err) = result {
                tracing::warn!(workspace = %ws.id, error = %err, "could not store live samples");
            }
        }
    }
}

/// Marks the published snapshot stale (fal failed and nothing newer came); `false` when there
/// is none to mark.
fn mark_stale(ws: &Workspace) -> bool {
    let mut had = false;
    ws.live.send_if_modified(|published| {
        let Some(p) = published.as_mut() else {
            return false;
        };
        had = true;
        if p.stale {
            return false;
        }
        let fetched = shared::Fetched {
            data: &*p.snapshot,
            as_of: p.as_of,
            stale: true,
        };
        match serde_json::to_vec(&fetched) {
            Ok(json) => {
                p.json = json.into();
                p.stale = true;
                true
            }
            Err(_) => false,
        }
    });
    had
}

/// One sample per app of a snapshot.
pub fn samples(s: &shared::LiveSnapshot) -> Vec<LiveSample> {
    use shared::RunnerState as R;
    s.apps
        .iter()
        .map(|a| LiveSample {
            t: s.as_of,
            application: a.application.clone(),
            running: a.runners_in(R::Running),
            idle: a.runners_in(R::Idle),
            pending: a.runners_in(R::Pending),
            queue_size: a.queue_size,
            concurrent_requests: a.concurrent_requests,
            received_per_min: a.received_per_min,
        })
        .collect()
}
