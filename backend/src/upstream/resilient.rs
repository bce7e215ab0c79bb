//! Resilience around the fal client: capped exponential backoff with jitter for idempotent
//! reads (honouring `Retry-After`), a retry budget so retries cannot multiply an outage, a
//! circuit breaker per operation (open → fail fast so the cache serves stale data; half-open
//! → one probe), and bounded concurrency per workspace.

use super::models::{
    Aggregates, AnalyticsRecord, AppList, Billing, FileEntry, LabelFilter, LogEntry, Page,
    RequestItem, UsageRow,
};
use super::prometheus::MetricsScrape;
use super::query::{AnalyticsKind, AnalyticsQuery, LogsQuery, RequestsQuery, UsageQuery};
use super::{ByteStream, Download, FalApi, UpstreamError};
use async_trait::async_trait;
use futures::stream::BoxStream;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Tunables.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Attempts per idempotent call, first included.
    pub max_attempts: u32,
    /// First backoff.
    pub base_backoff: Duration,
    /// Backoff cap.
    pub max_backoff: Duration,
    /// A `Retry-After` longer than this is not waited for; the error goes up (stale data).
    pub max_retry_after: Duration,
    /// Consecutive outage failures that open the breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker fails fast before a probe.
    pub breaker_cooldown: Duration,
    /// Concurrent calls to fal per workspace.
    pub max_concurrency: usize,
    /// Retry tokens earned per call (0.1 = retries ≤ 10% of calls, plus the burst).
    pub budget_ratio: f64,
    /// Retry tokens available at once.
    pub budget_burst: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(5),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            max_concurrency: 16,
            budget_ratio: 0.1,
            budget_burst: 10.0,
        }
    }
}

/// Circuit state of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Circuit {
    /// Calls flow.
    Closed,
    /// Failing fast until the cooldown ends.
    Open,
    /// One probe call is allowed.
    HalfOpen,
}

#[derive(Debug)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
    probing: bool,
}

/// Upstream call counters by operation and outcome, for `/metrics`.
pub type CallCounts = HashMap<(&'static str, &'static str), u64>;

/// The resilient wrapper; implements [`FalApi`] over an inner client.
pub struct Resilient {
    inner: Arc<dyn FalApi>,
    policy: Policy,
    permits: Semaphore,
    breakers: Mutex<HashMap<&'static str, Breaker>>,
    budget: Mutex<f64>,
    jitter: AtomicU64,
    calls: Mutex<CallCounts>,
}

impl Resilient {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn FalApi>, policy: Policy) -> Self {
        Self {
            inner,
            permits: Semaphore::new(policy.max_concurrency),
            budget: Mutex::new(policy.budget_burst),
            policy,
            breakers: Mutex::new(HashMap::new()),
            // A real random start per client: replicas (and workspaces) that fail together must
            // not back off in lockstep. The sequence after it is a cheap mix.
            jitter: AtomicU64::new(uuid::Uuid::new_v4().as_u64_pair().0),
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// Circuit state of every operation seen so far.
    pub fn circuits(&self) -> Vec<(&'static str, Circuit)> {
        let breakers = self.breakers.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let mut v: Vec<_> = breakers
            .iter()
            .map(|(op, b)| {
                let state = match b.open_until {
                    Some(t) if now < t => Circuit::Open,
                    Some(_) => Circuit::HalfOpen,
                    None => Circuit::Closed,
                };
                (*op, state)
            })
            .collect();
        v.sort_unstable_by_key(|(op, _)| *op);
        v
    }

    /// Upstream calls by (operation, outcome).
    pub fn call_counts(&self) -> CallCounts {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn count(&self, op: &'static str, outcome: &'static str) {
        *self
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((op, outcome))
            .or_default() += 1;
    }

    /// Admits a call through the breaker; `Err` when it is open.
    fn admit(&self, op: &'static str) -> Result<(), UpstreamError> {
        let mut breakers = self.breakers.lock().unwrap_or_else(|e| e.into_inner());
        let b = breakers.entry(op).or_insert(Breaker {
            failures: 0,
            open_until: None,
            probing: false,
        });
        match b.open_until {
            None => Ok(()),
            Some(t) if Instant::now() < t => Err(UpstreamError::CircuitOpen),
            Some(_) if b.probing => Err(UpstreamError::CircuitOpen),
            Some(_) => {
                b.probing = true;
                Ok(())
            }
        }
    }

    fn record(&self, op: &'static str, outcome: &Result<(), &UpstreamError>) {
        let mut breakers = self.breakers.lock().unwrap_or_else(|e| e.into_inner());
        let Some(b) = breakers.get_mut(op) else {
            return;
        };
        match outcome {
            Err(e) if e.is_outage() => {
                b.failures += 1;
                if b.probing || b.failures >= self.policy.breaker_threshold {
                    if b.open_until.is_none() || b.probing {
                        tracing::warn!(
                            op,
                            failures = b.failures,
                            "circuit opened: failing fast on fal"
                        );
                    }
                    b.open_until = Some(Instant::now() + self.policy.breaker_cooldown);
                }
                b.probing = false;
            }
            _ => {
                if b.open_until.is_some() {
                    tracing::info!(op, "circuit closed: fal answers again");
                }
                *b = Breaker {
                    failures: 0,
                    open_until: None,
                    probing: false,
                };
            }
        }
    }

    fn take_retry_token(&self) -> bool {
        let mut budget = self.budget.lock().unwrap_or_else(|e| e.into_inner());
        if *budget >= 1.0 {
            *budget -= 1.0;
            true
        } else {
            false
        }
    }

    fn earn(&self) {
        let mut budget = self.budget.lock().unwrap_or_else(|e| e.into_inner());
        *budget = (*budget + self.policy.budget_ratio).min(self.policy.budget_burst);
    }

    /// Full jitter: a uniform delay in `[0, backoff]`.
    fn backoff(&self, attempt: u32) -> Duration {
        let cap = self
            .policy
            .max_backoff
            .min(self.policy.base_backoff * 2u32.saturating_pow(attempt));
        let x = splitmix64(self.jitter.fetch_add(1, Ordering::Relaxed));
        cap.mul_f64((x >> 11) as f64 / (1u64 << 53) as f64)
    }

    /// Runs `call` with breaker, concurrency bound and (when `idempotent`) retries.
    async fn run<T, F, Fut>(
        &self,
        op: &'static str,
        idempotent: bool,
        call: F,
    ) -> Result<T, UpstreamError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, UpstreamError>>,
    {
        self.earn();
        let mut attempt = 0;
        loop {
            if let Err(e) = self.admit(op) {
                self.count(op, "circuit_open");
                return Err(e);
            }
            let result = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| UpstreamError::Transport("shutting down".into()))?;
                call().await
            };
            self.record(op, &result.as_ref().map(|_| ()));
            let err = match result {
                Ok(v) => {
                    self.count(op, "ok");
                    return Ok(v);
                }
                Err(e) => e,
            };
            self.count(op, outcome_label(&err));
            attempt += 1;
            let retryable = idempotent && err.is_outage() && attempt < self.policy.max_attempts;
            let wait = match &err {
                UpstreamError::RateLimited {
                    retry_after: Some(d),
                } if *d > self.policy.max_retry_after => None,
                UpstreamError::RateLimited {
                    retry_after: Some(d),
                } => Some(*d),
                _ => Some(self.backoff(attempt)),
            };
            match wait {
                Some(d) if retryable && self.take_retry_token() => tokio::time::sleep(d).await,
                _ => return Err(err),
            }
        }
    }
}

/// SplitMix64's output function: a well-spread 64-bit value from a counter.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn outcome_label(e: &UpstreamError) -> &'static str {
    match e {
        UpstreamError::Credentials { .. } => "credentials",
        UpstreamError::Refused { .. } => "client_error",
        UpstreamError::RateLimited { .. } => "rate_limited",
        UpstreamError::Status { status, .. } if *status >= 500 => "server_error",
        UpstreamError::Status { .. } => "client_error",
        UpstreamError::Timeout => "timeout",
        UpstreamError::Transport(_) => "transport",
        UpstreamError::Decode(_) => "decode",
        UpstreamError::AdminKeyMissing { .. } => "admin_key_missing",
        UpstreamError::CircuitOpen => "circuit_open",
    }
}

const READ: bool = true;
const WRITE: bool = false;

#[async_trait]
impl FalApi for Resilient {
    async fn metrics(&self) -> Result<MetricsScrape, UpstreamError> {
        self.run("metrics", READ, || self.inner.metrics()).await
    }
    async fn queue_size(&self, owner: &str, name: &str) -> Result<u64, UpstreamError> {
        self.run("queue_size", READ, || self.inner.queue_size(owner, name))
            .await
    }
    async fn flush_queue(
        &self,
        owner: &str,
        name: &str,
        key: Option<&str>,
    ) -> Result<(), UpstreamError> {
        // With an Idempotency-Key fal makes a repeat harmless, so it may be retried.
        let idempotent = key.is_some();
        self.run("queue_flush", idempotent, || {
            self.inner.flush_queue(owner, name, key)
        })
        .await
    }
    async fn analytics(
        &self,
        kind: AnalyticsKind,
        q: &AnalyticsQuery,
    ) -> Result<Aggregates<AnalyticsRecord>, UpstreamError> {
        // Separate breakers: models analytics failing says nothing about the apps' analytics.
        let op = match kind {
            AnalyticsKind::Serverless => "analytics",
            AnalyticsKind::Models => "models_analytics",
        };
        self.run(op, READ, || self.inner.analytics(kind, q)).await
    }
    async fn requests(&self, q: &RequestsQuery) -> Result<Page<RequestItem>, UpstreamError> {
        self.run("requests_by_endpoint", READ, || self.inner.requests(q))
            .await
    }
    async fn usage(&self, q: &UsageQuery) -> Result<Aggregates<UsageRow>, UpstreamError> {
        self.run("usage", READ, || self.inner.usage(q)).await
    }
    async fn logs_history(
        &self,
        q: &LogsQuery,
        labels: &[LabelFilter],
    ) -> Result<Page<LogEntry>, UpstreamError> {
        self.run("logs_history", READ, || self.inner.logs_history(q, labels))
            .await
    }
    async fn logs_stream(
        &self,
        q: &LogsQuery,
        labels: &[LabelFilter],
    ) -> Result<BoxStream<'static, Result<LogEntry, UpstreamError>>, UpstreamError> {
        self.run("logs_stream", READ, || self.inner.logs_stream(q, labels))
            .await
    }
    async fn list_files(&self, dir: Option<&str>) -> Result<Vec<FileEntry>, UpstreamError> {
        self.run("files_list", READ, || self.inner.list_files(dir))
            .await
    }
    async fn download_file(&self, path: &str) -> Result<Download, UpstreamError> {
        self.run("files_download", READ, || self.inner.download_file(path))
            .await
    }
    async fn upload_from_url(&self, path: &str, url: &str) -> Result<bool, UpstreamError> {
        self.run("files_upload_url", WRITE, || {
            self.inner.upload_from_url(path, url)
        })
        .await
    }
    async fn upload_local(
        &self,
        path: &str,
        file_name: &str,
        body: ByteStream,
        unzip: bool,
    ) -> Result<bool, UpstreamError> {
        // A streamed body can be sent once: no retries, but breaker and permits still apply.
        let body = Mutex::new(Some(body));
        self.run("files_upload_local", WRITE, || {
            let body = body.lock().unwrap_or_else(|e| e.into_inner()).take();
            async move {
                match body {
                    Some(b) => self.inner.upload_local(path, file_name, b, unzip).await,
                    None => Err(UpstreamError::Transport("upload body already sent".into())),
                }
            }
        })
        .await
    }
    async fn list_apps(&self, environment: Option<&str>) -> Result<AppList, UpstreamError> {
        self.run("apps", READ, || self.inner.list_apps(environment))
            .await
    }
    async fn account_billing(&self, credits: bool) -> Result<Billing, UpstreamError> {
        self.run("account_billing", READ, || {
            self.inner.account_billing(credits)
        })
        .await
    }
    fn has_admin_key(&self) -> bool {
        self.inner.has_admin_key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::fake::Script;

    fn script(answers: Vec<Result<AppList, UpstreamError>>) -> (Arc<Script>, Resilient) {
        script_with(answers, Policy::default())
    }

    fn script_with(
        answers: Vec<Result<AppList, UpstreamError>>,
        policy: Policy,
    ) -> (Arc<Script>, Resilient) {
        let s = Arc::new(Script::new(answers));
        (s.clone(), Resilient::new(s, policy))
    }

    fn ok() -> Result<AppList, UpstreamError> {
        Ok(AppList { apps: vec![] })
    }

    #[tokio::test(start_paused = true)]
    async fn retries_outages_and_honours_retry_after() {
        let (s, r) = script(vec![
            Err(UpstreamError::RateLimited {
                retry_after: Some(Duration::from_secs(2)),
            }),
            ok(),
        ]);
        let started = Instant::now();
        r.list_apps(None).await.unwrap();
        assert_eq!(s.calls.load(Ordering::SeqCst), 2);
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "waited for Retry-After"
        );
        let (s, r) = script(vec![Err(UpstreamError::Credentials { status: 401 }), ok()]);
        assert!(r.list_apps(None).await.is_err());
        assert_eq!(
            s.calls.load(Ordering::SeqCst),
            1,
            "credentials are not retried"
        );
        let (s, r) = script(vec![
            Err(UpstreamError::RateLimited {
                retry_after: Some(Duration::from_secs(60)),
            }),
            ok(),
        ]);
        assert!(r.list_apps(None).await.is_err());
        assert_eq!(
            s.calls.load(Ordering::SeqCst),
            1,
            "a long Retry-After is not waited for"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn breaker_opens_fails_fast_and_recovers_through_a_probe() {
        let (s, r) = script(vec![]); // every call times out
        for _ in 0..3 {
            let _ = r.list_apps(None).await;
        }
        let calls = s.calls.load(Ordering::SeqCst);
        assert!(calls >= 5, "threshold reached through retries: {calls}");
        assert_eq!(r.circuits(), vec![("apps", Circuit::Open)]);
        assert!(matches!(
            r.list_apps(None).await,
            Err(UpstreamError::CircuitOpen)
        ));
        assert_eq!(
            s.calls.load(Ordering::SeqCst),
            calls,
            "open circuit: no call"
        );
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(r.circuits(), vec![("apps", Circuit::HalfOpen)]);
        s.answers.lock().unwrap().push(ok());
        r.list_apps(None).await.unwrap();
        assert_eq!(r.circuits(), vec![("apps", Circuit::Closed)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_probe_reopens_and_only_one_probe_runs_at_once() {
        let (s, r) = script(vec![]); // every call times out
        for _ in 0..3 {
            let _ = r.list_apps(None).await;
        }
        assert_eq!(r.circuits(), vec![("apps", Circuit::Open)]);
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(r.circuits(), vec![("apps", Circuit::HalfOpen)]);
        let before = s.calls.load(Ordering::SeqCst);
        // Ten callers at once while half-open: one probe reaches fal, the rest fail fast.
        let r = Arc::new(r);
        let calls: Vec<_> = (0..10)
            .map(|_| {
                let r = r.clone();
                tokio::spawn(async move { r.list_apps(None).await })
            })
            .collect();
        let mut open = 0;
        for c in calls {
            if matches!(c.await.unwrap(), Err(UpstreamError::CircuitOpen)) {
                open += 1;
            }
        }
        assert!(open >= 9, "the other callers failed fast: {open}");
        assert_eq!(
            s.calls.load(Ordering::SeqCst) - before,
            1,
            "one probe, not retried"
        );
        // The probe failed: open again, failing fast for another period.
        assert_eq!(r.circuits(), vec![("apps", Circuit::Open)]);
        assert!(matches!(
            r.list_apps(None).await,
            Err(UpstreamError::CircuitOpen)
        ));
    }

    #[test]
    fn two_clients_do_not_back_off_in_lockstep() {
        let a = script(vec![]).1;
        let b = script(vec![]).1;
        let delays = |r: &Resilient| (0..8).map(|i| r.backoff(i % 3)).collect::<Vec<_>>();
        assert_ne!(delays(&a), delays(&b), "each client draws its own jitter");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_budget_caps_amplification() {
        // fal fails every call; the breaker is kept out of reach so only the budget can bound
        // the retries (it used to half-open every 31 s and hide a missing budget).
        let calls_for = |policy: Policy| async move {
            let (s, r) = script_with(vec![], policy);
            for _ in 0..100 {
                assert!(r.list_apps(None).await.is_err());
            }
            s.calls.load(Ordering::SeqCst)
        };
        let no_breaker = Policy {
            breaker_threshold: u32::MAX,
            ..Policy::default()
        };
        let bounded = calls_for(no_breaker.clone()).await;
        assert!(
            (100..=100 + 10 + 10 + 1).contains(&bounded),
            "retries bounded by the budget: {bounded} calls for 100 requests"
        );
        let unbounded = calls_for(Policy {
            budget_burst: 1e9,
            budget_ratio: 1e9,
            ..no_breaker
        })
        .await;
        assert_eq!(
            unbounded, 300,
            "without a budget every request is tried max_attempts times"
        );
    }
}
