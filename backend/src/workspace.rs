//! Workspaces: one fal account (API key, optional ADMIN key) each, with its own resilient
//! client. Routes and cache keys carry the workspace id.

use crate::upstream::{FalApi, Resilient};
use shared::WorkspaceInfo;
use std::sync::Arc;

/// One fal account.
pub struct Workspace {
    /// Id used in URLs and cache keys.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The resilient fal client.
    pub fal: Arc<Resilient>,
    /// The latest live snapshot, pushed by the poller.
    pub live: crate::live::LiveFeed,
    /// Shared live log streams.
    pub logs: Arc<crate::logs_hub::LogHub>,
    /// `as_of` of the usage last written to the daily cost history (each copy is written once,
    /// however many views and scrapes read it).
    pub history_as_of: std::sync::Mutex<Option<chrono::DateTime<chrono::Utc>>>,
}

impl Workspace {
    /// A workspace over `client`.
    pub fn new(id: impl Into<String>, name: impl Into<String>, client: Arc<dyn FalApi>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            fal: Arc::new(Resilient::new(client, crate::upstream::Policy::default())),
            live: tokio::sync::watch::Sender::new(None),
            logs: Arc::default(),
            history_as_of: std::sync::Mutex::new(None),
        }
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
