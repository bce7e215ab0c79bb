//! The envelope of every fal-backed answer: the data, when fal produced it, and whether falscope
//! is showing an old copy because fal is not answering.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Data from fal with its freshness.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fetched<T> {
    /// The payload.
    pub data: T,
    /// When falscope received this data from fal.
    pub as_of: DateTime<Utc>,
    /// True when fal failed and this is the last good copy.
    pub stale: bool,
}

/// Cache outcome, also sent as the `X-Cache` header.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CacheStatus {
    /// Served from cache, fresh (or within the stale-while-revalidate window).
    Hit,
    /// Not cached: fetched from fal now.
    Miss,
    /// Cached copy had expired; fetched again from fal now.
    Revalidated,
    /// fal failed; the last good copy was served.
    Stale,
}

impl CacheStatus {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "HIT",
            Self::Miss => "MISS",
            Self::Revalidated => "REVALIDATED",
            Self::Stale => "STALE",
        }
    }
}

/// Name of the cache outcome header.
pub const CACHE_HEADER: &str = "x-cache";
