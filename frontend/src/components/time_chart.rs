//! A time chart with a hover read-out (time and each series' value under the pointer) and an
//! interactive legend below it: click a series to hide or show it, double-click to isolate it
//! (double-click again to show all).

use crate::charts::palette::Style;
use crate::charts::time::TimeChart;
use crate::charts::{self, Chart};
use leptos::prelude::*;
use std::collections::BTreeSet;

/// The chart and its legend.
#[component]
pub fn TimeChartPanel(
    /// DOM id of the canvas.
    id: &'static str,
    /// Accessible description.
    label: &'static str,
    /// The data (colours are fixed per series here, so hiding one repaints nothing else).
    chart: TimeChart,
    /// CSS height of the canvas.
    #[prop(default = 260)]
    height: u32,
    /// Drag across the chart to zoom: called with the selected `(from, to)` in Unix ms.
    #[prop(optional, into)]
    on_zoom: Option<Callback<(i64, i64)>>,
    /// Click a bucket to open what is behind it: called with the bucket's start, Unix ms.
    #[prop(optional, into)]
    on_pick: Option<Callback<i64>>,
) -> impl IntoView {
    let mut chart = chart.with_fixed_colors();
    chart.legend = false;
    let names: Vec<(String, String)> = chart
        .series
        .iter()
        .map(|s| {
            let c = s.color.unwrap_or_else(|| Style::series(0));
            (s.name.clone(), format!("rgb({}, {}, {})", c.0, c.1, c.2))
        })
        .collect();
    let hidden = RwSignal::new(BTreeSet::<String>::new());
    let full = StoredValue::new(chart);
    let shown = Signal::derive(move || {
        let mut c = full.get_value();
        hidden.with(|h| c.series.retain(|s| !h.contains(&s.name)));
        c
    });
    let all: Vec<String> = names.iter().map(|(n, _)| n.clone()).collect();
    let entries = names
        .into_iter()
        .map(|(name, color)| {
            let (toggle_name, isolate_name, state_name) = (name.clone(), name.clone(), name.clone());
            let all = all.clone();
            view! {
                <button
                    class="legend-entry"
                    class:off={
                        let state_name = state_name.clone();
                        move || hidden.with(|h| h.contains(&state_name))
                    }
                    aria-pressed=move || (!hidden.with(|h| h.contains(&state_name))).to_string()
                    title="Click: hide or show · double-click: show only this"
                    on:click=move |_| hidden.update(|h| {
                        if !h.remove(&toggle_name) {
                            h.insert(toggle_name.clone());
                        }
                    })
                    on:dblclick=move |_| hidden.update(|h| {
                        let isolated = h.len() + 1 == all.len() && !h.contains(&isolate_name);
                        *h = if isolated { BTreeSet::new() } else { all.iter().filter(|n| **n != isolate_name).cloned().collect() };
                    })
                >
                    <span class="swatch" style=format!("background: {color}")></span>
                    {name}
                </button>
            }
        })
        .collect_view();
    // The hovered bucket, the pointer's x and the chart's width, in CSS pixels.
    let (hover, set_hover) = signal(None::<(i64, f64, f64)>);
    // Where a drag started (x), while the button is down.
    let (drag, set_drag) = signal(None::<f64>);
    // Positions are taken against the canvas itself: the plot's geometry is the canvas's.
    let pointer = move |ev: &leptos::ev::MouseEvent| -> Option<(f64, f64)> {
        let el = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
            .and_then(|c| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(c).ok())?;
        let x = f64::from(ev.client_x()) - el.get_bounding_client_rect().left();
        Some((x, f64::from(el.client_width())))
    };
    let on_move = move |ev: leptos::ev::MouseEvent| {
        let Some((x, w)) = pointer(&ev) else { return };
        let t = shown.with_untracked(|c| charts::time::time_at(c, x, w));
        set_hover.set(t.map(|t| (t, x, w)));
    };
    let on_down = move |ev: leptos::ev::MouseEvent| {
        if on_zoom.is_some() && ev.button() == 0 {
            set_drag.set(pointer(&ev).map(|(x, _)| x));
        }
    };
    let on_up = move |ev: leptos::ev::MouseEvent| {
        let (Some(start), Some((x, w)), Some(zoom)) = (drag.get_untracked(), pointer(&ev), on_zoom)
        else {
            set_drag.set(None);
            return;
        };
        set_drag.set(None);
        // A click is not a zoom: ask for a few pixels of movement.
        if (x - start).abs() < 6.0 {
            return;
        }
        let range = shown.with_untracked(|c| {
            (
                charts::time::instant_at(c, start.min(x), w),
                charts::time::instant_at(c, start.max(x), w),
            )
        });
        if let (Some(a), Some(b)) = range {
            if b > a {
                zoom.run((a, b));
            }
        }
    };
    let selection = move || {
        let (start, (_, x, _)) = (drag.get()?, hover.get()?);
        Some(
            view! { <div class="selection" style=format!("left: {}px; width: {}px", start.min(x), (x - start).abs())></div> },
        )
    };
    let readout = move || {
        let (t, x, w) = hover.get()?;
        // Beside the pointer, on whichever side has room.
        let place = if x > w * 0.6 {
            format!("right: {}px", w - x + 12.0)
        } else {
            format!("left: {}px", x + 12.0)
        };
        let (unit, values) = shown.with(|c| (c.unit.clone(), charts::time::values_at(c, t)));
        let when = chrono::DateTime::from_timestamp_millis(t)
            .map(|t| {
                format!(
                    "{} {}",
                    crate::zone::local(t).format("%Y-%m-%d %H:%M"),
                    crate::format::zone_name()
                )
            })
            .unwrap_or_default();
        let rows = values
            .into_iter()
            .map(|(name, v)| view! { <div><span class="name">{name}</span> <strong>{unit.label(v)}</strong></div> })
            .collect_view();
        Some(view! {
            <div class="readout" role="status" style=place>
                <div class="when">{when}</div>
                {rows}
            </div>
        })
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let (Some(pick), Some((x, w))) = (on_pick, pointer(&ev)) else {
            return;
        };
        if let Some(t) = shown.with_untracked(|c| charts::time::time_at(c, x, w)) {
            pick.run(t);
        }
    };
    view! {
        <div
            class="chart-wrap"
            class:zoomable=on_zoom.is_some()
            class:pickable=on_pick.is_some()
            on:click=on_click
            on:mousemove=on_move
            on:mousedown=on_down
            on:mouseup=on_up
            on:mouseleave=move |_| {
                set_hover.set(None);
                set_drag.set(None);
            }
        >
            <Chart id=id label=label data=shown draw=charts::time::draw height=height summary=Signal::derive(move || shown.with(charts::time::summary)) />
            {selection}
            {readout}
        </div>
        <div class="legend" role="group" aria-label="Series">{entries}</div>
    }
}
