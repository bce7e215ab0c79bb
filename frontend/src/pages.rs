//! Routed pages: each owns its data (resources) and lays out components.

mod analytics;
mod files;
mod logs;
mod not_found;
mod overview;
mod request_detail;
mod requests;
mod usage;

pub use analytics::AnalyticsPage;
pub use files::FilesPage;
pub use logs::LogsPage;
pub use not_found::NotFoundPage;
pub use overview::OverviewPage;
pub use request_detail::RequestDetailPage;
pub use requests::{short_id, RequestsPage};
pub use usage::UsagePage;
