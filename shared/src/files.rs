//! The shared `/data` storage.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A file or folder.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileItem {
    /// Full path without a leading `/`.
    pub path: String,
    /// Base name.
    pub name: String,
    /// True for folders.
    pub is_dir: bool,
    /// Bytes (0 for folders).
    pub size: u64,
    /// Last change.
    pub updated: DateTime<Utc>,
}

/// Body of `POST /api/ws/{ws}/files/upload-url`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadFromUrl {
    /// Target path including the file name.
    pub path: String,
    /// http(s) URL fal fetches.
    pub url: String,
}
