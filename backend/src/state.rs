//! Shared application state handed to every handler.

use crate::auth::{Auth, Caller};
use crate::cache::Cache;
use crate::error::AppError;
use crate::reports::Reports;
use crate::store::SampleStore;
use crate::workspace::Workspace;
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
    /// Configured workspaces (at least one).
    pub workspaces: Vec<Arc<Workspace>>,
    /// The read-through cache in front of fal.
    pub cache: Arc<Cache>,
    /// What the SPA is told about this server.
    pub public: PublicConfig,
    /// Largest upload in bytes.
    pub max_upload: u64,
    /// falscope's stored samples, when a data directory is usable.
    pub store: Option<Arc<dyn SampleStore>>,
    /// The embedded database itself (daily cost history), when the data directory is usable.
    pub db: Option<Arc<crate::store::SqliteStore>>,
    /// How long samples are kept.
    pub retention: chrono::Duration,
    /// Cancelled on shutdown: background tasks stop, SSE streams end cleanly.
    pub shutdown: CancellationToken,
    /// Open SSE connections.
    pub sse_clients: AtomicI64,
    /// The clock relative times are resolved against.
    pub clock: Arc<dyn crate::clock::Clock>,
    /// Authentication settings, sessions and the audit trail.
    pub auth: Auth,
    /// The Content-Security-Policy of every response, validated once.
    pub csp: http::HeaderValue,
    /// Alert rules, states and history.
    pub alerts: Arc<crate::alerts::Alerts>,
    /// What the dashboard shows, computed from fal through the cache.
    pub reports: Reports,
    /// Open streams per caller key, and the cap.
    streams: Mutex<HashMap<String, u32>>,
    max_streams: u32,
}

/// Counts an open SSE connection (in total and per caller) for as long as it lives.
pub struct SseGuard {
    state: AppState,
    key: String,
}

impl SseGuard {
    /// Opens one more stream for `caller`, or a 429 when they hold `--max-streams` already.
    pub fn acquire(state: &AppState, caller: &Caller) -> Result<Self, AppError> {
        let key = caller.key();
        {
            let mut streams = state.streams.lock().unwrap_or_else(|e| e.into_inner());
            let open = streams.entry(key.clone()).or_default();
            if *open >= state.max_streams {
                return Err(AppError::RateLimited {
                    retry_after: 5,
                    message: format!(
                        "you have {open} live streams open already (the limit is {}); close a tab",
                        state.max_streams
                    ),
                });
            }
            *open += 1;
        }
        state.sse_clients.fetch_add(1, Ordering::Relaxed);
        Ok(Self {
            state: state.clone(),
            key,
        })
    }
}

impl Drop for SseGuard {
    fn drop(&mut self) {
        self.state.sse_clients.fetch_sub(1, Ordering::Relaxed);
        let mut streams = self.state.streams.lock().unwrap_or_else(|e| e.into_inner());
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
    /// Sample store.
    pub store: Option<Arc<dyn SampleStore>>,
    /// The embedded database itself (daily cost history), when the data directory is usable.
    pub db: Option<Arc<crate::store::SqliteStore>>,
    /// Sample retention.
    pub retention: chrono::Duration,
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
}

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
        let cache = Cache::new(CACHE_BYTES);
        let reports = Reports::new(
            workspaces.clone(),
            cache.clone(),
            settings.clock.clone(),
            settings.db.clone(),
            settings.store.clone(),
        );
        let alerts = Arc::new(crate::alerts::Alerts::new(
            settings.alerts,
            reports.clone(),
            settings.db.clone(),
        ));
        Self(Arc::new(Inner {
            workspaces,
            cache,
            public,
            max_upload: settings.max_upload,
            store: settings.store,
            db: settings.db,
            retention: settings.retention,
            shutdown: CancellationToken::new(),
            sse_clients: AtomicI64::new(0),
            clock: settings.clock,
            auth: settings.auth,
            csp: http::HeaderValue::from_str(&settings.csp)
                .unwrap_or_else(|_| http::HeaderValue::from_static("default-src 'self'")),
            alerts,
            reports,
            streams: Mutex::new(HashMap::new()),
            max_streams: settings.max_streams,
        }))
    }

    /// Now, by the injected clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
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

/// Handlers that only read reports extract `State<Reports>`.
impl axum::extract::FromRef<AppState> for Reports {
    fn from_ref(state: &AppState) -> Self {
        state.reports.clone()
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
