//! The dashboard's pages and their paths; no other module writes a page path by hand.

/// A routed page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `/`: live overview.
    Overview,
    /// `/analytics`.
    Analytics,
    /// `/usage`: usage and cost.
    Usage,
    /// `/requests`.
    Requests,
    /// `/logs`.
    Logs,
    /// `/files`.
    Files,
}

impl Page {
    /// Pages in navigation order.
    pub const NAV: [Page; 6] = [
        Self::Overview,
        Self::Analytics,
        Self::Usage,
        Self::Requests,
        Self::Logs,
        Self::Files,
    ];

    /// The page's path.
    pub fn path(self) -> &'static str {
        match self {
            Self::Overview => "/",
            Self::Analytics => "/analytics",
            Self::Usage => "/usage",
            Self::Requests => "/requests",
            Self::Logs => "/logs",
            Self::Files => "/files",
        }
    }

    /// The least role that may open the page (the API enforces it; the nav hides the rest).
    pub fn min_role(self) -> shared::auth::Role {
        match self {
            Self::Usage => shared::auth::Role::Billing,
            _ => shared::auth::Role::Viewer,
        }
    }

    /// The navigation label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Overview => "Overview",
            Self::Analytics => "Analytics",
            Self::Usage => "Usage & cost",
            Self::Requests => "Requests",
            Self::Logs => "Logs",
            Self::Files => "Files",
        }
    }
}

/// `/requests/{id}`.
pub fn request_path(id: &str) -> String {
    format!("/requests/{id}")
}
