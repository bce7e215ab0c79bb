//! The workspace's apps, for pickers.

use serde::{Deserialize, Serialize};

/// An app and its endpoint ids.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppSummary {
    /// `<owner>/<name>`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Machine type.
    pub machine_type: String,
    /// Route-level endpoint ids (the app's own id first).
    pub endpoints: Vec<String>,
}
