//! Shared application state handed to every handler.

use crate::cache::Cache;
use crate::error::AppError;
use crate::store::SampleStore;
use crate::workspace::Workspace;
use shared::PublicConfig;
use std::ops::Deref;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
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
    /// How long samples are kept.
    pub retention: chrono::Duration,
    /// Cancelled on shutdown: background tasks stop, SSE streams end cleanly.
    pub shutdown: CancellationToken,
    /// Open SSE connections.
    pub sse_clients: AtomicI64,
    /// The clock relative times are resolved against.
    pub clock: Arc<dyn crate::clock::Clock>,
}

/// Counts an open SSE connection for as long as it lives.
pub struct SseGuard(AppState);

impl SseGuard {
    /// Counts one more connection.
    pub fn new(state: &AppState) -> Self {
        state.sse_clients.fetch_add(1, Ordering::Relaxed);
        Self(state.clone())
    }
}

impl Drop for SseGuard {
    fn drop(&mut self) {
        self.0.sse_clients.fetch_sub(1, Ordering::Relaxed);
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
    /// Sample retention.
    pub retention: chrono::Duration,
    /// The clock relative times are resolved against.
    pub clock: Arc<dyn crate::clock::Clock>,
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
        };
        Self(Arc::new(Inner {
            workspaces,
            cache: Cache::new(CACHE_BYTES),
            public,
            max_upload: settings.max_upload,
            store: settings.store,
            retention: settings.retention,
            shutdown: CancellationToken::new(),
            sse_clients: AtomicI64::new(0),
            clock: settings.clock,
        }))
    }

    /// Now, by the injected clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The workspace `id`, or a 404 naming it.
    pub fn workspace(&self, id: &str) -> Result<Arc<Workspace>, AppError> {
        self.workspaces
            .iter()
            .find(|w| w.id == id)
            .cloned()
            .ok_or_else(|| AppError::NotFound(format!("workspace {id:?}")))
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
