//! Live metrics: one poller per workspace reads fal's metrics through the cache every
//! [`POLL_INTERVAL`] (never faster: fal caches them for 10 s), pushes each new snapshot to every
//! open overview over SSE, and stores per-app samples for the history charts. A thousand open
//! overviews share the same single upstream call per interval.

use crate::api::live::snapshot;
use crate::state::AppState;
use crate::workspace::Workspace;
use bytes::Bytes;
use shared::live::LiveSample;
use std::sync::Arc;
use std::time::Duration;

/// How often the poller reads fal's metrics.
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);
/// How often old samples are pruned.
const PRUNE_EVERY: u32 = 360;

/// The latest snapshot of a workspace: typed (for `/metrics`) and as the JSON of a
/// `Fetched<LiveSnapshot>` (for SSE viewers), so neither side re-encodes it.
pub type LiveFeed = tokio::sync::watch::Sender<Option<Published>>;

/// One published snapshot.
#[derive(Debug, Clone)]
pub struct Published {
    /// The snapshot.
    pub snapshot: std::sync::Arc<shared::LiveSnapshot>,
    /// Its `Fetched` envelope as JSON.
    pub json: Bytes,
}

/// Runs the poller of `ws` until shutdown.
pub async fn poll(state: AppState, ws: Arc<Workspace>) {
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_as_of = None;
    let mut failing = false;
    for round in 0u32.. {
        tokio::select! {
            _ = tick.tick() => {}
            () = state.shutdown.cancelled() => return,
        }
        let cached = match snapshot(&state, &ws.id).await {
            Ok(c) => c,
            Err(err) => {
                if !failing {
                    tracing::warn!(workspace = %ws.id, error = %err, "live metrics unavailable");
                }
                failing = true;
                continue;
            }
        };
        failing = false;
        if last_as_of == Some(cached.entry.as_of) {
            continue;
        }
        last_as_of = Some(cached.entry.as_of);
        let json = crate::api::respond::fetched_json(&cached);
        ws.live.send_replace(Some(Published {
            snapshot: cached.value.clone(),
            json,
        }));
        let samples = samples(&cached.value);
        if let Some(store) = state.store.clone() {
            let id = ws.id.clone();
            let prune = round % PRUNE_EVERY == 0;
            let retention = state.retention;
            let now = state.now();
            let result = tokio::task::spawn_blocking(move || {
                store.insert(&id, &samples)?;
                if prune {
                    store.prune(now - retention)?;
                }
                Ok::<_, crate::store::StoreError>(())
            })
            .await;
            if let Ok(Err(err)) = result {
                tracing::warn!(workspace = %ws.id, error = %err, "could not store live samples");
            }
        }
    }
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
