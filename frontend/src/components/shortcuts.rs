//! Keyboard shortcuts: `?` help, `/` focus search, `t` then ←/→ shift the time range by its
//! span, `Esc` closes dialogs. Keys typed into form fields are left alone (except `Esc`).

use crate::state::{use_set_query, use_view};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// The `from`/`to` pair after shifting `[from, to)` by one span (`dir` = -1 or 1); `None`
/// when either end does not parse. A shift that would pass `now` snaps back to "ending now".
pub fn shifted(
    from: &str,
    to: &str,
    dir: i32,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<(String, String)> {
    let (a, b) = (
        shared::time::parse(from, now).ok()?,
        shared::time::parse(to, now).ok()?,
    );
    let span = b - a;
    let (na, nb) = (a + span * dir, b + span * dir);
    if nb >= now {
        return Some((
            format!("now-{}m", span.num_minutes().max(1)),
            "now".to_owned(),
        ));
    }
    let iso =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Some((iso(na), iso(nb)))
}

/// Installs the shortcuts and renders the help dialog.
#[component]
pub fn Shortcuts(
    /// Whether the help dialog is open (the top bar's `?` button toggles it too).
    help: RwSignal<bool>,
) -> impl IntoView {
    let set_help = help.write_only();
    let view = use_view();
    let set = use_set_query();
    let pending_t = StoredValue::new(false);
    let handle = window_event_listener(leptos::ev::keydown, move |ev: web_sys::KeyboardEvent| {
        let key = ev.key();
        if key == "Escape" {
            set_help.set(false);
            pending_t.set_value(false);
            return;
        }
        let typing = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA"));
        if typing || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        let after_t = pending_t.get_value();
        pending_t.set_value(false);
        match key.as_str() {
            "?" => set_help.update(|h| *h = !*h),
            "/" => {
                let search = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.query_selector("input[type=search]").ok().flatten())
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
                if let Some(input) = search {
                    ev.prevent_default();
                    let _ = input.focus();
                }
            }
            "t" => pending_t.set_value(true),
            "ArrowLeft" | "ArrowRight" if after_t => {
                let dir = if key == "ArrowLeft" { -1 } else { 1 };
                let default_from = "now-24h";
                if let Some((f, t)) = shifted(
                    &view.from(default_from),
                    &view.to(),
                    dir,
                    crate::clock::now(),
                ) {
                    set(&[
                        ("from", Some(f)),
                        ("to", (t != "now").then_some(t)),
                        ("cursor", None),
                    ]);
                }
            }
            _ => {}
        }
    });
    on_cleanup(move || handle.remove());
    view! {
        <Show when=move || help.get()>
            <div class="dialog-backdrop" on:click=move |_| set_help.set(false)>
                <div class="dialog" role="dialog" aria-modal="true" aria-label="Keyboard shortcuts" on:click=|ev| ev.stop_propagation()>
                    <h2>"Keyboard shortcuts"</h2>
                    <dl class="facts">
                        <dt><kbd>"?"</kbd></dt><dd>"this help"</dd>
                        <dt><kbd>"/"</kbd></dt><dd>"focus the page's search box"</dd>
                        <dt><kbd>"t"</kbd> " " <kbd>"←"</kbd> " / " <kbd>"→"</kbd></dt><dd>"shift the time range back / forward by its length"</dd>
                        <dt><kbd>"Esc"</kbd></dt><dd>"close dialogs"</dd>
                    </dl>
                    <button on:click=move |_| set_help.set(false)>"Close"</button>
                </div>
            </div>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::shifted;

    #[test]
    fn shifts_by_the_span_and_snaps_to_now() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
            .unwrap()
            .to_utc();
        let (f, t) = shifted("now-6h", "now", -1, now).unwrap();
        assert_eq!(
            (f.as_str(), t.as_str()),
            ("2026-11-23T00:00:00Z", "2026-11-23T06:00:00Z")
        );
        let (f, t) = shifted(&f, &t, 1, now).unwrap();
        assert_eq!(
            (f.as_str(), t.as_str()),
            ("now-360m", "now"),
            "forward into the present ends at now"
        );
        assert!(shifted("garbage", "now", 1, now).is_none());
    }
}
