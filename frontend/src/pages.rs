//! Routed pages: each owns its data (resources) and lays out components.

mod alerts;
mod analytics;
mod cost;
mod errors;
mod files;
mod flush;
mod logs;
mod models;
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
pub use flush::{FlushAsk, FlushDialog, FlushTarget};
pub use logs::LogsPage;
pub use models::ModelsPage;
pub use not_found::NotFoundPage;
pub use overview::OverviewPage;
pub use request_detail::RequestDetailPage;
pub use requests::{short_id, RequestsPage};
pub use usage::UsagePage;

use crate::api::{self, ClientError};
use crate::components::{loaded, EndpointPicker};
use crate::state::{self, use_config, use_view};
use leptos::prelude::*;
use shared::query::List;

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

/// The endpoints a page shows, and what to say about them.
struct ShownEndpoints {
    list: List<50>,
    /// Set when none was picked: which endpoints are shown instead.
    note: Option<String>,
    /// The list is ranked by recent traffic, so it may change between two reads: a page that
    /// pages through it keeps it in the URL.
    ranked: bool,
}

/// The workspace of the URL and the endpoints a page shows: the URL's pick as it is, or, with
/// none picked, the workspace's default (every endpoint, or the 50 busiest) and a sentence
/// saying which; `None` when the workspace has no endpoints. Analytics, Errors and Requests
/// open on data, not on an empty picker.
async fn shown_endpoints(
    config: state::ConfigContext,
    param: Option<String>,
    picked: List<50>,
) -> Result<Option<(String, ShownEndpoints)>, ClientError> {
    let ws = state::workspace(config, param).await?;
    let shown = if picked.is_empty() {
        let default = api::get_default_endpoints(&ws).await?.data;
        ShownEndpoints {
            note: Some(default.describe()),
            list: List::of(&default.endpoints),
            ranked: default.busiest,
        }
    } else {
        ShownEndpoints {
            list: picked,
            note: None,
            ranked: false,
        }
    };
    Ok((!shown.list.is_empty()).then_some((ws, shown)))
}
