//! The read-through cache in front of fal (STYLE rule 7; anchors: pingora's read-through
//! memory cache, nginx `proxy_cache_lock`, moka).
//!
//! - **Single flight**: concurrent misses on one key share one upstream call (errors included),
//!   run as a task so a disconnecting viewer cannot cancel it for the others.
//! - **Stale-while-revalidate**: within one extra TTL after expiry the old value is served at
//!   once and refreshed in the background.
//! - **Stale-on-error**: when fal is out (429, 5xx, timeout, open breaker) the last good value
//!   is served, up to [`MAX_STALE`] old, marked STALE with its `as_of`.
//! - **Bounded memory**: moka evicts by the serialized size of each value.
//! - **Shared between replicas** (with `--redis-url`): a miss asks Redis before fal, and one
//!   replica per key fetches while the others wait for its answer there (see
//!   [`Cache::with_peers`]); when Redis is unreachable each replica fetches for itself.
//!
//! Freshness is judged with `tokio::time::Instant`, so tests drive it with paused time.

use crate::clock::Clock;
use crate::cluster::{Claim, Cluster};
use crate::upstream::UpstreamError;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::future::{BoxFuture, FutureExt, Shared};
use shared::CacheStatus;
use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Longest a value is kept to serve while fal is failing.
pub const MAX_STALE: Duration = Duration::from_secs(24 * 3600);

/// One cached value: typed for handlers that compute with it, and serialized once for the
/// hot path that only copies bytes out.
pub struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    /// The value as JSON.
    pub json: Bytes,
    /// The fresh answer's whole body, `{"data":…,"as_of":…,"stale":false}`, rendered once so a
    /// hit copies nothing.
    pub envelope: Bytes,
    fetched_at: Instant,
    /// When the value was fetched, wall clock (shown as "as of").
    pub as_of: DateTime<Utc>,
    ttl: Duration,
    /// Fetched by another replica (read from Redis): a hit for the cluster.
    from_peer: bool,
}

impl Entry {
    fn fresh(&self) -> bool {
        self.fetched_at.elapsed() < self.ttl
    }
}

/// A cache answer.
pub struct Cached<T> {
    /// The value.
    pub value: Arc<T>,
    /// Its entry (JSON, `as_of`).
    pub entry: Arc<Entry>,
    /// How it was obtained.
    pub status: CacheStatus,
}

impl<T> Cached<T> {
    /// The `Fetched` envelope's JSON, `{"data":…,"as_of":…,"stale":bool}` (pre-rendered
    /// unless stale).
    pub fn envelope(&self) -> Bytes {
        if self.status == CacheStatus::Stale {
            envelope(&self.entry.json, self.entry.as_of, true)
        } else {
            self.entry.envelope.clone()
        }
    }
}

type Flight = Shared<BoxFuture<'static, Result<Arc<Entry>, UpstreamError>>>;

/// Counters of cache outcomes, for `/metrics`.
#[derive(Debug, Default)]
pub struct CacheStats {
    /// Fresh hits (including stale-while-revalidate).
    pub hits: AtomicU64,
    /// Misses fetched from fal.
    pub misses: AtomicU64,
    /// Expired entries fetched again.
    pub revalidated: AtomicU64,
    /// Stale copies served because fal failed.
    pub stale: AtomicU64,
    /// Upstream fetches started (one per flight).
    pub fetches: AtomicU64,
    /// Flights answered from Redis, fetched by another replica.
    pub peer_hits: AtomicU64,
    /// Values this replica read from fal itself (flights not answered by another replica).
    pub upstream_reads: AtomicU64,
}

/// The cache.
pub struct Cache {
    entries: moka::sync::Cache<String, Arc<Entry>>,
    /// The last good entry of each view over a moving window, by family (see
    /// [`Cache::get_or_fetch_moving`]); the entries are shared with `entries`.
    latest: moka::sync::Cache<String, Arc<Entry>>,
    inflight: Mutex<HashMap<String, Flight>>,
    /// Entries fetched before this instant count as expired (see [`Cache::expire_all`]).
    expired_before: Mutex<Option<Instant>>,
    /// Outcome counters.
    pub stats: CacheStats,
    /// The cache shared with the other replicas, if any.
    peers: Option<Arc<Cluster>>,
    /// What "as of" times are read from.
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("entries", &self.entries.entry_count())
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache holding at most `max_bytes` of serialized values, stamping them with `clock`'s
    /// time.
    pub fn new(max_bytes: u64, clock: Arc<dyn Clock>) -> Arc<Self> {
        Self::with_peers(max_bytes, clock, None)
    }

    /// A cache whose misses go to the cluster before fal: what another replica fetched within
    /// its TTL is answered from there, and of the replicas missing one key, only the one that
    /// takes the key's lock calls fal — the others poll for its answer until the lock is gone
    /// (a dead holder's lock expires after [`PEER_LOCK`]). A cluster of one is not asked.
    pub fn with_peers(
        max_bytes: u64,
        clock: Arc<dyn Clock>,
        peers: Option<Arc<Cluster>>,
    ) -> Arc<Self> {
        let build = |max_bytes: u64| {
            moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|k: &String, e: &Arc<Entry>| {
                    u32::try_from(k.len() + e.json.len() + 128).unwrap_or(u32::MAX)
                })
                .time_to_live(MAX_STALE)
                .build()
        };
        Arc::new(Self {
            entries: build(max_bytes),
            // Mostly the same entries as `entries` (shared, not copied); bounded on its own
            // for those `entries` has evicted.
            latest: build(max_bytes / 4),
            inflight: Mutex::new(HashMap::new()),
            expired_before: Mutex::new(None),
            stats: CacheStats::default(),
            peers: peers.filter(|p| p.is_shared()),
            clock,
        })
    }

    /// Returns the value for `key`, fetching it with `fetch` when missing or expired.
    /// `ttl` decides freshness from the fetched value (e.g. shorter while billing is pending).
    pub async fn get_or_fetch<T, F, Fut>(
        self: &Arc<Self>,
        key: String,
        ttl: fn(&T) -> Duration,
        fetch: F,
    ) -> Result<Cached<T>, UpstreamError>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, UpstreamError>> + Send + 'static,
    {
        let old = self.entries.get(&key);
        let purged = |e: &Entry| {
            let cut = *self
                .expired_before
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            cut.is_some_and(|cut| e.fetched_at <= cut)
        };
        if let Some(e) = old.as_ref().filter(|e| !purged(e)) {
            let age = e.fetched_at.elapsed();
            if age < e.ttl {
                return self.answer(e.clone(), CacheStatus::Hit);
            }
            if age < e.ttl * 2 {
                // Stale-while-revalidate: answer now, refresh behind the viewer's back.
                // The flight runs as a task; its handle is not needed here.
                drop(self.flight(key, ttl, fetch));
                return self.answer(e.clone(), CacheStatus::Hit);
            }
        }
        match self.flight(key.clone(), ttl, fetch).await {
            Ok(e) => {
                let status = if e.from_peer {
                    CacheStatus::Hit
                } else if old.is_some() {
                    CacheStatus::Revalidated
                } else {
                    CacheStatus::Miss
                };
                self.answer(e, status)
            }
            // The last good copy: this replica's, or one another replica fetched (the flight
            // left it here when fal failed).
            Err(err) if err.is_outage() => match old.or_else(|| self.entries.get(&key)) {
                Some(e) => self.answer(e, CacheStatus::Stale),
                None => Err(err),
            },
            Err(err) => Err(err),
        }
    }

    /// [`Cache::get_or_fetch`] for a view over a moving window ("the last 7 days"), whose key
    /// moves with the clock: when fal fails on a key not fetched yet, the last good copy of
    /// the same view — `family`, the key with the window as the user wrote it — is answered,
    /// stale, with its own `as_of`, instead of nothing.
    /// `family` is `None` for a window that does not move (absolute ends): plain
    /// [`Cache::get_or_fetch`].
    pub async fn get_or_fetch_moving<T, F, Fut>(
        self: &Arc<Self>,
        key: String,
        family: Option<String>,
        ttl: fn(&T) -> Duration,
        fetch: F,
    ) -> Result<Cached<T>, UpstreamError>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, UpstreamError>> + Send + 'static,
    {
        let Some(family) = family else {
            return self.get_or_fetch(key, ttl, fetch).await;
        };
        match self.get_or_fetch(key, ttl, fetch).await {
            Ok(c) => {
                let known = self
                    .latest
                    .get(&family)
                    .is_some_and(|e| Arc::ptr_eq(&e, &c.entry));
                if c.status != CacheStatus::Stale && !known {
                    self.latest.insert(family, c.entry.clone());
                }
                Ok(c)
            }
            Err(err) if err.is_outage() => match self.latest.get(&family) {
                Some(e) => self.answer(e, CacheStatus::Stale),
                None => Err(err),
            },
            Err(err) => Err(err),
        }
    }

    /// Joins the in-flight fetch of `key`, or starts one.
    fn flight<T, F, Fut>(self: &Arc<Self>, key: String, ttl: fn(&T) -> Duration, fetch: F) -> Flight
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, UpstreamError>> + Send + 'static,
    {
        let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = inflight.get(&key) {
            return f.clone();
        }
        self.stats.fetches.fetch_add(1, Ordering::Relaxed);
        let this = Arc::clone(self);
        let k = key.clone();
        // A task, so the fetch completes (and fills the cache) even if every waiter goes away.
        let task = tokio::spawn(async move {
            let result = match this.peers.clone() {
                Some(peers) => this.through_peers(peers, &k, ttl, fetch).await,
                None => fetch_entry(fetch, ttl, &*this.clock).await,
            };
            if let Ok(e) = &result {
                if !e.from_peer {
                    this.stats.upstream_reads.fetch_add(1, Ordering::Relaxed);
                }
                this.entries.insert(k.clone(), e.clone());
            }
            // Removed after the insert: a newcomer either joins this flight or sees the entry.
            this.inflight
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&k);
            result
        });
        let flight = async move {
            task.await
                .unwrap_or_else(|_| Err(UpstreamError::Transport("the fetch task failed".into())))
        }
        .boxed()
        .shared();
        inflight.insert(key, flight.clone());
        flight
    }

    /// A flight's fetch with other replicas: Redis's copy when fresh, else fal's answer by
    /// whichever replica takes the key's lock first (written to Redis for the others).
    async fn through_peers<T, F, Fut>(
        &self,
        peers: Arc<Cluster>,
        key: &str,
        ttl: fn(&T) -> Duration,
        fetch: F,
    ) -> Result<Arc<Entry>, UpstreamError>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, UpstreamError>>,
    {
        // Values carry the version: another version's shapes are not read (a rolling upgrade
        // runs two).
        let id = format!("{}:{}", env!("CARGO_PKG_VERSION"), peer_id(key));
        let (value_key, lock_key) = (peers.key("cache", &id), peers.key("lock", &id));
        let token = peers.token();
        let give_up = Instant::now() + PEER_WAIT;
        // Redis's copy, however old: the stale answer when fal fails.
        let mut last = None;
        let result = loop {
            match peer_copy::<T>(&peers, &value_key).await {
                Some(e) if e.fresh() => {
                    self.stats.peer_hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(e);
                }
                Some(e) => last = Some(e),
                None => {}
            }
            let claim = peers
                .backend()
                .acquire(&lock_key, &token, PEER_LOCK, false)
                .await;
            match claim {
                Some(Claim::Held(_)) => {
                    // Looked again under the lock: the previous holder may have written its
                    // answer and let go between the look above and the lock.
                    if let Some(e) = peer_copy::<T>(&peers, &value_key)
                        .await
                        .filter(|e| e.fresh())
                    {
                        peers.backend().release(&lock_key, &token).await;
                        self.stats.peer_hits.fetch_add(1, Ordering::Relaxed);
                        return Ok(e);
                    }
                    // The lock is renewed while fal answers, however slowly (a lock that ran
                    // out would let a second replica call fal).
                    let fetching = fetch_entry(fetch, ttl, &*self.clock);
                    tokio::pin!(fetching);
                    let mut renew = tokio::time::interval(PEER_LOCK / 3);
                    renew.tick().await;
                    let result = loop {
                        tokio::select! {
                            r = &mut fetching => break r,
                            _ = renew.tick() => {
                                peers.backend().acquire(&lock_key, &token, PEER_LOCK, false).await;
                            }
                        }
                    };
                    if let Ok(e) = &result {
                        peers.backend().set(&value_key, &encode(e), PEER_KEEP).await;
                    }
                    peers.backend().release(&lock_key, &token).await;
                    break result;
                }
                // Another replica is fetching: its answer will be in Redis.
                Some(Claim::Taken) if Instant::now() < give_up => {
                    tokio::time::sleep(PEER_POLL).await;
                }
                // Redis is down, or the holder takes too long: fetch alone.
                _ => break fetch_entry(fetch, ttl, &*self.clock).await,
            }
        };
        if let (Err(err), Some(last)) = (&result, last) {
            if err.is_outage() && self.entries.get(key).is_none() {
                self.entries.insert(key.to_owned(), last);
            }
        }
        result
    }

    fn answer<T: Send + Sync + 'static>(
        &self,
        entry: Arc<Entry>,
        status: CacheStatus,
    ) -> Result<Cached<T>, UpstreamError> {
        let counter = match status {
            CacheStatus::Hit => &self.stats.hits,
            CacheStatus::Miss => &self.stats.misses,
            CacheStatus::Revalidated => &self.stats.revalidated,
            CacheStatus::Stale => &self.stats.stale,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let value = entry
            .value
            .clone()
            .downcast::<T>()
            .map_err(|_| UpstreamError::Decode("cache key reused with another type".into()))?;
        Ok(Cached {
            value,
            entry,
            status,
        })
    }

    /// Marks every entry expired (beyond stale-while-revalidate): the next read goes to fal,
    /// and the old values remain available as stale copies if fal fails.
    pub fn expire_all(&self) {
        *self
            .expired_before
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// Number of cached entries (approximate; for `/metrics`).
    pub fn len(&self) -> u64 {
        self.entries.entry_count()
    }

    /// Whether the cache is empty (approximate).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held (approximate; for `/metrics`).
    pub fn weighted_size(&self) -> u64 {
        self.entries.weighted_size()
    }
}

/// How long a fetching replica's lock lasts unless renewed (it is, every third of it, while fal
/// answers): a dead holder's lock expires within this.
pub const PEER_LOCK: Duration = Duration::from_secs(15);
/// How long a replica waits for another's fetch before fetching itself (longer than fal's
/// request timeout with its retries).
const PEER_WAIT: Duration = Duration::from_secs(60);
/// How long Redis keeps a value: well beyond the longest TTL (10 min), for stale-on-error answers
/// (each replica keeps its own copies longer, up to [`MAX_STALE`]); ages are read from Redis's
/// own clock, so replicas' clocks need not agree.
const PEER_KEEP: Duration = Duration::from_secs(2 * 3600);
/// How often a waiting replica looks for the other's answer.
const PEER_POLL: Duration = Duration::from_millis(20);

/// Fetches a value and makes it an entry.
async fn fetch_entry<T, F, Fut>(
    fetch: F,
    ttl: fn(&T) -> Duration,
    clock: &dyn Clock,
) -> Result<Arc<Entry>, UpstreamError>
where
    T: serde::Serialize + Send + Sync + 'static,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, UpstreamError>>,
{
    let value = fetch().await?;
    let json = serde_json::to_vec(&value)
        .map_err(|e| UpstreamError::Decode(format!("could not serialise: {e}")))?;
    let as_of = clock.now();
    Ok(Arc::new(Entry {
        ttl: ttl(&value),
        value: Arc::new(value),
        envelope: envelope(&json, as_of, false),
        json: Bytes::from(json),
        fetched_at: Instant::now(),
        as_of,
        from_peer: false,
    }))
}

/// An entry's name in Redis: the SHA-256 of its key (keys carry query bodies of any length).
fn peer_id(key: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What Redis holds of an entry besides its JSON.
#[derive(serde::Serialize, serde::Deserialize)]
struct PeerHeader {
    as_of: DateTime<Utc>,
    ttl_ms: u64,
}

/// An entry for Redis: its header on one line, then the value's JSON.
fn encode(e: &Entry) -> Vec<u8> {
    let header = PeerHeader {
        as_of: e.as_of,
        ttl_ms: u64::try_from(e.ttl.as_millis()).unwrap_or(u64::MAX),
    };
    let mut out = serde_json::to_vec(&header).unwrap_or_default();
    out.push(b'\n');
    out.extend_from_slice(&e.json);
    out
}

/// Redis's copy of a value, however old; `None` when there is none (or it does not decode).
async fn peer_copy<T>(peers: &Cluster, value_key: &str) -> Option<Arc<Entry>>
where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let (bytes, age) = peers.backend().get_aged(value_key, PEER_KEEP).await?;
    decode::<T>(&bytes, age)
}

/// An entry read from Redis, written `age` ago; `None` when it does not decode as `T`.
fn decode<T>(bytes: &[u8], age: Duration) -> Option<Arc<Entry>>
where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let cut = bytes.iter().position(|b| *b == b'\n')?;
    let header: PeerHeader = serde_json::from_slice(&bytes[..cut]).ok()?;
    let json = &bytes[cut + 1..];
    let value: T = serde_json::from_slice(json).ok()?;
    let now = Instant::now();
    Some(Arc::new(Entry {
        value: Arc::new(value),
        envelope: envelope(json, header.as_of, false),
        json: Bytes::copy_from_slice(json),
        fetched_at: now.checked_sub(age).unwrap_or(now),
        as_of: header.as_of,
        ttl: Duration::from_millis(header.ttl_ms),
        from_peer: true,
    }))
}

/// The `Fetched` envelope's JSON: `{"data":<json>,"as_of":"…","stale":bool}`.
pub fn envelope(json: &[u8], as_of: DateTime<Utc>, stale: bool) -> Bytes {
    use bytes::BufMut;
    let as_of = as_of.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut body = bytes::BytesMut::with_capacity(json.len() + 64);
    body.put_slice(b"{\"data\":");
    body.put_slice(json);
    body.put_slice(b",\"as_of\":\"");
    body.put_slice(as_of.as_bytes());
    body.put_slice(if stale {
        b"\",\"stale\":true}"
    } else {
        b"\",\"stale\":false}"
    });
    body.freeze()
}

/// A cache key: workspace, operation, parameters in a canonical order, and the body, encoded
/// as JSON so no value can forge another key (a separator inside a value is escaped, not read
/// as a boundary).
pub fn key(workspace: &str, op: &str, params: &[(&str, String)], body: Option<&str>) -> String {
    let mut sorted: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    sorted.sort_unstable();
    serde_json::to_string(&(workspace, op, sorted, body)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn ttl10(_: &u32) -> Duration {
        Duration::from_secs(10)
    }

    fn test_clock() -> Arc<dyn Clock> {
        Arc::new(crate::clock::ManualClock::new(1_700_000_000_000))
    }

    /// Three replicas' caches sharing one in-process backend, as they share Redis.
    fn replicas(backend: &Arc<crate::cluster::Memory>) -> Vec<Arc<Cache>> {
        (0..3)
            .map(|_| {
                let cluster = Cluster::shared(backend.clone(), "t".into());
                Cache::with_peers(1 << 20, test_clock(), Some(cluster))
            })
            .collect()
    }

    /// 300 concurrent misses of one key, spread over `caches`: how many reached fal.
    async fn misses_over(caches: &[Arc<Cache>]) -> usize {
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..300 {
            let (cache, calls) = (caches[i % caches.len()].clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch("k".into(), ttl10, move || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        Ok(7u32)
                    })
                    .await
                    .map(|c| *c.value)
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), 7);
        }
        calls.load(Ordering::SeqCst)
    }

    #[tokio::test(start_paused = true)]
    async fn replicas_sharing_a_backend_make_one_fetch_between_them() {
        let backend = Arc::new(crate::cluster::Memory::default());
        let caches = replicas(&backend);
        assert_eq!(
            misses_over(&caches).await,
            1,
            "single flight across replicas"
        );
        let fetched_here: u64 = caches
            .iter()
            .map(|c| c.stats.upstream_reads.load(Ordering::Relaxed))
            .sum();
        let from_peers: u64 = caches
            .iter()
            .map(|c| c.stats.peer_hits.load(Ordering::Relaxed))
            .sum();
        assert_eq!(
            (fetched_here, from_peers),
            (1, 2),
            "two replicas read the third's answer"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_replica_whose_lock_holder_died_fetches_after_the_lock_expires() {
        let backend = Arc::new(crate::cluster::Memory::default());
        let caches = replicas(&backend);
        // A replica took the key's lock and died (never wrote, never released).
        let dead = Cluster::shared(backend.clone(), "t".into());
        let id = format!("{}:{}", env!("CARGO_PKG_VERSION"), peer_id("k"));
        let claim = dead
            .backend()
            .acquire(&dead.key("lock", &id), "dead", PEER_LOCK, false)
            .await;
        assert_eq!(claim, Some(Claim::Held(1)));
        let started = Instant::now();
        assert_eq!(misses_over(&caches).await, 1, "one survivor fetches, once");
        let waited = started.elapsed();
        assert!(
            waited >= PEER_LOCK && waited < PEER_LOCK + Duration::from_secs(2),
            "waited {waited:?}: until the dead holder's lock ran out"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn replicas_fetch_alone_while_the_backend_is_unreachable() {
        let backend = Arc::new(crate::cluster::Memory::default());
        let caches = replicas(&backend);
        backend.set_up(false);
        // Each replica still shares one fetch among its own viewers.
        assert_eq!(misses_over(&caches).await, 3, "one fetch per replica");
        backend.set_up(true);
        for c in &caches {
            c.expire_all();
        }
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(
            misses_over(&caches).await,
            1,
            "shared again once it answers"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_misses_share_one_fetch() {
        let cache = Cache::new(1 << 20, test_clock());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..200 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_fetch("k".into(), ttl10, move || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(7u32)
                    })
                    .await
                    .map(|c| *c.value)
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), 7);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_moving_window_whose_new_key_fails_answers_its_last_good_copy_stale() {
        let cache = Cache::new(1 << 20, test_clock());
        let get = |key: &str, family: &str, result: Result<u32, UpstreamError>| {
            let (cache, key, family) = (cache.clone(), key.to_owned(), family.to_owned());
            async move {
                cache
                    .get_or_fetch_moving(key, Some(family), ttl10, move || async move { result })
                    .await
            }
        };
        assert_eq!(*get("10:00", "last 7d", Ok(1)).await.unwrap().value, 1);
        // An hour later the key moved and fal is down: the 10:00 copy, said to be stale.
        let stale = get("11:00", "last 7d", Err(UpstreamError::Timeout))
            .await
            .unwrap();
        assert_eq!((stale.status, *stale.value), (CacheStatus::Stale, 1));
        // Another view has no copy to fall back on; a refusal is never papered over.
        assert!(get("11:00", "last 30d", Err(UpstreamError::Timeout))
            .await
            .is_err());
        let refused = UpstreamError::Credentials { status: 401 };
        assert!(get("12:00", "last 7d", Err(refused)).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn ttl_swr_and_stale_on_error() {
        let cache = Cache::new(1 << 20, test_clock());
        let get = |result: Result<u32, UpstreamError>| {
            let cache = cache.clone();
            async move {
                cache
                    .get_or_fetch("k".into(), ttl10, move || async move { result })
                    .await
            }
        };
        assert_eq!(get(Ok(1)).await.unwrap().status, CacheStatus::Miss);
        tokio::time::advance(Duration::from_secs(5)).await;
        let hit = get(Ok(2)).await.unwrap();
        assert_eq!(
            (hit.status, *hit.value),
            (CacheStatus::Hit, 1),
            "fresh within TTL"
        );
        tokio::time::advance(Duration::from_secs(10)).await;
        let swr = get(Ok(3)).await.unwrap();
        assert_eq!(
            (swr.status, *swr.value),
            (CacheStatus::Hit, 1),
            "expired but within SWR: old value now"
        );
        tokio::task::yield_now().await;
        tokio::time::advance(Duration::from_millis(1)).await;
        let refreshed = get(Ok(4)).await.unwrap();
        assert_eq!(*refreshed.value, 3, "background refresh landed");
        tokio::time::advance(Duration::from_secs(25)).await;
        let stale = get(Err(UpstreamError::Timeout)).await.unwrap();
        assert_eq!((stale.status, *stale.value), (CacheStatus::Stale, 3));
        let not_outage = get(Err(UpstreamError::Credentials { status: 401 })).await;
        assert!(
            not_outage.is_err(),
            "credential errors are not papered over"
        );
        let again = get(Ok(5)).await.unwrap();
        assert_eq!((again.status, *again.value), (CacheStatus::Revalidated, 5));
    }

    #[test]
    fn keys_ignore_parameter_order() {
        // A value carrying a separator or an `=` cannot pass for other parameters.
        assert_ne!(
            key("w", "logs", &[("apps", "a\u{1f}level=error".into())], None),
            key(
                "w",
                "logs",
                &[("apps", "a".into()), ("level", "error".into())],
                None
            )
        );
        assert_ne!(
            key("w", "logs", &[("apps", "a".into())], Some("x")),
            key("w", "logs", &[("apps", "a\u{1f}x".into())], None)
        );
        let a = key("w", "op", &[("b", "2".into()), ("a", "1".into())], None);
        let b = key("w", "op", &[("a", "1".into()), ("b", "2".into())], None);
        assert_eq!(a, b);
        assert_ne!(
            a,
            key("w2", "op", &[("a", "1".into()), ("b", "2".into())], None)
        );
        assert_ne!(
            a,
            key(
                "w",
                "op",
                &[("a", "1".into()), ("b", "2".into())],
                Some("[]")
            )
        );
    }
}
