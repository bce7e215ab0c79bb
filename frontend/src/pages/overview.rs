//! `/`: live state of every app (runners by state).

use crate::api;
use crate::components::{ErrorPanel, Loading, RunnersPanel};
use crate::state::use_config;
use leptos::prelude::*;

/// The overview page.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let config = use_config();
    let live = LocalResource::new(move || async move {
        let ws = config.workspace().await?;
        api::get_live(&ws).await
    });
    view! {
        <h1>"Overview"</h1>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match live.await {
                    Ok(live) => view! { <RunnersPanel snapshot=live.data /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error=error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
