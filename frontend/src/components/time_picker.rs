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
            let (f, t) = (
                in_page_zone(&from_text.get_untracked()),
                in_page_zone(&to_text.get_untracked()),
            );
            // The server's own rules: parseable, in order, not too long, not in the future.
            match checked(&f, &t, crate::clock::now()) {
                Ok(()) => {
                    set_problem.set(None);
                    set(&[("from", Some(f)), ("to", Some(t)), ("cursor", None)]);
                }
                Err(e) => set_problem.set(Some(e)),
            }
        }
    };
    // A range carried in from a link that the server would refuse: say so, with a way back.
    let url_problem =
        move || checked(&view.from(default_from), &view.to(), crate::clock::now()).err();
    let reset = {
        let set = set.clone();
        move |_| {
            set_problem.set(None);
            set(&[("from", None), ("to", None), ("cursor", None)]);
        }
    };
    let zoom_out = {
        let set = set.clone();
        move |_| {
            let Some((from, to)) =
                zoomed_out(&view.from(default_from), &view.to(), crate::clock::now())
            else {
                return;
            };
            set(&[("from", Some(from)), ("to", to), ("cursor", None)]);
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
                <button type="button" id="range-zoom-out" title="Zoom out (twice the span, same centre)" aria-label="Zoom out" on:click=zoom_out>"−"</button>
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
            <Show when=move || problem.get().or_else(url_problem).is_some()>
                <p class="state-error small" role="alert">
                    {move || problem.get().or_else(url_problem).unwrap_or_default()}
                    " "
                    <button type="button" id="range-reset" class="small-button" on:click=reset.clone()>"Reset range"</button>
                </p>
            </Show>
        </div>
    }
}

/// `text` as written, except a date and time without an offset (`2026-11-30 10:00`), which
/// is read in the page's zone and written with its offset.
fn in_page_zone(text: &str) -> String {
    let text = text.trim();
    match shared::time::naive(text) {
        Some(t) if !text.starts_with("now") => {
            // The zone's offset near that time (exact except within an hour of a DST change).
            let offset = *crate::zone::local(t.and_utc()).offset();
            match t.and_local_timezone(offset).single() {
                Some(t) => t.to_rfc3339(),
                None => text.to_owned(),
            }
        }
        _ => text.to_owned(),
    }
}

/// Whether the server would take `from`..`to` (the shared rules it applies), or why not.
fn checked(from: &str, to: &str, now: chrono::DateTime<chrono::Utc>) -> Result<(), String> {
    use shared::query::{resolve_range, TimeExpr};
    let parse = |s: &str, name: &str| TimeExpr::parse(s).map_err(|e| format!("{name}: {}", e.0));
    let (from, to) = (parse(from, "From")?, parse(to, "To")?);
    resolve_range(Some(&from), Some(&to), now, chrono::Duration::hours(1))
        .map(drop)
        .map_err(|e| {
            format!(
                "{}: {}",
                if e.param == "to" { "To" } else { "From" },
                e.message
            )
        })
}

/// Twice the span around the same centre; a range that would end after now ends now (and
/// stays relative: `now-1h` zoomed out is `now-2h`). `None`: the range does not parse.
fn zoomed_out(
    from: &str,
    to: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<(String, Option<String>)> {
    let (a, b) = (
        shared::time::parse(from, now).ok()?,
        shared::time::parse(to, now).ok()?,
    );
    let span = (b - a).max(chrono::Duration::seconds(1));
    let (a2, b2) = (a - span / 2, b + span / 2);
    if to.trim() == "now" || b2 > now {
        return Some((format!("now-{}", shared::time::span(span * 2)), None));
    }
    Some((a2.to_rfc3339(), Some(b2.to_rfc3339())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn zoom_out_doubles_the_span_around_its_centre() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        assert_eq!(
            zoomed_out("now-1h", "now", now),
            Some(("now-2h".into(), None))
        );
        assert_eq!(
            zoomed_out("now-90m", "now", now),
            Some(("now-3h".into(), None))
        );
        let (from, to) = zoomed_out("2026-12-01T08:00:00Z", "2026-12-01T10:00:00Z", now).unwrap();
        assert_eq!(from, "2026-12-01T07:00:00+00:00");
        assert_eq!(to.as_deref(), Some("2026-12-01T11:00:00+00:00"));
        // Past now it ends now.
        assert_eq!(
            zoomed_out("2026-12-01T10:00:00Z", "2026-12-01T11:30:00Z", now),
            Some(("now-3h".into(), None))
        );
    }

    #[test]
    fn the_form_applies_the_servers_rules() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
        assert!(checked("now-1h", "now", now).is_ok());
        assert!(checked("now-1h", "now+1h", now)
            .unwrap_err()
            .contains("future"));
        assert!(checked("now", "now-1h", now)
            .unwrap_err()
            .contains("before"));
        assert!(checked("now-500d", "now", now)
            .unwrap_err()
            .contains("400 days"));
        assert!(checked("2026-11-30 10:00", "now", now).is_ok());
        assert_eq!(
            in_page_zone("2026-11-30 10:00"),
            "2026-11-30T10:00:00+00:00"
        );
        assert_eq!(in_page_zone("now-6h"), "now-6h");
    }
}
