//! Shared application state handed to every handler.

use crate::upstream::FalApi;
use shared::PublicConfig;
use std::ops::Deref;
use std::sync::Arc;

/// Cheap-to-clone handle on everything handlers need.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The contents of [`AppState`].
pub struct Inner {
    /// The fal client (real fal, or the embedded simulator in demo mode).
    pub fal: Arc<dyn FalApi>,
    /// What the SPA is told about this server.
    pub public: PublicConfig,
}

impl AppState {
    /// Builds the state.
    pub fn new(fal: Arc<dyn FalApi>, public: PublicConfig) -> Self {
        Self(Arc::new(Inner { fal, public }))
    }
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
