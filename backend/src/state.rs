//! The application state handed to every handler, made of sub-states that say what they hold:
//! [`Reports`] (workspaces, the cache, the clock: everything fal-backed), [`Auth`] (sessions,
//! roles, the audit trail), [`Limits`] (uploads and live streams), the alerts engine, and the
//! database. A handler that needs only one of them extracts it (`State<Reports>`,
//! `State<Arc<Limits>>`) through `FromRef`, as the axum examples do.

use crate::auth::{Auth, Caller};
use crate::error::AppError;
use crate::reports::Reports;
use crate::store::Store;
use crate::workspace::Workspace;
use axum::extract::FromRef;
use shared::auth::{AuthInfo, UserInfo};
use shared::PublicConfig;
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// Cheap-to-clone handle on everything handlers need.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The contents of [`AppState`].
pub struct Inner {
    /// What the dashboard shows: the workspaces, the cache in front of fal, the clock.
    pub reports: Reports,
    /// Authentication settings, sessions and the audit trail.
    pub auth: Auth,
    /// Alert rules, states and history.
    pub alerts: Arc<crate::alerts::Alerts>,
    /// Upload size and live-stream caps.
    pub limits: Arc<Limits>,
    /// falscope's own database (samples, history, rules, budgets), when the data directory is
    /// usable.
    pub db: Option<Arc<Store>>,
    /// What the SPA is told about this server.
    pub public: PublicConfig,
    /// The Content-Security-Policy of every response, validated once.
    pub csp: http::HeaderValue,
    /// Cancelled on shutdown: background tasks stop, SSE streams end cleanly.
    pub shutdown: CancellationToken,
    /// What the replicas coordinate through (Redis with `--redis-url`; alone, in-process).
    pub cluster: Arc<crate::cluster::Cluster>,
}

/// What one caller may hold open or send.
#[derive(Debug)]
pub struct Limits {
    /// Largest upload in bytes.
    pub max_upload: u64,
    /// Live streams one caller may hold open.
    max_streams: u32,
    /// Open streams per caller key.
    streams: Mutex<HashMap<String, u32>>,
    /// Paged exports running, per caller key and per workspace.
    exports: Mutex<HashMap<String, u32>>,
    /// Open SSE connections in all.
    pub sse_clients: AtomicI64,
    /// Where limits shared by the replicas are counted.
    cluster: Arc<crate::cluster::Cluster>,
}

/// Counts an open SSE connection (in total and per caller) for as long as it lives.
pub struct SseGuard {
    limits: Arc<Limits>,
    key: String,
}

impl SseGuard {
    /// Opens one more stream for `caller`, or a 429 when they hold `--max-streams` already.
    pub fn acquire(limits: &Arc<Limits>, caller: &Caller) -> Result<Self, AppError> {
        let key = caller.key();
        {
            let mut streams = limits.streams.lock().unwrap_or_else(|e| e.into_inner());
            let open = streams.entry(key.clone()).or_default();
            if *open >= limits.max_streams {
                return Err(AppError::RateLimited {
                    retry_after: 5,
                    message: format!(
                        "you have {open} live streams open already (the limit is {}); close a tab",
                        limits.max_streams
                    ),
                });
            }
            *open += 1;
        }
        limits.sse_clients.fetch_add(1, Ordering::Relaxed);
        Ok(Self {
            limits: limits.clone(),
            key,
        })
    }
}

/// Paged exports (requests.csv, logs.csv) one caller may run at once.
pub const EXPORTS_PER_CALLER: u32 = 1;
/// Paged exports one workspace may run at once: its fal calls stay a small share of the key's
/// rate limit, so dashboards and alerts keep theirs.
pub const EXPORTS_PER_WORKSPACE: u32 = 2;

/// A running paged export, counted per caller and per workspace for as long as it streams —
/// on this replica, and with other replicas across all of them ([`crate::cluster::Slot`]s).
pub struct ExportGuard {
    limits: Arc<Limits>,
    keys: [String; 2],
    _shared: Vec<crate::cluster::Slot>,
}

impl ExportGuard {
    /// One more export for `caller` in `ws`, or a 429 saying which budget is spent. With other
    /// replicas, the budgets hold across them too (while they can be reached).
    pub async fn acquire(
        limits: &Arc<Limits>,
        caller: &Caller,
        ws: &str,
    ) -> Result<Self, AppError> {
        let mut guard = Self::acquire_here(limits, caller, ws)?;
        if !limits.cluster.is_shared() {
            return Ok(guard);
        }
        for (key, most, whose) in [
            (&guard.keys[0], EXPORTS_PER_CALLER, "you have"),
            (&guard.keys[1], EXPORTS_PER_WORKSPACE, "this workspace has"),
        ] {
            match limits.cluster.slot(&format!("export {key}"), most).await {
                Some(Some(slot)) => guard._shared.push(slot),
                Some(None) => {
                    return Err(AppError::RateLimited {
                        retry_after: 10,
                        message: format!(
                            "{whose} {most} export(s) running on falscope's replicas (at most {most} at once); wait for it to finish"
                        ),
                    })
                }
                // The replicas cannot be reached: this replica's own count holds.
                None => break,
            }
        }
        Ok(guard)
    }

    /// The count on this replica.
    fn acquire_here(limits: &Arc<Limits>, caller: &Caller, ws: &str) -> Result<Self, AppError> {
        let keys = [
            format!("caller {}", caller.key()),
            format!("workspace {ws}"),
        ];
        let mut exports = limits.exports.lock().unwrap_or_else(|e| e.into_inner());
        for (key, most, whose) in [
            (&keys[0], EXPORTS_PER_CALLER, "you have"),
            (&keys[1], EXPORTS_PER_WORKSPACE, "this workspace has"),
        ] {
            let open = exports.get(key).copied().unwrap_or(0);
            if open >= most {
                return Err(AppError::RateLimited {
                    retry_after: 10,
                    message: format!(
                        "{whose} {open} export(s) running (at most {most} at once); wait for it to finish"
                    ),
                });
            }
        }
        for key in &keys {
            *exports.entry(key.clone()).or_default() += 1;
        }
        drop(exports);
        Ok(Self {
            limits: limits.clone(),
            keys,
            _shared: Vec::new(),
        })
    }
}

impl Drop for ExportGuard {
    fn drop(&mut self) {
        let mut exports = self
            .limits
            .exports
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for key in &self.keys {
            if let Some(open) = exports.get_mut(key) {
                *open = open.saturating_sub(1);
                if *open == 0 {
                    exports.remove(key);
                }
            }
        }
    }
}

impl Drop for SseGuard {
    fn drop(&mut self) {
        self.limits.sse_clients.fetch_sub(1, Ordering::Relaxed);
        let mut streams = self
            .limits
            .streams
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(open) = streams.get_mut(&self.key) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                streams.remove(&self.key);
            }
        }
    }
}

/// Settings of the state besides workspaces.
pub struct Settings {
    /// Demo mode.
    pub demo: bool,
    /// Largest upload in bytes.
    pub max_upload: u64,
    /// The embedded database, when the data directory is usable.
    pub db: Option<Arc<Store>>,
    /// The clock relative times are resolved against.
    pub clock: Arc<dyn crate::clock::Clock>,
    /// Authentication.
    pub auth: Auth,
    /// Content-Security-Policy.
    pub csp: String,
    /// Open streams per caller.
    pub max_streams: u32,
    /// Alert rules, webhooks and delivery settings.
    pub alerts: crate::alerts::AlertsConfig,
    /// What the replicas coordinate through.
    pub cluster: Arc<crate::cluster::Cluster>,
}

/// The cluster that decides which replica runs a job writing to the database: the shared one
/// only when the replicas share a database (Postgres). Replicas each on their own SQLite each
/// run their jobs.
pub fn job_cluster(
    cluster: &Arc<crate::cluster::Cluster>,
    db: Option<&crate::store::Store>,
) -> Arc<crate::cluster::Cluster> {
    if db.is_some_and(|db| db.engine() == "postgres") {
        cluster.clone()
    } else {
        crate::cluster::Cluster::alone()
    }
}

/// How often an open stream's session is checked for expiry or removal.
pub const SESSION_RECHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// Default cache budget: 64 MiB of serialized values.
pub const CACHE_BYTES: u64 = 64 * 1024 * 1024;

impl AppState {
    /// Builds the state.
    pub fn new(workspaces: Vec<Arc<Workspace>>, settings: Settings) -> Self {
        let public = PublicConfig {
            version: env!("CARGO_PKG_VERSION").into(),
            demo: settings.demo,
            workspaces: workspaces.iter().map(|w| w.info()).collect(),
            auth: AuthInfo {
                mode: settings.auth.mode.into(),
                user: None,
            },
        };
        let reports = Reports::new(
            workspaces,
            crate::cache::Cache::with_peers(
                CACHE_BYTES,
                settings.clock.clone(),
                Some(settings.cluster.clone()),
            ),
            settings.clock,
            settings.db.clone(),
            settings.cluster.clone(),
        );
        let shutdown = CancellationToken::new();
        let alerts = Arc::new(crate::alerts::Alerts::new(
            settings.alerts,
            reports.clone(),
            settings.db.clone(),
            crate::cluster::Lease::new(
                &job_cluster(&settings.cluster, settings.db.as_deref()),
                "alerts",
            ),
        ));
        let limits = Arc::new(Limits {
            max_upload: settings.max_upload,
            max_streams: settings.max_streams,
            streams: Mutex::new(HashMap::new()),
            exports: Mutex::new(HashMap::new()),
            sse_clients: AtomicI64::new(0),
            cluster: settings.cluster.clone(),
        });
        Self(Arc::new(Inner {
            reports,
            auth: settings.auth,
            alerts,
            limits,
            db: settings.db,
            public,
            csp: http::HeaderValue::from_str(&settings.csp)
                .unwrap_or_else(|_| http::HeaderValue::from_static("default-src 'self'")),
            shutdown,
            cluster: settings.cluster,
        }))
    }

    /// Now, by the injected clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.reports.now()
    }

    /// When a stream opened by `caller` must end: on shutdown, when the caller's session is
    /// signed out (at once), or when it expires or is removed (checked every
    /// [`SESSION_RECHECK`]). Streams of tokens, proxy users and `--auth none` end on shutdown.
    pub fn stream_end(&self, caller: &Caller) -> impl std::future::Future<Output = ()> + Send {
        let shutdown = self.shutdown.clone().cancelled_owned();
        let session = caller.session.zip(self.auth.db.clone());
        let mut signed_out = self.auth.signed_out.subscribe();
        let state = self.clone();
        let ended = async move {
            let Some((digest, db)) = session else {
                return std::future::pending().await;
            };
            let mut recheck = tokio::time::interval(SESSION_RECHECK);
            loop {
                tokio::select! {
                    out = signed_out.recv() => match out {
                        Ok(d) if d == digest => return,
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            return std::future::pending().await
                        }
                    },
                    _ = recheck.tick() => {
                        // Ended or expired; a database that cannot be asked ends nothing.
                        if matches!(db.session_user(&digest, state.now()).await, Ok(None)) {
                            return;
                        }
                    }
                }
            }
        };
        async move {
            tokio::select! {
                () = shutdown => {}
                () = ended => {}
            }
        }
    }

    /// What `/api/config` tells this caller: only the workspaces they may see.
    pub fn public_for(&self, caller: &Caller) -> PublicConfig {
        let mut public = self.public.clone();
        public.auth = AuthInfo {
            mode: self.auth.mode.into(),
            user: caller.identity.as_ref().map(|i| UserInfo {
                name: i.name.clone(),
                role: i.role,
            }),
        };
        public.workspaces.retain(|w| {
            caller
                .identity
                .as_ref()
                .is_some_and(|i| self.auth.may_see(i, &w.id))
        });
        public
    }

    /// The workspace `id`, or a 404 naming it.
    pub fn workspace(&self, id: &str) -> Result<Arc<Workspace>, AppError> {
        self.reports.workspace(id)
    }
}

impl FromRef<AppState> for Reports {
    fn from_ref(state: &AppState) -> Self {
        state.reports.clone()
    }
}

impl FromRef<AppState> for Arc<Limits> {
    fn from_ref(state: &AppState) -> Self {
        state.limits.clone()
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
