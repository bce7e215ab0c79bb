//! Routed pages: each owns its data (resources) and lays out components.

mod alerts;
mod analytics;
mod cost;
mod errors;
mod files;
mod logs;
mod not_found;
mod overview;
mod request_detail;
mod requests;
mod usage;

pub use alerts::AlertsPage;
pub use analytics::AnalyticsPage;
pub use cost::CostPage;
pub use errors::ErrorsPage;
pub use files::FilesPage;
pub use logs::LogsPage;
pub use not_found::NotFoundPage;
pub use overview::OverviewPage;
pub use request_detail::RequestDetailPage;
pub use requests::{short_id, RequestsPage};
pub use usage::UsagePage;

use crate::api;
use crate::components::{loaded, EndpointPicker};
use crate::state::{self, use_config, use_view};
use leptos::prelude::*;

/// The endpoint picker fed with the workspace's apps (shared by analytics and requests).
#[component]
fn EndpointChooser() -> impl IntoView {
    let config = use_config();
    let view = use_view();
    let apps = LocalResource::new(move || {
        let param = view.get("ws");
        async move { api::get_apps(&state::workspace(config, param).await?).await }
    });
    loaded(apps, |a| view! { <EndpointPicker apps=a.data /> })
}
