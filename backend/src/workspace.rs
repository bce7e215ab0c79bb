//! Workspaces: one fal account (API key, optional ADMIN key) each, with its own resilient
//! client. Routes and cache keys carry the workspace id.

use crate::upstream::{FalApi, Resilient};
use bytes::Bytes;
use shared::WorkspaceInfo;
use std::sync::Arc;

/// The latest snapshot of a workspace: typed (for `/metrics`) and as the JSON of a
/// `Fetched<LiveSnapshot>` (for SSE viewers), so neither side re-encodes it.
pub type LiveFeed = tokio::sync::watch::Sender<Option<Published>>;

/// One published snapshot.
#[derive(Debug, Clone)]
pub struct Published {
    /// The snapshot.
    pub snapshot: std::sync::Arc<shared::LiveSnapshot>,
    /// Its `Fetched` envelope as JSON.
    pub json: Bytes,
    /// When falscope received it from fal.
    pub as_of: chrono::DateTime<chrono::Utc>,
    /// A last good copy served because fal failed.
    pub stale: bool,
}

/// Why the poller has no snapshot to publish: an `ApiError` as JSON (fal rejected the key,
/// fal is down and nothing was read yet), for live viewers to show instead of waiting.
pub type LiveFailure = tokio::sync::watch::Sender<Option<Bytes>>;

/// One fal account.
pub struct Workspace {
    /// Id used in URLs and cache keys.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The resilient fal client.
    pub fal: Arc<Resilient>,
    /// The latest live snapshot, pushed by the poller.
    pub live: LiveFeed,
    /// Why there is no fresh snapshot, while the poller cannot read fal and has no copy.
    pub live_failure: LiveFailure,
    /// Shared live log streams.
    pub logs: Arc<crate::logs_hub::LogHub>,
    /// Where the ADMIN key is configured, for messages that ask for it.
    pub admin_key_setting: Arc<str>,
    /// Model endpoints to offer for watching (demo mode: the simulator's models).
    pub suggested_models: Vec<String>,
}

impl Workspace {
    /// A workspace over `client`.
    pub fn new(id: impl Into<String>, name: impl Into<String>, client: Arc<dyn FalApi>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            fal: Arc::new(Resilient::new(client, crate::upstream::Policy::default())),
            live: tokio::sync::watch::Sender::new(None),
            live_failure: tokio::sync::watch::Sender::new(None),
            logs: Arc::default(),
            admin_key_setting: "FAL_ADMIN_KEY".into(),
            suggested_models: Vec::new(),
        }
    }

    /// The same, with its ADMIN key configured by `setting` (named in what asks for it).
    #[must_use]
    pub fn with_admin_key_setting(mut self, setting: impl Into<Arc<str>>) -> Self {
        self.admin_key_setting = setting.into();
        self
    }

    /// The same, offering `models` for watching.
    #[must_use]
    pub fn with_suggested_models(mut self, models: Vec<String>) -> Self {
        self.suggested_models = models;
        self
    }

    /// Whether the poller's last read of fal's metrics answered (not a stale copy, not an
    /// error): fal's reachability as falscope sees it.
    pub fn fal_up(&self) -> bool {
        self.live_failure.borrow().is_none()
            && self.live.borrow().as_ref().is_some_and(|p| !p.stale)
    }

    /// What the browser may know about it.
    pub fn info(&self) -> WorkspaceInfo {
        WorkspaceInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            has_admin_key: self.fal.has_admin_key(),
        }
    }
}
