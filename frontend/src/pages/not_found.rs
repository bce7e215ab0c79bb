//! The page for unknown paths.

use crate::routes::Page;
use leptos::prelude::*;

/// Shown for any path no route matches.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <section class="panel">
            <h1>"Page not found"</h1>
            <p>
                "There is no page here. " <a href=Page::Overview.path()>"Back to the overview"</a>
            </p>
        </section>
    }
}
