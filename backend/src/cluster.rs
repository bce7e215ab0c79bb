//! What the replicas of one falscope coordinate through, behind one seam: a [`Cluster`] is a
//! [`Backend`] of five primitives — key-value with a TTL, a lock with a fencing term, a
//! windowed counter and an append-only stream — plus this replica's identity and the
//! [`Lease`]s it keeps. The cache's single flight across replicas ([`crate::cache`]), the
//! shared live log tails ([`crate::logs_hub`]), the shared rate limit ([`crate::guard`]) and
//! the jobs that run once per cluster ([`Lease`]) all use these primitives and nothing else.
//!
//! Two backends: [`Redis`] (`--redis-url`, several replicas) and [`Memory`] (in-process: one
//! replica alone, and in unit tests several simulated replicas sharing one, under paused
//! time). A [`Cluster::alone`] tells its users that nobody else is there, so they take their
//! one-replica paths (no second-level cache, a local tail, leases held from the start).
//!
//! The shared backend is a help, never a dependency: when it cannot be reached every replica
//! carries on alone — its own cache, its own single flight, its own tails — ("degraded":
//! logged once, `/readyz` says so, `falscope_redis_degraded_total` counts it) and rejoins by
//! itself when it answers again. Jobs pause (nobody holds a lease) rather than run twice.
//! Anchors: the Redlock single-instance pattern (`SET NX PX` with a random value, released and
//! renewed only by its holder), fencing tokens (Kleppmann, "How to do distributed locking"),
//! Grafana's HA alerting.

mod memory;
mod redis_backend;

pub use memory::Memory;
pub use redis_backend::{BadUrl, Redis};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a lease lasts unless renewed: a dead holder's job moves within this.
pub const LEASE_TTL: Duration = Duration::from_secs(6);
/// How often a lease is renewed (or, when another replica holds it, asked for again).
pub const LEASE_RENEW: Duration = Duration::from_secs(2);

/// The answer to [`Backend::acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the key, in this term: a number that grows each time the key changes
    /// holder (a fencing token; `1` for keys taken without one).
    Held(u64),
    /// Another holder has it.
    Taken,
}

/// An entry of a stream: its id (ordered, opaque) and its data.
pub type StreamEntry = (String, Vec<u8>);

/// The primitives replicas coordinate with. Every call answers `None` when the backend cannot
/// be reached (the caller then works alone); the backend notes that itself ([`Backend::is_up`]).
#[async_trait::async_trait]
pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Whether the backend answered its last command.
    fn is_up(&self) -> bool;
    /// Times the backend became unreachable.
    fn went_down(&self) -> u64;

    /// Sets `key` to `value` for `ttl`.
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Option<()>;
    /// The value of `key` and how long ago it was written (by the backend's clock: `ttl`
    /// minus what is left of it), if any.
    async fn get_aged(&self, key: &str, ttl: Duration) -> Option<(Vec<u8>, Duration)>;

    /// Takes `key` for `holder` for `ttl`, or extends it when `holder` has it already. With
    /// `fenced`, each new holding gets the next term of the key ([`Claim::Held`]).
    async fn acquire(&self, key: &str, holder: &str, ttl: Duration, fenced: bool) -> Option<Claim>;
    /// Lets go of `key` if `holder` still has it (never one taken over after an expiry).
    async fn release(&self, key: &str, holder: &str) -> Option<()>;

    /// Counts one hit on `key`, whose window of length `window` starts at its first hit: the
    /// count so far and how long the window has left.
    async fn hit(&self, key: &str, window: Duration) -> Option<(u64, Duration)>;

    /// Appends `data` to the stream `key` (kept to about `keep` entries, gone after `ttl`
    /// without appends).
    async fn append(&self, key: &str, data: &[u8], keep: usize, ttl: Duration) -> Option<()>;
    /// Up to `count` entries of the stream `key` after the id `after` (`"0-0"`: from the
    /// start), oldest first.
    async fn read_after(&self, key: &str, after: &str, count: usize) -> Option<Vec<StreamEntry>>;
    /// The newest `count` entries of the stream `key`, newest first.
    async fn newest(&self, key: &str, count: usize) -> Option<Vec<StreamEntry>>;
}

/// This replica's view of the cluster: a [`Backend`], the namespace its keys live in, who this
/// replica is, and the leases it keeps.
pub struct Cluster {
    backend: Arc<dyn Backend>,
    /// Others may be there: false for one replica alone (an unshared [`Memory`]).
    shared: bool,
    /// Keys are `falscope:<namespace>:…`: replicas of one configuration share them, another
    /// falscope (other fal accounts) on the same Redis does not.
    namespace: String,
    /// This replica, in lock and lease values (who holds what).
    replica: String,
    /// The leases kept through this cluster, for `/metrics`.
    leases: Mutex<Vec<Weak<Lease>>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("backend", &self.backend)
            .field("shared", &self.shared)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// One replica alone: an in-process backend nobody else reads.
    pub fn alone() -> Arc<Self> {
        Self::build(Arc::new(Memory::default()), false, String::new())
    }

    /// A replica sharing `backend` with others (Redis, or a [`Memory`] several simulated
    /// replicas hold in a test), its keys in `namespace`.
    pub fn shared(backend: Arc<dyn Backend>, namespace: String) -> Arc<Self> {
        Self::build(backend, true, namespace)
    }

    fn build(backend: Arc<dyn Backend>, shared: bool, namespace: String) -> Arc<Self> {
        Arc::new(Self {
            backend,
            shared,
            namespace,
            replica: uuid::Uuid::new_v4().simple().to_string(),
            leases: Mutex::default(),
        })
    }

    /// Whether other replicas may be there (with `--redis-url`).
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// Whether the other replicas can be reached now (always, alone).
    pub fn is_up(&self) -> bool {
        self.backend.is_up()
    }

    /// The primitives.
    pub fn backend(&self) -> &dyn Backend {
        &*self.backend
    }

    /// Times the shared backend became unreachable.
    pub fn went_down(&self) -> u64 {
        self.backend.went_down()
    }

    /// A key in this falscope's namespace.
    pub fn key(&self, kind: &str, name: &str) -> String {
        format!("falscope:{}:{kind}:{name}", self.namespace)
    }

    /// A fresh holder value for a lock (unique per holding, naming this replica).
    pub fn token(&self) -> String {
        format!("{}:{}", self.replica, uuid::Uuid::new_v4().simple())
    }

    /// The leases kept through this cluster: `(job, held here)`.
    pub fn leases(&self) -> Vec<(String, bool)> {
        let mut leases = self.leases.lock().unwrap_or_else(|e| e.into_inner());
        leases.retain(|l| l.strong_count() > 0);
        leases
            .iter()
            .filter_map(Weak::upgrade)
            .map(|l| (l.name.clone(), l.held()))
            .collect()
    }
}

/// A job that runs on one replica at a time (the alert evaluator, the cost history, sample
/// writing): held by whoever took it, renewed every [`LEASE_RENEW`], taken over within
/// [`LEASE_TTL`] when its holder dies. Alone, it is held from the start. While the shared
/// backend is unreachable nobody holds it once the last renewal would have run out.
///
/// Each holding has a term (a fencing token) that only grows: work a holder claimed under
/// one term can be recognised by the next holder as left by a dead one (the alert outbox).
#[derive(Debug)]
pub struct Lease {
    /// The term held here, 0 when not held.
    term: AtomicU64,
    /// Whether the renewing task runs (see [`Lease::start`]).
    started: AtomicBool,
    /// Listed on `/metrics` (a job's); a live tail's is not, and its take-overs are logged at
    /// debug level (one per filter would crowd the log).
    listed: AtomicBool,
    /// The renewing task.
    task: Mutex<Option<tokio::task::AbortHandle>>,
    /// Times this replica took the lease (`falscope_lease_acquired_total`).
    pub taken: AtomicU64,
    /// The job's name.
    pub name: String,
    cluster: Arc<Cluster>,
}

impl Lease {
    /// The lease `name` in `cluster`, not yet asked for (see [`Lease::start`]); alone, it is
    /// held at once. It is listed on `/metrics`.
    pub fn new(cluster: &Arc<Cluster>, name: &str) -> Arc<Self> {
        let lease = Self::unlisted(cluster, name);
        lease.listed.store(true, Ordering::Relaxed);
        cluster
            .leases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(&lease));
        lease
    }

    /// [`Lease::new`] for a lease that comes and goes with its work (a live tail's), not
    /// listed on `/metrics`.
    pub fn unlisted(cluster: &Arc<Cluster>, name: &str) -> Arc<Self> {
        use crate::clock::Clock as _;
        let alone = !cluster.shared;
        // Alone, the term is when this process started (ms): a replica restarted after a crash
        // holds a higher term than the one it died in, as a new leader would.
        let term = if alone {
            u64::try_from(crate::clock::SystemClock.now_ms())
                .unwrap_or(1)
                .max(1)
        } else {
            0
        };
        Arc::new(Self {
            term: AtomicU64::new(term),
            started: AtomicBool::new(alone),
            listed: AtomicBool::new(false),
            taken: AtomicU64::new(u64::from(alone)),
            name: name.to_owned(),
            cluster: cluster.clone(),
            task: Mutex::default(),
        })
    }

    /// Whether this replica should run the job now.
    pub fn held(&self) -> bool {
        self.term() != 0
    }

    /// The term this replica holds the lease in, 0 when it does not hold it.
    pub fn term(&self) -> u64 {
        self.term.load(Ordering::Relaxed)
    }

    /// Keeps asking for the lease (and renewing it while held) in a task until `shutdown`,
    /// which releases it, so a replica that stops in order hands its jobs over at once. A
    /// replica that dies without stopping leaves it to expire. Starting twice does nothing.
    pub fn start(self: &Arc<Self>, shutdown: CancellationToken) {
        if self.started.swap(true, Ordering::Relaxed) {
            return;
        }
        let this = self.clone();
        let task = tokio::spawn(async move {
            let cluster = this.cluster.clone();
            let backend = cluster.backend.clone();
            let key = cluster.key("lease", &this.name);
            let token = cluster.token();
            let mut tick = tokio::time::interval(LEASE_RENEW);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut renewed = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = shutdown.cancelled() => {
                        if this.held() {
                            backend.release(&key, &token).await;
                        }
                        this.term.store(0, Ordering::Relaxed);
                        return;
                    }
                }
                let mine = this.term();
                let term = match backend.acquire(&key, &token, LEASE_TTL, true).await {
                    Some(Claim::Held(term)) => {
                        renewed = tokio::time::Instant::now();
                        term
                    }
                    Some(Claim::Taken) => 0,
                    // The backend does not answer: the lease may have moved on without this
                    // replica hearing of it. It keeps the job until its lease would have run
                    // out, then stops — two replicas never run it at once; with the backend
                    // away longer, nobody does until it is back (alert changes are then judged
                    // against what was recorded, so they are notified late, not lost).
                    None if renewed.elapsed() < LEASE_TTL - LEASE_RENEW => mine,
                    None => 0,
                };
                if term != 0 && term != mine {
                    this.taken.fetch_add(1, Ordering::Relaxed);
                    if this.listed.load(Ordering::Relaxed) {
                        tracing::info!(job = %this.name, term, "this replica runs the job");
                    } else {
                        tracing::debug!(job = %this.name, term, "this replica runs the job");
                    }
                }
                this.term.store(term, Ordering::Relaxed);
            }
        });
        *self.task.lock().unwrap_or_else(|e| e.into_inner()) = Some(task.abort_handle());
    }

    /// Stops renewing without letting go, as a replica that crashes does (tests).
    #[cfg(test)]
    fn crash(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|e| e.into_inner()).take() {
            task.abort();
        }
    }
}

/// How long a [`Slot`] lasts unless renewed (it is, every third of it, while held).
pub const SLOT_TTL: Duration = Duration::from_secs(30);

/// One of the places of a bounded resource (e.g. exports per caller) held across the
/// replicas until dropped; a replica that dies frees its places within [`SLOT_TTL`].
pub struct Slot {
    cluster: Arc<Cluster>,
    key: String,
    token: String,
    renew: tokio::task::AbortHandle,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Takes one of the `places` of `name` (any text: it is stored as a digest):
    /// `Some(None)` when all are held, `None` when the backend cannot be reached.
    pub async fn slot(self: &Arc<Self>, name: &str, places: u32) -> Option<Option<Slot>> {
        let id = crate::digest::of_parts([name], 12);
        let token = self.token();
        for i in 0..places {
            let key = self.key("slot", &format!("{id}:{i}"));
            if self.backend.acquire(&key, &token, SLOT_TTL, false).await? == Claim::Taken {
                continue;
            }
            let (backend, k, t) = (self.backend.clone(), key.clone(), token.clone());
            let renew = tokio::spawn(async move {
                let mut tick = tokio::time::interval(SLOT_TTL / 3);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    backend.acquire(&k, &t, SLOT_TTL, false).await;
                }
            });
            return Some(Some(Slot {
                cluster: self.clone(),
                key,
                token,
                renew: renew.abort_handle(),
            }));
        }
        Some(None)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.renew.abort();
        let (backend, key, token) = (
            self.cluster.backend.clone(),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.token),
        );
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { backend.release(&key, &token).await });
        }
    }
}

/// A duration in whole milliseconds, at least 1 (a TTL of 0 means "no expiry" to Redis).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests;
