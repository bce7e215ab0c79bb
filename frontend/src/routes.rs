//! The dashboard's pages and their paths; no other module writes a page path by hand.

/// A routed page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// `/`: live overview.
    Overview,
}

impl Page {
    /// The page's path.
    pub fn path(self) -> &'static str {
        match self {
            Self::Overview => "/",
        }
    }
}
