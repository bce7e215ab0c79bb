//! Live log tail fan-out: browsers watching the same filter share **one** upstream fal stream.
//! Each viewer gets a bounded buffer; a viewer that falls behind is dropped (told `lagged`), the
//! stream is not. When fal's stream drops, the hub reconnects with backoff and resumes from the
//! last timestamp it saw, skipping lines it already sent at that instant, so viewers see no gap
//! and no duplicate. The upstream stream closes when the last viewer leaves.
//!
//! With `--redis-url` the replicas share each filter's stream: one replica owns it (a lease
//! per filter) and appends what fal sends to a Redis Stream, which every replica with viewers
//! of that filter reads. When the owner dies or its viewers leave, another replica with viewers
//! takes the lease and resumes fal's stream from the last line in Redis — no gap, no duplicate.
//! While Redis is unreachable a replica tails fal itself, from the last line its viewers got.

use crate::cluster::{Cluster, Lease};
use crate::upstream::convert::log_line;
use crate::upstream::models::LabelFilter;
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
    /// The cluster shared with other replicas, and this workspace's id there.
    peers: std::sync::OnceLock<(Arc<Cluster>, String)>,
    /// Filters whose fal stream this replica reads for every replica.
    owned: std::sync::atomic::AtomicUsize,
}

/// Entries kept per filter in Redis (lines a late replica or a new owner can still read).
const SHARED_KEEP: usize = 10_000;
/// A filter's Redis Stream is forgotten after this long without lines.
const SHARED_TTL: Duration = Duration::from_secs(3600);
/// How often a replica reads new lines from Redis.
const SHARED_POLL: Duration = Duration::from_millis(100);

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
        let task = match self.peers.get() {
            Some((cluster, ws)) => {
                use sha2::Digest;
                let id: String = sha2::Sha256::digest(format!("{ws}\u{1f}{key}").as_bytes())[..16]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                tokio::spawn(shared(
                    self.clone(),
                    fal,
                    query,
                    labels,
                    tx.clone(),
                    cluster.clone(),
                    id,
                ))
            }
            None => {
                let sink = local_sink(tx.clone());
                tokio::spawn(pump(
                    self.clone(),
                    fal,
                    query,
                    labels,
                    Resume::default(),
                    sink,
                ))
            }
        };
        let channel = Arc::new(Channel { tx, task });
        channels.insert(key, Arc::downgrade(&channel));
        Subscription {
            rx,
            keep: Keep(channel),
        }
    }

    /// Shares this workspace's streams with the other replicas of `cluster` (a cluster of
    /// one shares nothing).
    pub fn share_through(&self, cluster: Arc<Cluster>, workspace: &str) {
        if cluster.is_shared() {
            let _ = self.peers.set((cluster, workspace.to_owned()));
        }
    }

    /// Filters whose fal stream this replica reads for every replica now.
    pub fn owned_streams(&self) -> usize {
        self.owned.load(std::sync::atomic::Ordering::Relaxed)
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

/// A line's identity: two lines are one if their time, app, level and message are.
fn identity(l: &LogLine) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{:?}\u{1f}{}",
        l.ts.timestamp_micros(),
        l.app,
        l.level,
        l.message
    )
}

/// fal does not promise its stream in timestamp order (REFERENCE §5.2): several runners'
/// lines can arrive a few seconds out of order. A reconnect resumes this far before the newest
/// line sent, and lines within this window are told apart by their identity.
const OUT_OF_ORDER: chrono::TimeDelta = chrono::TimeDelta::seconds(10);
/// Identities remembered at most (a burst within the window).
const REMEMBERED: usize = 20_000;

/// What a tail has sent, to send each line once: the identities of the lines of the last
/// [`OUT_OF_ORDER`] (twice over), the newest timestamp, and after a reconnect the instant fal
/// was asked to replay from (older lines are the replay's, already sent or too old).
#[derive(Debug, Default, Clone)]
struct Resume {
    newest: Option<chrono::DateTime<chrono::Utc>>,
    seen: std::collections::BTreeSet<(chrono::DateTime<chrono::Utc>, String)>,
    ids: HashSet<String>,
    cut: Option<chrono::DateTime<chrono::Utc>>,
}

impl Resume {
    /// Whether `line` is new (and notes it as sent). A line older than the newest is new
    /// unless it was sent already: fal's stream is not in order.
    fn admit(&mut self, line: &LogLine) -> bool {
        if self.cut.is_some_and(|cut| line.ts < cut) {
            return false;
        }
        let id = identity(line);
        if !self.ids.insert(id.clone()) {
            return false;
        }
        self.seen.insert((line.ts, id));
        let newest = self.newest.map_or(line.ts, |n| n.max(line.ts));
        self.newest = Some(newest);
        let keep_from = newest - OUT_OF_ORDER * 2;
        while let Some(first) = self.seen.first().cloned() {
            if first.0 >= keep_from && self.seen.len() <= REMEMBERED {
                break;
            }
            self.seen.remove(&first);
            self.ids.remove(&first.1);
        }
        true
    }

    /// Where a reconnect asks fal to start: [`OUT_OF_ORDER`] before the newest line sent (a
    /// line still on its way when the stream dropped is read again, and one already sent is
    /// recognised); `None` before any line.
    fn restart_at(&mut self) -> Option<chrono::DateTime<chrono::Utc>> {
        let at = self.newest? - OUT_OF_ORDER;
        self.cut = Some(at);
        Some(at)
    }
}

/// A tail event as kept in Redis.
#[derive(serde::Serialize, serde::Deserialize)]
enum Wire {
    Line(LogLine),
    Status(StreamStatus),
}

fn encode(e: &TailEvent) -> Vec<u8> {
    let wire = match e {
        TailEvent::Line(l) => Wire::Line((**l).clone()),
        TailEvent::Status(s) => Wire::Status(s.clone()),
    };
    serde_json::to_vec(&wire).unwrap_or_default()
}

fn decode(data: &[u8]) -> Option<TailEvent> {
    Some(match serde_json::from_slice(data).ok()? {
        Wire::Line(l) => TailEvent::Line(Arc::new(l)),
        Wire::Status(s) => TailEvent::Status(s),
    })
}

type Sink = Box<dyn FnMut(TailEvent) -> futures::future::BoxFuture<'static, bool> + Send>;

/// Sends to this replica's viewers; false once none is left.
fn local_sink(tx: broadcast::Sender<TailEvent>) -> Sink {
    Box::new(move |e| {
        let open = tx.send(e).is_ok();
        Box::pin(std::future::ready(open))
    })
}

/// Reads fal's stream into `sink`, from `resume`, reconnecting and resuming until aborted or
/// the sink closes.
async fn pump(
    hub: Arc<LogHub>,
    fal: Arc<dyn FalApi>,
    query: LogsQuery,
    labels: Vec<LabelFilter>,
    mut resume: Resume,
    mut sink: Sink,
) {
    use futures::StreamExt;
    let mut backoff = BACKOFF_MIN;
    loop {
        let mut q = query.clone();
        // From the last line sent — unless that is older than the tail itself (a shared
        // stream's leftovers from an earlier session are not replayed).
        if let Some(t) = resume.restart_at() {
            q.start = Some(q.start.map_or(t, |s| s.max(t)));
        }
        hub.upstream_connects
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let reason = match fal.logs_stream(&q, &labels).await {
            Ok(mut stream) => {
                if !sink(TailEvent::Status(StreamStatus::Connected)).await {
                    return;
                }
                loop {
                    match stream.next().await {
                        Some(Ok(entry)) => {
                            backoff = BACKOFF_MIN;
                            // A line whose time does not parse is skipped (and counted).
                            let Some(line) = log_line(entry) else {
                                continue;
                            };
                            if !resume.admit(&line) {
                                continue;
                            }
                            if !sink(TailEvent::Line(Arc::new(line))).await {
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
        if !sink(TailEvent::Status(StreamStatus::Reconnecting { reason })).await {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// This replica reading fal's stream for every replica: stops reading when dropped (its
/// viewers left, it lost the lease, or it is shutting down).
struct Owner {
    task: tokio::task::JoinHandle<()>,
    hub: Arc<LogHub>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.task.abort();
        self.hub
            .owned
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Where the filter's shared stream ends: the last line's timestamp and the lines at it.
async fn resume_from(cluster: &Cluster, stream: &str) -> Resume {
    let mut resume = Resume::default();
    let newest = cluster
        .backend()
        .newest(stream, 256)
        .await
        .unwrap_or_default();
    let lines: Vec<LogLine> = newest
        .iter()
        .filter_map(|(_, data)| match decode(data)? {
            TailEvent::Line(l) => Some((*l).clone()),
            TailEvent::Status(_) => None,
        })
        .collect();
    // Oldest first, as they were sent.
    for line in lines.iter().rev() {
        resume.admit(line);
    }
    resume
}

/// A filter's tail shared with the other replicas (see the module's doc): the filter's
/// [`Lease`] says which replica reads fal into the shared stream; every replica reads the
/// shared stream to its own viewers.
async fn shared(
    hub: Arc<LogHub>,
    fal: Arc<dyn FalApi>,
    query: LogsQuery,
    labels: Vec<LabelFilter>,
    tx: broadcast::Sender<TailEvent>,
    cluster: Arc<Cluster>,
    id: String,
) {
    let stream = cluster.key("tail", &id);
    // What this replica's viewers got: where it resumes alone if the cluster goes away.
    let mut seen = Resume::default();
    let mut cursor = match cluster.backend().newest(&stream, 1).await {
        Some(last) => last
            .first()
            .map_or_else(|| "0-0".to_owned(), |(id, _)| id.clone()),
        None => {
            let sink = local_sink(tx);
            return pump(hub, fal, query, labels, seen, sink).await;
        }
    };
    // Held while this task runs: cancelling releases the lease when the viewers leave.
    let stop = tokio_util::sync::CancellationToken::new();
    let _release = stop.clone().drop_guard();
    let lease = Lease::unlisted(&cluster, &format!("tail:{id}"));
    lease.start(stop);
    let mut owner: Option<Owner> = None;
    while cluster.is_up() {
        // An owner whose reading stopped (the shared stream refused its lines) lets go, to
        // start afresh.
        if owner.as_ref().is_some_and(|o| o.task.is_finished()) || !lease.held() {
            owner = None;
        }
        if lease.held() && owner.is_none() {
            // This replica reads fal for everyone, from where the shared stream ends.
            let from = resume_from(&cluster, &stream).await;
            let (c, key) = (cluster.clone(), stream.clone());
            let sink: Sink = Box::new(move |e| {
                let (c, key) = (c.clone(), key.clone());
                Box::pin(async move {
                    c.backend()
                        .append(&key, &encode(&e), SHARED_KEEP, SHARED_TTL)
                        .await
                        .is_some()
                })
            });
            hub.owned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            owner = Some(Owner {
                task: tokio::spawn(pump(
                    hub.clone(),
                    fal.clone(),
                    query.clone(),
                    labels.clone(),
                    from,
                    sink,
                )),
                hub: hub.clone(),
            });
        }
        let Some(entries) = cluster.backend().read_after(&stream, &cursor, 512).await else {
            break;
        };
        let idle = entries.is_empty();
        for (id, data) in entries {
            cursor = id;
            let Some(event) = decode(&data) else { continue };
            if let TailEvent::Line(l) = &event {
                seen.admit(l);
            }
            if tx.send(event).is_err() {
                return; // the last viewer left (dropping `owner` and the lease hands over)
            }
        }
        if idle {
            tokio::time::sleep(SHARED_POLL).await;
        }
    }
    // The cluster is unreachable: tail fal alone, from the last line these viewers got.
    drop(owner);
    let sink = local_sink(tx);
    pump(hub, fal, query, labels, seen, sink).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: i64, message: &str) -> LogLine {
        LogLine {
            ts: chrono::DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap(),
            level: shared::logs::LogLevel::Info,
            message: message.into(),
            app: "acme/a".into(),
            revision: "r1".into(),
            request_id: None,
            labels: Default::default(),
        }
    }

    #[test]
    fn lines_out_of_order_are_kept_and_each_is_sent_once() {
        let mut r = Resume::default();
        assert!(r.admit(&line(5, "from runner 1")));
        assert!(
            r.admit(&line(3, "from runner 2, late")),
            "out of order, not old"
        );
        assert!(!r.admit(&line(5, "from runner 1")), "sent already");
        assert!(r.admit(&line(5, "another at the same instant")));
        // After a reconnect fal replays from a little before the newest line: what was sent
        // is recognised, what came in between is new, what is older than the replay is not.
        let at = r.restart_at().unwrap();
        assert_eq!(at, line(5, "").ts - OUT_OF_ORDER);
        assert!(!r.admit(&line(3, "from runner 2, late")));
        assert!(r.admit(&line(4, "missed while reconnecting")));
        assert!(!r.admit(&line(-10, "older than the replay")));
    }

    #[test]
    fn identities_are_forgotten_beyond_the_window() {
        let mut r = Resume::default();
        r.admit(&line(0, "a"));
        r.admit(&line(1000, "b"));
        assert_eq!(r.ids.len(), 1, "only the window is remembered");
    }
}
