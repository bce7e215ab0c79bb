//! What the SPA learns about the server at startup. Never holds a secret.

use serde::{Deserialize, Serialize};

/// Body of `GET /healthz`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"` when the process answers.
    pub status: String,
    /// falscope's version (`CARGO_PKG_VERSION`).
    pub version: String,
}

/// Body of `GET /api/config`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicConfig {
    /// falscope's version.
    pub version: String,
    /// True when falscope talks to its embedded fal simulator instead of fal.ai.
    pub demo: bool,
    /// Workspaces (fal accounts) the caller may see; empty until signed in.
    pub workspaces: Vec<WorkspaceInfo>,
    /// How to sign in, and who is signed in.
    pub auth: crate::auth::AuthInfo,
}

/// One fal account as the browser sees it: a name, never a key.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceInfo {
    /// Identifier used in URLs and cache keys.
    pub id: String,
    /// Human name shown in the workspace switcher.
    pub name: String,
    /// Whether an ADMIN-scoped key is configured (usage and billing need it).
    pub has_admin_key: bool,
}
