//! What the replicas of one falscope share through Redis (`--redis-url`): the second-level
//! cache and its single flight across replicas ([`crate::cache`]), [`Lease`]s for the jobs that
//! run once per cluster, and shared rate-limit windows.
//!
//! Redis is a help, never a dependency: when it cannot be reached every replica carries on
//! alone — its own cache, its own single flight, its own jobs — ("degraded": logged once,
//! `/readyz` says so, `falscope_redis_degraded_total` counts it) and rejoins by itself when
//! Redis answers again. Anchors: the Redlock single-instance pattern (`SET NX PX` with a
//! random value, released and renewed only by its holder), Grafana's HA alerting.

use redis::aio::MultiplexedConnection;
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Longest wait for Redis to answer one command; past it that command fails, and after
/// [`SLOW_ANSWERS`] in a row Redis counts as unreachable (one slow answer on a busy machine is
/// not an outage).
const ANSWER_WITHIN: Duration = Duration::from_secs(1);
/// Commands in a row that time out before Redis counts as unreachable.
const SLOW_ANSWERS: u64 = 3;
/// Longest wait for a connection.
const CONNECT_WITHIN: Duration = Duration::from_secs(1);
/// How often an unreachable Redis is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// How long a lease lasts unless renewed: a dead holder's job moves within this.
pub const LEASE_TTL: Duration = Duration::from_secs(6);
/// How often a lease is renewed (or, when another replica holds it, asked for again).
pub const LEASE_RENEW: Duration = Duration::from_secs(2);

/// Deletes a key only while it holds the caller's value (a lock or lease is released only by
/// its holder, never by one that took it over after an expiry).
const RELEASE: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
/// Takes a key for the caller, or extends it if the caller holds it already.
const ACQUIRE: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) elseif redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 else return 0 end";
/// Extends a key's expiry only while it holds the caller's value.
const RENEW: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
/// Counts a hit in a fixed window: the first hit of a window sets its expiry.
const HIT: &str = "local n = redis.call('incr', KEYS[1]) if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end return n";

/// A Redis shared by the replicas, and whether it is reachable now.
pub struct Redis {
    client: redis::Client,
    conn: Mutex<Option<MultiplexedConnection>>,
    up: AtomicBool,
    retrying: AtomicBool,
    /// Times Redis became unreachable (`falscope_redis_degraded_total`).
    pub went_down: AtomicU64,
    /// Commands in a row that timed out.
    timeouts: AtomicU64,
    /// Keys are `falscope:<namespace>:…`: replicas of one configuration share them, another
    /// falscope (other fal accounts) on the same Redis does not.
    namespace: String,
    /// This replica, in lock and lease values (who holds what).
    replica: String,
    /// The leases kept through this Redis, for `/metrics`.
    leases: Mutex<Vec<Weak<Lease>>>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("up", &self.is_up())
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// `--redis-url` is not a Redis URL.
#[derive(Debug, thiserror::Error)]
#[error("--redis-url (FALSCOPE_REDIS_URL) is not a Redis URL ({0}); use redis://[:password@]host:6379[/db] or redis+unix:///path (no TLS: keep Redis on a private network)")]
pub struct BadUrl(String);

impl Redis {
    /// Checks `url` without connecting.
    pub fn check_url(url: &SecretString) -> Result<(), BadUrl> {
        redis::Client::open(url.expose_secret())
            .map(drop)
            .map_err(|e| BadUrl(e.to_string()))
    }

    /// Connects to `url`; an unreachable Redis is not an error (falscope starts degraded and
    /// joins when Redis answers).
    pub async fn connect(url: &SecretString, namespace: String) -> Result<Arc<Self>, BadUrl> {
        let client = redis::Client::open(url.expose_secret()).map_err(|e| BadUrl(e.to_string()))?;
        let replica = uuid::Uuid::new_v4().simple().to_string();
        let this = Arc::new(Self {
            client,
            conn: Mutex::new(None),
            up: AtomicBool::new(true),
            retrying: AtomicBool::new(false),
            went_down: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            namespace,
            replica,
            leases: Mutex::default(),
        });
        match this.open().await {
            Ok(conn) => {
                *this.slot() = Some(conn);
                tracing::info!("Redis answers: the cache, single flight, jobs and rate limits are shared with the other replicas");
            }
            Err(e) => this.lost(&e),
        }
        Ok(this)
    }

    /// Whether Redis answered the last command.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// The leases kept through this Redis: `(job, held here)`.
    pub fn leases(&self) -> Vec<(String, bool)> {
        let mut leases = self.leases.lock().unwrap_or_else(|e| e.into_inner());
        leases.retain(|l| l.strong_count() > 0);
        leases
            .iter()
            .filter_map(Weak::upgrade)
            .map(|l| (l.name.clone(), l.held()))
            .collect()
    }

    /// A key in this falscope's namespace.
    pub fn key(&self, kind: &str, name: &str) -> String {
        format!("falscope:{}:{kind}:{name}", self.namespace)
    }

    /// A fresh value for a lock (unique per holding).
    pub fn token(&self) -> String {
        format!("{}:{}", self.replica, uuid::Uuid::new_v4().simple())
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn open(&self) -> redis::RedisResult<MultiplexedConnection> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(CONNECT_WITHIN)
            .set_response_timeout(ANSWER_WITHIN);
        let mut conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(conn)
    }

    /// Redis stopped answering: work alone, and try again every [`RETRY_EVERY`] until it
    /// answers.
    fn lost(self: &Arc<Self>, err: &redis::RedisError) {
        *self.slot() = None;
        if self.up.swap(false, Ordering::Relaxed) {
            self.went_down.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %err, "Redis is unreachable: this replica works alone (its own cache, single flight, log tails and rate limits; the jobs that run once for all replicas pause) until Redis answers again");
        }
        if self.retrying.swap(true, Ordering::Relaxed) {
            return;
        }
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RETRY_EVERY).await;
                let Some(this) = weak.upgrade() else { return };
                if let Ok(conn) = this.open().await {
                    *this.slot() = Some(conn);
                    this.up.store(true, Ordering::Relaxed);
                    this.retrying.store(false, Ordering::Relaxed);
                    tracing::info!(
                        "Redis answers again: this replica shares with the others again"
                    );
                    return;
                }
            }
        });
    }

    /// Runs one command; `None` when Redis is down or fails (down is noted).
    async fn run<T, F, Fut>(self: &Arc<Self>, command: F) -> Option<T>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.slot().clone()?;
        match command(conn).await {
            Ok(v) => {
                self.timeouts.store(0, Ordering::Relaxed);
                Some(v)
            }
            Err(e) if e.is_timeout() => {
                if self.timeouts.fetch_add(1, Ordering::Relaxed) + 1 >= SLOW_ANSWERS {
                    self.timeouts.store(0, Ordering::Relaxed);
                    self.lost(&e);
                }
                None
            }
            Err(e) if e.is_io_error() || e.is_connection_dropped() => {
                self.lost(&e);
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "Redis refused a command");
                None
            }
        }
    }

    /// Sets `key` to `value` for `ttl`.
    pub async fn set(self: &Arc<Self>, key: &str, value: &[u8], ttl: Duration) {
        let ms = millis(ttl);
        self.run(|mut c| async move {
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("PX")
                .arg(ms)
                .query_async::<()>(&mut c)
                .await
        })
        .await;
    }

    /// Takes `key` with `token` for `ttl` unless someone holds it: `Some(true)` when taken,
    /// `Some(false)` when held by another, `None` when Redis is down.
    pub async fn try_lock(self: &Arc<Self>, key: &str, token: &str, ttl: Duration) -> Option<bool> {
        let ms = millis(ttl);
        self.run(|mut c| async move {
            redis::cmd("SET")
                .arg(key)
                .arg(token)
                .arg("NX")
                .arg("PX")
                .arg(ms)
                .query_async::<Option<String>>(&mut c)
                .await
        })
        .await
        .map(|ok| ok.is_some())
    }

    /// Runs one of this module's Lua scripts on `key` with `token` and a duration in ms.
    async fn script(
        self: &Arc<Self>,
        src: &str,
        key: &str,
        token: &str,
        ttl: Duration,
    ) -> Option<i64> {
        let ms = millis(ttl);
        self.run(|mut c| async move {
            redis::Script::new(src)
                .key(key)
                .arg(token)
                .arg(ms)
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await
    }

    /// Releases `key` if `token` still holds it.
    pub async fn release(self: &Arc<Self>, key: &str, token: &str) {
        self.script(RELEASE, key, token, Duration::ZERO).await;
    }

    /// Extends `key` by `ttl` if `token` still holds it: `Some(false)` when it does not.
    pub async fn renew(self: &Arc<Self>, key: &str, token: &str, ttl: Duration) -> Option<bool> {
        self.script(RENEW, key, token, ttl).await.map(|n| n == 1)
    }

    /// Takes `key` for `token`, or extends it when `token` holds it: whether `token` holds it
    /// now (`None`: Redis is down).
    pub async fn acquire(self: &Arc<Self>, key: &str, token: &str, ttl: Duration) -> Option<bool> {
        self.script(ACQUIRE, key, token, ttl).await.map(|n| n == 1)
    }

    /// The value of `key` and how long ago it was written (by Redis's clock: `ttl` minus what is
    /// left of it), if any.
    pub async fn get_aged(
        self: &Arc<Self>,
        key: &str,
        ttl: Duration,
    ) -> Option<(Vec<u8>, Duration)> {
        let (value, left): (Option<Vec<u8>>, i64) = self
            .run(|mut c| async move {
                redis::pipe()
                    .cmd("GET")
                    .arg(key)
                    .cmd("PTTL")
                    .arg(key)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let left = Duration::from_millis(u64::try_from(left).ok()?);
        Some((value?, ttl.saturating_sub(left)))
    }

    /// Counts one hit in the window `key` of length `window`; the window's count so far.
    pub async fn hit(self: &Arc<Self>, key: &str, window: Duration) -> Option<u64> {
        let ms = millis(window);
        self.run(|mut c| async move {
            redis::Script::new(HIT)
                .key(key)
                .arg(ms)
                .invoke_async::<u64>(&mut c)
                .await
        })
        .await
    }
}

/// Entries of a stream, `(id, data)`, from an XREAD or XRANGE reply.
fn entries(v: redis::Value) -> Vec<(String, Vec<u8>)> {
    use redis::Value as V;
    let text = |v: &V| match v {
        V::BulkString(b) => Some(b.clone()),
        V::SimpleString(s) => Some(s.clone().into_bytes()),
        _ => None,
    };
    let mut out = Vec::new();
    if let V::Array(items) = v {
        for item in items {
            let V::Array(pair) = item else { continue };
            let (Some(id), Some(V::Array(fields))) = (pair.first().and_then(text), pair.get(1))
            else {
                continue;
            };
            // One field per entry: `d` and its data.
            if let Some(data) = fields.get(1).and_then(text) {
                out.push((String::from_utf8_lossy(&id).into_owned(), data));
            }
        }
    }
    out
}

/// Stream commands, for the live log tail shared by replicas ([`crate::logs_hub`]).
impl Redis {
    /// Appends `data` to the stream `key` (kept to about `keep` entries, gone after `ttl`
    /// without appends).
    pub async fn xadd(
        self: &Arc<Self>,
        key: &str,
        data: &[u8],
        keep: usize,
        ttl: Duration,
    ) -> bool {
        let ms = millis(ttl);
        self.run(|mut c| async move {
            redis::pipe()
                .cmd("XADD")
                .arg(key)
                .arg("MAXLEN")
                .arg("~")
                .arg(keep)
                .arg("*")
                .arg("d")
                .arg(data)
                .ignore()
                .cmd("PEXPIRE")
                .arg(key)
                .arg(ms)
                .ignore()
                .query_async::<()>(&mut c)
                .await
        })
        .await
        .is_some()
    }

    /// Up to `count` entries of the stream `key` after the id `after`, oldest first.
    pub async fn xread(
        self: &Arc<Self>,
        key: &str,
        after: &str,
        count: usize,
    ) -> Option<Vec<(String, Vec<u8>)>> {
        let v = self
            .run(|mut c| async move {
                redis::cmd("XREAD")
                    .arg("COUNT")
                    .arg(count)
                    .arg("STREAMS")
                    .arg(key)
                    .arg(after)
                    .query_async::<redis::Value>(&mut c)
                    .await
            })
            .await?;
        // [[key, entries]] or nil.
        Some(match v {
            redis::Value::Array(mut streams) if !streams.is_empty() => match streams.swap_remove(0)
            {
                redis::Value::Array(mut pair) if pair.len() == 2 => entries(pair.swap_remove(1)),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        })
    }

    /// The newest `count` entries of the stream `key`, newest first.
    pub async fn xlast(
        self: &Arc<Self>,
        key: &str,
        count: usize,
    ) -> Option<Vec<(String, Vec<u8>)>> {
        let v = self
            .run(|mut c| async move {
                redis::cmd("XREVRANGE")
                    .arg(key)
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(count)
                    .query_async::<redis::Value>(&mut c)
                    .await
            })
            .await?;
        Some(entries(v))
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A job that runs on one replica at a time (the alert evaluator, the cost history, sample
/// writing): held by whoever took it in Redis, renewed every [`LEASE_RENEW`], taken over within
/// [`LEASE_TTL`] when its holder dies. Without Redis (one replica alone) it is always held;
/// while Redis is unreachable nobody holds it once the last renewal would have run out.
#[derive(Debug)]
pub struct Lease {
    held: AtomicBool,
    /// Times this replica took the lease (`falscope_lease_acquired_total`).
    pub taken: AtomicU64,
    /// The job's name.
    pub name: String,
}

impl Lease {
    /// Whether this replica should run the job now.
    pub fn held(&self) -> bool {
        self.held.load(Ordering::Relaxed)
    }

    /// A lease always held (no Redis: this replica is the only one).
    pub fn local(name: &str) -> Arc<Self> {
        Arc::new(Self {
            held: AtomicBool::new(true),
            taken: AtomicU64::new(1),
            name: name.to_owned(),
        })
    }

    /// The lease `name`, kept by a task until `shutdown` (which releases it, so a replica that
    /// stops in order hands its jobs over at once).
    pub fn start(redis: Option<Arc<Redis>>, name: &str, shutdown: CancellationToken) -> Arc<Self> {
        let Some(redis) = redis else {
            return Self::local(name);
        };
        let lease = Arc::new(Self {
            held: AtomicBool::new(false),
            taken: AtomicU64::new(0),
            name: name.to_owned(),
        });
        redis
            .leases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(&lease));
        let key = redis.key("lease", name);
        let token = redis.token();
        let this = lease.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(LEASE_RENEW);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut mine = false;
            let mut renewed = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = shutdown.cancelled() => {
                        if mine {
                            redis.release(&key, &token).await;
                        }
                        this.held.store(false, Ordering::Relaxed);
                        return;
                    }
                }
                let now_mine = match redis.acquire(&key, &token, LEASE_TTL).await {
                    Some(held) => {
                        if held {
                            renewed = tokio::time::Instant::now();
                        }
                        held
                    }
                    // Redis does not answer: the lease may have moved on without this replica
                    // hearing of it. It keeps the job until its lease would have run out, then
                    // stops — two replicas never run it at once; with Redis away longer, nobody
                    // does until it is back (alert changes are then judged against what was
                    // recorded, so they are notified late, not lost).
                    None => mine && renewed.elapsed() < LEASE_TTL - LEASE_RENEW,
                };
                if now_mine && !mine {
                    this.taken.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(job = %this.name, "this replica runs the job");
                }
                mine = now_mine;
                this.held.store(mine, Ordering::Relaxed);
            }
        });
        lease
    }
}
