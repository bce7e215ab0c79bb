//! The dashboard's pages and their paths; no other module writes a page path by hand.

/// A routed page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `/`: live overview.
    Overview,
    /// `/analytics`.
    Analytics,
    /// `/errors`: why requests fail.
    Errors,
    /// `/models`: the fal model APIs the team calls, with SLAs.
    Models,
    /// `/usage`: usage (the bill).
    Usage,
    /// `/cost`: cost per request, where the money goes, forecast and budgets.
    Cost,
    /// `/requests`.
    Requests,
    /// `/logs`.
    Logs,
    /// `/files`.
    Files,
    /// `/alerts`: rules, states and history.
    Alerts,
}

impl Page {
    /// Pages in navigation order.
    pub const NAV: [Page; 10] = [
        Self::Overview,
        Self::Analytics,
        Self::Errors,
        Self::Models,
        Self::Usage,
        Self::Cost,
        Self::Requests,
        Self::Logs,
        Self::Files,
        Self::Alerts,
    ];

    /// The page's path.
    pub fn path(self) -> &'static str {
        match self {
            Self::Overview => "/",
            Self::Analytics => "/analytics",
            Self::Errors => "/errors",
            Self::Models => "/models",
            Self::Usage => "/usage",
            Self::Requests => "/requests",
            Self::Logs => "/logs",
            Self::Files => "/files",
            Self::Cost => "/cost",
            Self::Alerts => "/alerts",
        }
    }

    /// The least role that may open the page (the API enforces it; the nav hides the rest).
    pub fn min_role(self) -> shared::auth::Role {
        match self {
            Self::Usage | Self::Cost => shared::auth::Role::Billing,
            _ => shared::auth::Role::Viewer,
        }
    }

    /// The navigation label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Overview => "Overview",
            Self::Analytics => "Analytics",
            Self::Errors => "Errors",
            Self::Models => "Models",
            Self::Usage => "Usage",
            Self::Cost => "Cost",
            Self::Alerts => "Alerts",
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
