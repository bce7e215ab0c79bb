//! falscope's dashboard: a Leptos CSR app over the backend's `/api`.
//! Data flows `api` → page → component → chart; only `api` touches the network.

pub mod api;
pub mod charts;
pub mod components;
pub mod format;
pub mod pages;
pub mod routes;
pub mod state;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;

/// The whole app: the router around the shell.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Shell />
        </Router>
    }
}

/// Top bar, demo banner and the routed pages. Contexts are provided here, inside the router,
/// so every routed page (rendered by the router's own owner) sees them.
#[component]
fn Shell() -> impl IntoView {
    let config = state::provide_config();
    let demo = move || config.0.get().and_then(|c| c.ok()).is_some_and(|c| c.demo);
    view! {
        <header class="topbar">
            <span class="brand">"falscope"</span>
            <nav>
                <A href=routes::Page::Overview.path()>"Overview"</A>
            </nav>
        </header>
        <Show when=demo>
            <div class="demo-banner" role="status">
                "Demo mode: the data comes from falscope's built-in fal simulator. Set FAL_KEY to see your own apps."
            </div>
        </Show>
        <main>
            <Routes fallback=|| view! { <pages::NotFoundPage /> }>
                <Route path=path!("/") view=pages::OverviewPage />
            </Routes>
        </main>
    }
}
