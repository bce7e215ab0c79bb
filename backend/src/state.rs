//! Shared application state handed to every handler.

use crate::cache::Cache;
use crate::error::AppError;
use crate::workspace::Workspace;
use shared::PublicConfig;
use std::ops::Deref;
use std::sync::Arc;

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
}

/// Default cache budget: 64 MiB of serialized values.
pub const CACHE_BYTES: u64 = 64 * 1024 * 1024;

impl AppState {
    /// Builds the state.
    pub fn new(workspaces: Vec<Arc<Workspace>>, demo: bool, max_upload: u64) -> Self {
        let public = PublicConfig {
            version: env!("CARGO_PKG_VERSION").into(),
            demo,
            workspaces: workspaces.iter().map(|w| w.info()).collect(),
        };
        Self(Arc::new(Inner {
            workspaces,
            cache: Cache::new(CACHE_BYTES),
            public,
            max_upload,
        }))
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
