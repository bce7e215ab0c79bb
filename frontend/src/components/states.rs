//! Loading and error states shared by every panel.

use crate::api::ClientError;
use leptos::prelude::*;

/// Placeholder while data loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <div class="state-loading" role="status">"Loading…"</div> }
}

/// A failed load, explained without raw dumps.
#[component]
pub fn ErrorPanel(
    /// What went wrong.
    error: ClientError,
) -> impl IntoView {
    view! {
        <div class="panel state-error" role="alert">
            {error.to_string()}
        </div>
    }
}
