//! API paths, used by both the axum router and the frontend client so a rename is a compile
//! error. fal-backed routes are scoped by workspace: `/api/ws/{ws}/...`.

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
/// Sign in with a [`crate::auth::LoginRequest`] (`--auth token`); sets the session cookie.
pub const LOGIN: &str = "/api/auth/login";
/// Sign out: ends the session and clears its cookie.
pub const LOGOUT: &str = "/api/auth/logout";
/// The audit log: [`crate::auth::AuditEntry`] list, newest first (admin).
pub const AUDIT: &str = "/api/audit";

/// Workspace-scoped route templates (axum syntax); fill `{ws}` with [`ws::path`].
pub mod ws {
    /// [`crate::LiveSnapshot`]: runners, queue, traffic per app.
    pub const LIVE: &str = "/api/ws/{ws}/live";
    /// Server-Sent Events of [`crate::LiveSnapshot`] every time fal's metrics change.
    pub const LIVE_STREAM: &str = "/api/ws/{ws}/live/stream";
    /// [`crate::live::LiveHistory`]: stored samples of the live numbers.
    pub const LIVE_HISTORY: &str = "/api/ws/{ws}/live/history";
    /// [`crate::apps::AppSummary`] list: apps and their endpoint ids.
    pub const APPS: &str = "/api/ws/{ws}/apps";
    /// [`crate::apps::DefaultEndpoints`]: the endpoints pages show before anyone picks.
    pub const ENDPOINTS: &str = "/api/ws/{ws}/endpoints";
    /// [`crate::analytics::AnalyticsReport`].
    pub const ANALYTICS: &str = "/api/ws/{ws}/analytics";
    /// Analytics as CSV.
    pub const ANALYTICS_CSV: &str = "/api/ws/{ws}/analytics.csv";
    /// [`crate::usage::UsageReport`] (needs the ADMIN key).
    pub const USAGE: &str = "/api/ws/{ws}/usage";
    /// Usage as CSV.
    pub const USAGE_CSV: &str = "/api/ws/{ws}/usage.csv";
    /// [`crate::cost::CostReport`]: spend beside request outcomes, per app (billing role).
    pub const COST: &str = "/api/ws/{ws}/cost";
    /// [`crate::cost::Forecast`]: month-to-date spend and the month-end projection (billing).
    pub const FORECAST: &str = "/api/ws/{ws}/forecast";
    /// [`crate::cost::SplitReport`]: running / idle / setup / failed machine time per app.
    pub const SPLIT: &str = "/api/ws/{ws}/split";
    /// [`crate::cost::PriceLine`] list (GET); [`crate::cost::PriceOverride`] (PUT, admin).
    pub const PRICES: &str = "/api/ws/{ws}/prices";
    /// [`crate::alerts::Budget`] list (GET); one budget (PUT, billing; `monthly: 0` removes).
    pub const BUDGETS: &str = "/api/ws/{ws}/budgets";
    /// [`crate::alerts::AlertsView`]: rules, states, history, webhooks.
    pub const ALERTS: &str = "/api/ws/{ws}/alerts";
    /// POST [`crate::alerts::NewRule`] (operator).
    pub const ALERT_RULES: &str = "/api/ws/{ws}/alerts/rules";
    /// PUT [`crate::alerts::NewRule`] or DELETE: one rule created in the UI (operator).
    pub const ALERT_RULE: &str = "/api/ws/{ws}/alerts/rules/{id}";
    /// POST: send a test notification to every webhook (operator).
    pub const ALERT_TEST: &str = "/api/ws/{ws}/alerts/test";
    /// [`crate::requests::RequestsPage`].
    pub const REQUESTS: &str = "/api/ws/{ws}/requests";
    /// Requests as CSV.
    pub const REQUESTS_CSV: &str = "/api/ws/{ws}/requests.csv";
    /// [`crate::requests::RequestDetail`] of one request.
    pub const REQUEST: &str = "/api/ws/{ws}/requests/{id}";
    /// [`crate::logs::LogsPage`]: log history.
    pub const LOGS: &str = "/api/ws/{ws}/logs";
    /// Log history as CSV.
    pub const LOGS_CSV: &str = "/api/ws/{ws}/logs.csv";
    /// Server-Sent Events of [`crate::logs::LogLine`]s as they happen.
    pub const LOGS_STREAM: &str = "/api/ws/{ws}/logs/stream";
    /// [`crate::files::FileItem`] list of a directory (`?dir=`).
    pub const FILES: &str = "/api/ws/{ws}/files";
    /// Download one file (`?path=`).
    pub const FILE_CONTENT: &str = "/api/ws/{ws}/files/content";
    /// Upload a file (multipart part `file`, `?path=`).
    pub const FILE_UPLOAD: &str = "/api/ws/{ws}/files/upload";
    /// Ask fal to fetch a URL into a path ([`crate::files::UploadFromUrl`]).
    pub const FILE_UPLOAD_URL: &str = "/api/ws/{ws}/files/upload-url";
    /// Flush an app's queue ([`crate::apps::FlushQueue`], with an `Idempotency-Key` header).
    pub const QUEUE_FLUSH: &str = "/api/ws/{ws}/queue/flush";
    /// Credit balance and runway ([`crate::cost::Credits`]).
    pub const CREDITS: &str = "/api/ws/{ws}/credits";
    /// Watched model endpoints and their SLAs ([`crate::models::Watched`]).
    pub const MODELS: &str = "/api/ws/{ws}/models";
    /// Models analytics of the watched endpoints, with SLA state ([`crate::models::ModelsReport`]).
    pub const MODELS_REPORT: &str = "/api/ws/{ws}/models/report";

    /// A concrete path: `template` with `{ws}` (and `{id}`, when given) filled in.
    pub fn path(template: &str, ws: &str) -> String {
        template.replace("{ws}", ws)
    }

    /// A concrete path with an `{id}`.
    pub fn path_with_id(template: &str, ws: &str, id: &str) -> String {
        path(template, ws).replace("{id}", id)
    }
}
