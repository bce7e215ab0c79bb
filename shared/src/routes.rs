//! API paths, used by both the axum router and the frontend client so a rename is a compile error.

/// Liveness probe: 200 with [`crate::config::Health`] while the process runs.
pub const HEALTHZ: &str = "/healthz";
/// Readiness probe: 200 when fal (or the simulator) answers or stale data is available.
pub const READYZ: &str = "/readyz";
/// falscope's own Prometheus exposition.
pub const METRICS: &str = "/metrics";
/// The OpenAPI 3 document of `/api`.
pub const OPENAPI: &str = "/api/openapi.json";
/// [`crate::PublicConfig`]: version, demo mode, workspaces. Never secrets.
pub const CONFIG: &str = "/api/config";
/// [`crate::LiveSnapshot`] of the default workspace: runners, queue, traffic per app.
pub const LIVE: &str = "/api/live";
