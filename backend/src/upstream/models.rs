//! fal's wire shapes (REFERENCE.md), shared by the client and the simulator. The browser never
//! sees these: `api` handlers convert them into `shared` DTOs.

use serde::{Deserialize, Serialize};

/// fal's error body: `{"error":{"type","message",...}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error object.
    pub error: ErrorDetail,
}

/// Inside fal's error body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// `authorization_error`, `validation_error`, `not_found`, `rate_limited`, `server_error`,
    /// `not_implemented`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Human-readable message; clients must not match on it.
    pub message: String,
    /// Link to fal's docs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docs_url: Option<String>,
    /// fal's id of the failed call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// `GET /v1/serverless/apps` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppList {
    /// The account's apps.
    pub apps: Vec<App>,
}

/// One deployed application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct App {
    /// `<owner>/<name>`.
    pub endpoint_id: String,
    /// App name.
    pub name: String,
    /// Owner username.
    pub owner: String,
    /// Environment, e.g. `main`.
    pub environment: String,
    /// Machine type, e.g. `GPU-H100`.
    pub machine_type: String,
    /// `private`, `public` or `shared`.
    pub auth_mode: String,
    /// Seconds an idle runner is kept warm.
    pub keep_alive: f64,
    /// Runners kept even without traffic.
    pub min_concurrency: f64,
    /// Upper bound of runners.
    pub max_concurrency: f64,
    /// Seconds before a request times out.
    pub request_timeout: f64,
    /// Seconds a runner may take to start.
    pub startup_timeout: f64,
    /// Regions, e.g. `["us"]`.
    pub valid_regions: Vec<String>,
    /// Last deployment time (ISO 8601).
    pub updated_at: String,
    /// Route-level endpoint ids, only with `expand=endpoints`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Vec<String>>,
}
