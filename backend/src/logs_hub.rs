//! Live log tail fan-out: browsers watching the same filter share **one** upstream fal stream.
//! Each viewer gets a bounded buffer; a viewer that falls behind is dropped (told `lagged`), the
//! stream is not. When fal's stream drops, the hub reconnects with backoff and resumes from the
//! last timestamp it saw, skipping lines it already sent at that instant, so viewers see no gap
//! and no duplicate. The upstream stream closes when the last viewer leaves.

use crate::upstream::convert::log_line;
use crate::upstream::models::{LabelFilter, LogEntry};
use crate::upstream::query::LogsQuery;
use crate::upstream::FalApi;
use shared::events::StreamStatus;
use shared::logs::LogLine;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::broadcast;

/// Lines buffered per viewer before it counts as lagging.
pub const VIEWER_BUFFER: usize = 1024;
/// Reconnect backoff bounds.
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// What a viewer receives.
#[derive(Debug, Clone)]
pub enum TailEvent {
    /// A log line.
    Line(Arc<LogLine>),
    /// The upstream connection changed state.
    Status(StreamStatus),
}

/// One shared upstream stream and its viewers.
struct Channel {
    tx: broadcast::Sender<TailEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Channel {
    fn drop(&mut self) {
        // The last viewer left: close fal's stream.
        self.task.abort();
    }
}

/// A viewer's subscription; dropping it may close the upstream stream.
pub struct Subscription {
    /// Events for this viewer.
    pub rx: broadcast::Receiver<TailEvent>,
    /// Keeps the shared stream open while held.
    pub keep: Keep,
}

/// Holds a shared stream open.
pub struct Keep(#[allow(dead_code, reason = "held only for its Drop")] Arc<Channel>);

/// All shared streams of one workspace.
#[derive(Default)]
pub struct LogHub {
    channels: Mutex<HashMap<String, Weak<Channel>>>,
    upstream_connects: std::sync::atomic::AtomicU64,
}

impl LogHub {
    /// Subscribes to the stream for `key` (the normalised filter), starting it if needed.
    pub fn subscribe(
        self: &Arc<Self>,
        fal: Arc<dyn FalApi>,
        key: String,
        query: LogsQuery,
        labels: Vec<LabelFilter>,
    ) -> Subscription {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels.retain(|_, c| c.strong_count() > 0);
        if let Some(channel) = channels.get(&key).and_then(Weak::upgrade) {
            return Subscription {
                rx: channel.tx.subscribe(),
                keep: Keep(channel),
            };
        }
        let (tx, rx) = broadcast::channel(VIEWER_BUFFER);
        let task = tokio::spawn(pump(self.clone(), fal, query, labels, tx.clone()));
        let channel = Arc::new(Channel { tx, task });
        channels.insert(key, Arc::downgrade(&channel));
        Subscription {
            rx,
            keep: Keep(channel),
        }
    }

    /// Shared upstream streams open now.
    pub fn open_streams(&self) -> usize {
        let channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        channels.values().filter(|c| c.strong_count() > 0).count()
    }

    /// Upstream stream connections made so far (reconnects included).
    pub fn upstream_connects(&self) -> u64 {
        self.upstream_connects
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A line's identity, to skip lines already sent at the resume instant.
fn identity(e: &LogEntry) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}",
        e.timestamp, e.app, e.level, e.message
    )
}

/// Reads fal's stream into the channel, reconnecting and resuming until aborted.
async fn pump(
    hub: Arc<LogHub>,
    fal: Arc<dyn FalApi>,
    query: LogsQuery,
    labels: Vec<LabelFilter>,
    tx: broadcast::Sender<TailEvent>,
) {
    use futures::StreamExt;
    // The newest timestamp sent, and the identities of lines sent at exactly that instant.
    let mut last: Option<(chrono::DateTime<chrono::Utc>, HashSet<String>)> = None;
    let mut backoff = BACKOFF_MIN;
    loop {
        let mut q = query.clone();
        if let Some((t, _)) = &last {
            q.start = Some(*t);
        }
        hub.upstream_connects
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let reason = match fal.logs_stream(&q, &labels).await {
            Ok(mut stream) => {
                let _ = tx.send(TailEvent::Status(StreamStatus::Connected));
                loop {
                    match stream.next().await {
                        Some(Ok(entry)) => {
                            backoff = BACKOFF_MIN;
                            // A line whose time does not parse is skipped (and counted).
                            let Some(line) = log_line(entry.clone()) else {
                                continue;
                            };
                            let id = identity(&entry);
                            match &mut last {
                                Some((t, _)) if line.ts < *t => continue,
                                Some((t, seen)) if line.ts == *t => {
                                    if !seen.insert(id) {
                                        continue;
                                    }
                                }
                                _ => last = Some((line.ts, HashSet::from([id]))),
                            }
                            if tx.send(TailEvent::Line(Arc::new(line))).is_err() {
                                return; // nobody listens any more
                            }
                        }
                        Some(Err(e)) => break e.to_string(),
                        None => break "the stream ended".to_owned(),
                    }
                }
            }
            Err(e) => e.to_string(),
        };
        tracing::info!(%reason, retry_in_ms = backoff.as_millis() as u64, "log stream dropped; resuming");
        if tx
            .send(TailEvent::Status(StreamStatus::Reconnecting { reason }))
            .is_err()
        {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}
