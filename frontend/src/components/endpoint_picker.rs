//! Picks 1–50 endpoints (route-level ids) from the workspace's apps; writes `endpoints`.

use crate::state::{use_set_query, use_view};
use leptos::prelude::*;
use shared::apps::AppSummary;

/// Checkbox list of every endpoint, grouped by app.
#[component]
pub fn EndpointPicker(
    /// The workspace's apps.
    apps: Vec<AppSummary>,
) -> impl IntoView {
    let view = use_view();
    let set = use_set_query();
    let selected = move || -> Vec<String> {
        view.get("endpoints")
            .map(|v| v.split(',').map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let groups = apps
        .into_iter()
        .map(|app| {
            let boxes = app
                .endpoints
                .into_iter()
                .map(|e| {
                    let set = set.clone();
                    let id = e.clone();
                    let checked = {
                        let id = id.clone();
                        move || selected().contains(&id)
                    };
                    let toggle = move |_| {
                        let mut now = selected();
                        if let Some(i) = now.iter().position(|x| *x == id) {
                            now.remove(i);
                        } else if now.len() < 50 {
                            now.push(id.clone());
                        }
                        set(&[
                            ("endpoints", (!now.is_empty()).then(|| now.join(","))),
                            ("cursor", None),
                        ]);
                    };
                    view! {
                        <label class="endpoint">
                            <input type="checkbox" prop:checked=checked on:change=toggle />
                            {e}
                        </label>
                    }
                })
                .collect_view();
            view! { <div class="endpoint-group">{boxes}</div> }
        })
        .collect_view();
    view! {
        <details class="endpoint-picker">
            <summary>
                {move || match selected().len() {
                    0 => "Endpoints: the page's default — open to pick".to_owned(),
                    n => format!("Endpoints ({n} selected)"),
                }}
            </summary>
            <div class="endpoint-list">{groups}</div>
        </details>
    }
}
