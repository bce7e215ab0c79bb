//! Routed pages: each owns its data (resources) and lays out components.

mod not_found;
mod overview;

pub use not_found::NotFoundPage;
pub use overview::OverviewPage;
