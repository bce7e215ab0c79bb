//! `/`: live state of every app (runners by state).

use crate::api;
use crate::components::{ErrorPanel, Loading, RunnersPanel};
use leptos::prelude::*;

/// The overview page.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let live = LocalResource::new(api::get_live);
    view! {
        <h1>"Overview"</h1>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match live.await {
                    Ok(snapshot) => view! { <RunnersPanel snapshot=snapshot /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error=error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
