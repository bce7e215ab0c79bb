//! The fal Platform API client: a [`FalApi`] trait that handlers depend on, and [`FalClient`],
//! its reqwest implementation. fal's wire shapes live in [`models`]; browser DTOs never do.

mod client;
mod error;
pub mod models;
pub mod prometheus;

pub use client::FalClient;
pub use error::UpstreamError;

use async_trait::async_trait;

/// Which key an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The API-scoped key (an ADMIN key would also do).
    Api,
    /// The ADMIN-scoped key.
    Admin,
}

/// Every fal operation falscope uses. One implementation talks HTTP; tests may swap in fakes.
#[async_trait]
pub trait FalApi: Send + Sync {
    /// `GET /v1/serverless/metrics`: Prometheus text, parsed.
    async fn metrics(&self) -> Result<prometheus::MetricsScrape, UpstreamError>;
    /// `GET /v1/serverless/apps`: the account's apps (with route-level endpoints).
    async fn list_apps(&self) -> Result<models::AppList, UpstreamError>;
    /// Whether an ADMIN key is configured.
    fn has_admin_key(&self) -> bool;
}
