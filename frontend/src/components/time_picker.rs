//! The time picker: presets, relative or absolute from/to, zoom out, and auto-refresh. Every
//! choice is written to the URL.

use crate::state::{use_set_query, use_view, PRESETS, REFRESH};
use leptos::prelude::*;

/// Range and refresh controls.
#[component]
pub fn TimePicker(
    /// The page's default `from` (e.g. `now-24h`).
    default_from: &'static str,
) -> impl IntoView {
    let view = use_view();
    let set = use_set_query();
    let (from_text, set_from_text) = signal(String::new());
    let (to_text, set_to_text) = signal(String::new());
    let (problem, set_problem) = signal(None::<String>);
    Effect::new(move |_| {
        set_from_text.set(view.from(default_from));
        set_to_text.set(view.to());
    });
    let apply = {
        let set = set.clone();
        move || {
            let now = chrono::Utc::now();
            let (f, t) = (from_text.get_untracked(), to_text.get_untracked());
            match (shared::time::parse(&f, now), shared::time::parse(&t, now)) {
                (Ok(a), Ok(b)) if a < b => {
                    set_problem.set(None);
                    set(&[("from", Some(f)), ("to", Some(t)), ("cursor", None)]);
                }
                (Ok(_), Ok(_)) => set_problem.set(Some("`from` must be before `to`".into())),
                (Err(e), _) | (_, Err(e)) => set_problem.set(Some(e.0)),
            }
        }
    };
    let zoom_out = {
        let set = set.clone();
        move |_| {
            let now = chrono::Utc::now();
            let (Ok(a), Ok(b)) = (
                shared::time::parse(&view.from(default_from), now),
                shared::time::parse(&view.to(), now),
            ) else {
                return;
            };
            let span = b - a;
            let to = if view.to() == "now" {
                "now".to_owned()
            } else {
                (b + span / 2).to_rfc3339()
            };
            set(&[
                ("from", Some((a - span / 2).to_rfc3339())),
                ("to", Some(to)),
                ("cursor", None),
            ]);
        }
    };
    let presets = PRESETS.map(|(label, from)| {
        let set = set.clone();
        let active = move || view.from(default_from) == from && view.to() == "now";
        view! {
            <button
                class="preset"
                class:active=active
                on:click=move |_| set(&[("from", Some(from.to_owned())), ("to", None), ("cursor", None)])
            >
                {label}
            </button>
        }
    });
    let refresh_set = set.clone();
    let apply_click = apply.clone();
    view! {
        <div class="time-picker" role="group" aria-label="Time range">
            <div class="presets">{presets.into_iter().collect_view()}</div>
            <form class="range" on:submit=move |ev| {
                ev.prevent_default();
                apply();
            }>
                <label>"From" <input id="range-from" prop:value=from_text on:input=move |ev| set_from_text.set(event_target_value(&ev)) /></label>
                <label>"To" <input id="range-to" prop:value=to_text on:input=move |ev| set_to_text.set(event_target_value(&ev)) /></label>
                <button type="submit" on:click=move |ev| { ev.prevent_default(); apply_click(); }>"Apply"</button>
                <button type="button" title="Zoom out (twice the span)" on:click=zoom_out>"−"</button>
            </form>
            <label class="refresh">
                "Refresh"
                <select on:change=move |ev| {
                    let v = event_target_value(&ev);
                    refresh_set(&[("refresh", (v != "0").then_some(v))]);
                }>
                    {REFRESH
                        .map(|(secs, label)| {
                            view! {
                                <option value=secs.to_string() selected=move || view.refresh() == secs>
                                    {label}
                                </option>
                            }
                        })
                        .into_iter()
                        .collect_view()}
                </select>
            </label>
            <Show when=move || problem.get().is_some()>
                <p class="state-error small" role="alert">{move || problem.get().unwrap_or_default()}</p>
            </Show>
        </div>
    }
}
