//! The [`Backend`] of several replicas: Redis ≥ 6 or Valkey (`--redis-url`). Locks and leases
//! are Lua scripts so that only their holder renews or releases them; a key's fencing term
//! is a counter beside it, bumped when the key changes holder.

use super::{millis, Backend, Claim, StreamEntry};
use redis::aio::MultiplexedConnection;
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

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

/// Deletes a key only while it holds the caller's value (a lock or lease is released only by
/// its holder, never by one that took it over after an expiry).
const RELEASE: &str =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
/// Takes KEYS[1] for ARGV[1] for ARGV[2] ms, or extends it if ARGV[1] holds it already; 0 when
/// another holds it, else the holding's term: KEYS[2] counts holdings when ARGV[3] is "1"
/// (otherwise the term is 1).
const ACQUIRE: &str = r"
local v = redis.call('get', KEYS[1])
if v == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2])
  if ARGV[3] == '1' then return tonumber(redis.call('get', KEYS[2]) or '1') end
  return 1
elseif v then
  return 0
end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
if ARGV[3] == '1' then return redis.call('incr', KEYS[2]) end
return 1
";
/// Counts a hit in a window that starts at its first hit: `{count, ms left}`.
const HIT: &str = r"
local n = redis.call('incr', KEYS[1])
if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end
local left = redis.call('pttl', KEYS[1])
if left < 0 then redis.call('pexpire', KEYS[1], ARGV[1]) left = tonumber(ARGV[1]) end
return {n, left}
";

/// A Redis shared by the replicas, and whether it is reachable now.
pub struct Redis {
    client: redis::Client,
    conn: Mutex<Option<MultiplexedConnection>>,
    up: AtomicBool,
    retrying: AtomicBool,
    /// Times Redis became unreachable (`falscope_redis_degraded_total`).
    went_down: AtomicU64,
    /// Commands in a row that timed out.
    timeouts: AtomicU64,
    /// Itself, for the reconnecting task.
    this: Weak<Redis>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("up", &self.is_up())
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
    pub async fn connect(url: &SecretString) -> Result<Arc<Self>, BadUrl> {
        let client = redis::Client::open(url.expose_secret()).map_err(|e| BadUrl(e.to_string()))?;
        let this = Arc::new_cyclic(|this| Self {
            client,
            conn: Mutex::new(None),
            up: AtomicBool::new(true),
            retrying: AtomicBool::new(false),
            went_down: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            this: this.clone(),
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
    fn lost(&self, err: &redis::RedisError) {
        *self.slot() = None;
        if self.up.swap(false, Ordering::Relaxed) {
            self.went_down.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %err, "Redis is unreachable: this replica works alone (its own cache, single flight, log tails and rate limits; the jobs that run once for all replicas pause) until Redis answers again");
        }
        if self.retrying.swap(true, Ordering::Relaxed) {
            return;
        }
        let weak = self.this.clone();
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
    async fn run<T, F, Fut>(&self, command: F) -> Option<T>
    where
        F: FnOnce(MultiplexedConnection) -> Fut + Send,
        Fut: std::future::Future<Output = redis::RedisResult<T>> + Send,
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
}

#[async_trait::async_trait]
impl Backend for Redis {
    fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    fn went_down(&self) -> u64 {
        self.went_down.load(Ordering::Relaxed)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Option<()> {
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
        .await
    }

    async fn get_aged(&self, key: &str, ttl: Duration) -> Option<(Vec<u8>, Duration)> {
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

    async fn acquire(&self, key: &str, holder: &str, ttl: Duration, fenced: bool) -> Option<Claim> {
        let ms = millis(ttl);
        let term_key = format!("{key}:term");
        let term: u64 = self
            .run(|mut c| async move {
                redis::Script::new(ACQUIRE)
                    .key(key)
                    .key(&term_key)
                    .arg(holder)
                    .arg(ms)
                    .arg(if fenced { "1" } else { "0" })
                    .invoke_async::<u64>(&mut c)
                    .await
            })
            .await?;
        Some(if term == 0 {
            Claim::Taken
        } else {
            Claim::Held(term)
        })
    }

    async fn release(&self, key: &str, holder: &str) -> Option<()> {
        self.run(|mut c| async move {
            redis::Script::new(RELEASE)
                .key(key)
                .arg(holder)
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await
        .map(drop)
    }

    async fn hit(&self, key: &str, window: Duration) -> Option<(u64, Duration)> {
        let ms = millis(window);
        let (n, left): (u64, u64) = self
            .run(|mut c| async move {
                redis::Script::new(HIT)
                    .key(key)
                    .arg(ms)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Some((n, Duration::from_millis(left)))
    }

    async fn append(&self, key: &str, data: &[u8], keep: usize, ttl: Duration) -> Option<()> {
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
    }

    async fn read_after(&self, key: &str, after: &str, count: usize) -> Option<Vec<StreamEntry>> {
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

    async fn newest(&self, key: &str, count: usize) -> Option<Vec<StreamEntry>> {
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

/// Entries of a stream, `(id, data)`, from an XREAD or XRANGE reply.
fn entries(v: redis::Value) -> Vec<StreamEntry> {
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
