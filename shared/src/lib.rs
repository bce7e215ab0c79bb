//! falscope's wire contract: every type and path the browser and the backend agree on.
//!
//! Nothing here knows about fal's own wire shapes (those live in `backend::upstream::models`)
//! and nothing here may depend on tokio, axum, reqwest or web-sys: this crate builds for wasm32.

pub mod alerts;
pub mod analytics;
pub mod apps;
pub mod auth;
pub mod config;
pub mod cost;
pub mod error;
pub mod events;
pub mod fetched;
pub mod files;
pub mod live;
pub mod logs;
pub mod models;
pub mod query;
pub mod requests;
pub mod routes;
pub mod time;
pub mod usage;

pub use config::{PublicConfig, WorkspaceInfo};
pub use error::{ApiError, ErrorCode};
pub use fetched::{CacheStatus, Fetched};
pub use live::{AppLive, LatencyBucket, LiveSnapshot, RunnerCount, RunnerState};
